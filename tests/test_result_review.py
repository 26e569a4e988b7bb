"""Officers see a result before members do, and nothing irreversible happens on one unseen click.

Closing counts the result; only the campaign's officers see it until they publish it. 开始评议,
截止评议, 公布结果 and 归档 each lead to a page (no script needed) that says what will happen, with
the figures that matter, and whose button does it at the same URL as before.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import CampaignState
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.notifications.models import Notification
from evalapp.voting.operations import receipt_status
from tests.factories import make_campaign, vote

FULL_TURNOUT = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]


def text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def test_closing_counts_the_result_and_members_learn_nothing_until_the_officer_publishes(world, login):
    campaign = make_campaign(world, "open")
    receipts = [vote(campaign, voter, positions) for voter, positions in zip(world.members, FULL_TURNOUT)]
    db.session.commit()
    officer = login("county_officer")
    officer.post(f"/campaigns/{campaign.id}/actions/close")
    db.session.expire_all()
    assert campaign.state == CampaignState.closed and campaign.result.turnout == 5

    member = login("m1")
    assert member.get(f"/campaigns/{campaign.id}/result").status_code == 404
    assert "评议结果" not in text(member.get(f"/campaigns/{campaign.id}"))
    assert receipt_status(receipts[0])[0] == "received"                 # not "counted in the published result"
    told = db.session.scalars(select(Notification.text).where(Notification.account_id == world.members[0].id)).all()
    assert told and not any("结果" in notice for notice in told)          # told that voting opened, nothing since

    page = text(officer.get(f"/campaigns/{campaign.id}"))
    assert "结果已统计，尚未公布，会员看不到" in page and "查看评议结果（预览）" in page
    preview = text(officer.get(f"/campaigns/{campaign.id}/result"))
    assert "这是预览" in preview and "综合得分" in preview and "各题满意率" in preview
    assert "下载 PDF 报告" not in preview                                   # a PDF is for a published result

    response = officer.post(f"/campaigns/{campaign.id}/actions/publish", follow_redirects=True)
    assert "结果已公布，已通知 5 位参评会员。" in text(response)
    db.session.expire_all()
    assert campaign.state == CampaignState.published
    assert member.get(f"/campaigns/{campaign.id}/result").status_code == 200
    assert receipt_status(receipts[0])[0] == "counted"
    frozen = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "result.frozen")).all()
    assert len(frozen) == 1, "publishing shows the result counted at closing, it counts nothing again"


def test_a_large_result_is_not_published_before_it_is_counted(world, login, monkeypatch):
    from evalapp.results import publication

    monkeypatch.setattr(publication, "COUNT_IN_BACKGROUND_FROM", 3)
    campaign = make_campaign(world, "closed", votes=FULL_TURNOUT)          # too large to count while closing
    response = login("county_officer").post(f"/campaigns/{campaign.id}/actions/publish", follow_redirects=True)
    assert "请先统计结果，查看后再公布。" in text(response)
    db.session.expire_all()
    assert campaign.state == CampaignState.closed and campaign.result is None


def test_a_scheduled_closing_counts_the_result_for_the_officers_too(world):
    campaign = make_campaign(world, "open", votes=FULL_TURNOUT)
    campaign.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert campaign_ops.run_schedule() == {"opened": 0, "closed": 1}
    db.session.expire_all()
    assert campaign.state == CampaignState.closed and campaign.result is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "result.frozen")).one()
    assert entry.actor_id is None                                       # the clock closed it


def test_closing_short_of_the_quorum_is_warned_of_before_it_happens(world, login):
    campaign = make_campaign(world, "open", votes=FULL_TURNOUT[:3])        # 3 of 5: quorum is 4
    page = text(login("county_officer").get(f"/campaigns/{campaign.id}/actions/close"))
    assert "按现在的人数，结果将无效：还差 1 人。" in page
    campaign = make_campaign(world, "open", votes=FULL_TURNOUT[:4])
    assert "结果将无效" not in text(login("county_officer").get(f"/campaigns/{campaign.id}/actions/close"))


def test_a_void_result_is_previewed_as_void_before_the_officer_publishes_it(world, login):
    campaign = make_campaign(world, "closed", votes=FULL_TURNOUT[:3])      # 3 of 5: quorum is 4
    page = text(login("county_officer").get(f"/campaigns/{campaign.id}/actions/publish"))
    assert "参评 3 人，应参评 5 人" in page and "未达到法定人数，结果无效" in page


@pytest.mark.parametrize("action, says", [
    ("open", ["测评表将冻结", "述职报告将锁定", "参评名单按现在的会员名册确定：5 人", "至少 4 人参评（2/3），结果才有效",
              "参评会员将收到通知"]),
    ("close", ["会员将不能再投票", "目前已参评 4 人，应参评 5 人（80.0%）", "应参评人数的 2/3（4 人）",
               "结果先只给管理本活动的干部看"]),
    ("publish", ["参评 5 人，应参评 5 人", "综合得分", "等次", "公布后不能撤回，也不能重新统计"]),
    ("archive", ["活动归档后不能再修改"]),
])
def test_an_irreversible_action_first_says_what_will_happen_then_the_same_url_does_it(world, login, action, says):
    before = {"open": ("reporting", []), "close": ("open", FULL_TURNOUT[:4]), "publish": ("closed", FULL_TURNOUT),
              "archive": ("published", FULL_TURNOUT)}[action]
    campaign = make_campaign(world, before[0], votes=before[1])
    officer = login("county_officer")
    url = f"/campaigns/{campaign.id}/actions/{action}"
    assert f'href="{url}"' in officer.get(f"/campaigns/{campaign.id}").get_data(as_text=True)   # a link, not a form
    page = officer.get(url)
    assert page.status_code == 200
    for words in says:
        assert words in text(page), words
    html = page.get_data(as_text=True)
    assert f'<form method="post" action="{url}"' in html and "onclick" not in html   # a plain form, no script
    db.session.expire_all()
    assert campaign.state.value == before[0], "looking at the page changes nothing"
    assert officer.post(url).status_code == 302
    db.session.expire_all()
    assert campaign.state.value == {"open": "open", "close": "closed", "publish": "published", "archive": "archived"}[action]


def test_a_confirmation_page_for_an_action_that_no_longer_fits_sends_the_officer_back(world, login):
    campaign = make_campaign(world, "closed", votes=FULL_TURNOUT)
    officer = login("county_officer")
    response = officer.get(f"/campaigns/{campaign.id}/actions/open", follow_redirects=True)
    assert "现在不能开始评议：活动已经是“已截止”状态。" in text(response)
    assert officer.get(f"/campaigns/{campaign.id}/actions/start_reporting").status_code == 404
    for who in ("m1", "chair", "other_officer"):
        assert login(who).get(f"/campaigns/{campaign.id}/actions/publish").status_code == 404


def test_the_message_after_an_action_says_what_happened(world, login):
    campaign = make_campaign(world, "reporting")
    officer = login("county_officer")
    opened = text(officer.post(f"/campaigns/{campaign.id}/actions/open", follow_redirects=True))
    assert "评议已开始，共 5 人参评，已通知他们。" in opened and "已完成" not in opened
    for voter, positions in zip(world.members[:4], FULL_TURNOUT):
        vote(campaign, voter, positions)
    db.session.commit()
    closed = text(officer.post(f"/campaigns/{campaign.id}/actions/close", follow_redirects=True))
    assert "评议已截止，共 4 人参评。结果已统计，目前只有管理本活动的干部能看到" in closed


def test_the_pages_show_when_voting_actually_opened_and_closed(world, login):
    campaign = make_campaign(world, "reporting")
    planned_open, planned_close = utcnow() + timedelta(days=1), utcnow() + timedelta(days=8)
    campaign.opens_at, campaign.closes_at = planned_open, planned_close
    db.session.commit()
    officer = login("county_officer")
    assert "计划" in text(officer.get(f"/campaigns/{campaign.id}"))
    officer.post(f"/campaigns/{campaign.id}/actions/open")                 # by hand, a day early
    officer.post(f"/campaigns/{campaign.id}/actions/close")                # and closed at once
    db.session.expire_all()
    from evalapp.core.timeutil import to_local

    def local(moment):
        return to_local(moment).strftime("%Y-%m-%d %H:%M")

    for path in (f"/campaigns/{campaign.id}", f"/campaigns/{campaign.id}/turnout"):
        page = text(officer.get(path))
        assert f"{local(campaign.opened_at)} 开始，{local(campaign.closed_at)} 截止" in page, path
        assert f"原定时间{local(planned_open)} 至 {local(planned_close)}" in page, path
    assert f"投票已于 {local(campaign.closed_at)} 截止" in text(officer.get(f"/campaigns/{campaign.id}/poster"))


def test_a_batch_ranks_only_published_results(world, login):
    from evalapp.results.ranking import batch_ranking

    closed = make_campaign(world, "closed", votes=FULL_TURNOUT)
    published = make_campaign(world, "published", votes=FULL_TURNOUT)
    ranking, _difference, left_out = batch_ranking([closed, published])
    assert [row.campaign for row in ranking] == [published] and left_out == []


# Other actions that cannot be undone ----------------------------------------------------------------

def test_revoking_a_chair_first_says_who_loses_what_then_the_same_url_revokes(world, login):
    from evalapp.accounts.models import Role, RoleGrant

    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.account_id == world.chair.id,
                                                       RoleGrant.role == Role.chair)).one()
    officer, grant_id = login("county_officer"), grant.id
    url = f"/unions/{world.union_a.id}/roles/{grant_id}/revoke"
    assert f'href="{url}"' in officer.get(f"/unions/{world.union_a.id}").get_data(as_text=True)
    page = text(officer.get(url))
    assert "主席甲（chair）将不再是甲公司工会的工会主席" in page and "不能发起主席述职评议" in page
    assert db.session.get(RoleGrant, grant_id) is not None, "looking at the page changes nothing"
    done = text(officer.post(url, follow_redirects=True))
    assert "已撤销主席甲的工会主席职务。" in done
    db.session.expire_all()
    assert db.session.get(RoleGrant, grant_id) is None
    assert login("m1").get(url).status_code == 404


def test_publishing_a_rectification_outcome_first_says_members_will_see_it(world, login):
    from evalapp.rectification.models import RectificationState
    from tests.factories import drive_rectification, published_rectification

    item = drive_rectification(world, published_rectification(world), "reviewed")
    chair = login("chair")
    url = f"/rectifications/{item.id}/publish"
    assert f'href="{url}"' in chair.get(f"/rectifications/{item.id}").get_data(as_text=True)
    page = text(chair.get(url))
    assert "将向本次评议的全体参评会员公开" in page and "公开后不能撤回" in page
    db.session.expire_all()
    assert item.state == RectificationState.reviewed
    assert chair.post(url).status_code == 302
    db.session.expire_all()
    assert item.state == RectificationState.published
    assert chair.get(url).status_code == 404                                # nothing left to publish
