"""Members' suggestions: anonymity towards the chair, the chair's answer, who sees and may write what."""
import json

import pytest
import sqlalchemy as sa

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.suggestions.models import Suggestion
from tests.factories import make_campaign

ANONYMOUS_BODY = "希望食堂增加夜班职工的夜宵供应。"
NAMED_BODY = "技能培训名额太少，希望增加。"
ANSWER = "下月起夜班增加夜宵，费用由工会经费补贴一半。"


def _suggestions():
    return list(db.session.scalars(sa.select(Suggestion).order_by(Suggestion.id)))


def _write(client, campaign, body, named=False):
    data = {"body": body}
    if named:
        data["named"] = "y"
    return client.post(f"/campaigns/{campaign.id}/suggestions", data=data)


def _page(client, campaign):
    response = client.get(f"/campaigns/{campaign.id}/suggestions")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def campaign(world):
    return make_campaign(world, "open")


def test_member_writes_an_anonymous_suggestion_the_chair_cannot_attribute(world, login, campaign):
    member = login("m1")
    response = _write(member, campaign, ANONYMOUS_BODY)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/campaigns/{campaign.id}/suggestions")
    [suggestion] = _suggestions()
    assert suggestion.body == ANONYMOUS_BODY and not suggestion.named

    own_page = _page(member, campaign)
    assert "意见建议已提交" in own_page
    assert ANONYMOUS_BODY in own_page and "我的建议（匿名）" in own_page

    chair_page = _page(login("chair"), campaign)
    assert ANONYMOUS_BODY in chair_page
    assert "匿名会员" in chair_page
    assert "会员1" not in chair_page


def test_anonymous_suggestion_leaves_no_author_in_the_audit_log(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "suggestion.added",
                                                          AuditEntry.object_id == suggestion.id))
    assert entry is not None
    assert entry.actor_id is None
    details = json.loads(entry.details)
    assert not any("member" in key or "author" in key or "account" in key for key in details)
    assert suggestion.member_id not in [v for k, v in details.items() if k != "campaign_id"]


def test_named_suggestion_shows_the_authors_name(world, login, campaign):
    assert _write(login("m2"), campaign, NAMED_BODY, named=True).status_code == 302
    [suggestion] = _suggestions()
    assert suggestion.named
    chair_page = _page(login("chair"), campaign)
    assert NAMED_BODY in chair_page
    assert "会员2" in chair_page
    assert "匿名会员" not in chair_page


def test_officer_sees_every_suggestion_with_the_same_anonymity(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    assert _write(login("m2"), campaign, NAMED_BODY, named=True).status_code == 302
    page = _page(login("county_officer"), campaign)
    assert ANONYMOUS_BODY in page and NAMED_BODY in page
    assert "会员2" in page and "会员1" not in page


def test_chair_answers_and_the_author_sees_the_answer(world, login, campaign):
    author = login("m1")
    assert _write(author, campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    assert "待回应" in _page(author, campaign)

    chair = login("chair")
    response = chair.post(f"/suggestions/{suggestion.id}/response", data={"response": ANSWER})
    assert response.status_code == 302
    assert f"/campaigns/{campaign.id}/suggestions" in response.headers["Location"]
    assert "回应已发布" in _page(chair, campaign)

    db.session.refresh(suggestion)
    assert suggestion.response == ANSWER
    assert suggestion.responded_by_id == world.chair.id
    author_page = _page(author, campaign)
    assert ANSWER in author_page and "主席回应" in author_page
    assert "待回应" not in author_page


def test_empty_response_is_refused(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    chair = login("chair")
    chair.post(f"/suggestions/{suggestion.id}/response", data={"response": "   "})
    assert "请填写回应内容。" in _page(chair, campaign)
    db.session.refresh(suggestion)
    assert suggestion.response is None


def test_member_does_not_see_someone_elses_suggestion(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    assert _write(login("m3"), campaign, NAMED_BODY, named=True).status_code == 302
    page = _page(login("m2"), campaign)
    assert ANONYMOUS_BODY not in page
    assert NAMED_BODY not in page
    assert "还没有意见建议。" in page
    own = _page(login("m1"), campaign)
    assert ANONYMOUS_BODY in own and NAMED_BODY not in own


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_body_is_refused_and_nothing_is_saved(world, login, campaign, body):
    response = _write(login("m1"), campaign, body)
    assert response.status_code == 400
    assert "请填写意见建议。" in response.get_data(as_text=True)
    assert _suggestions() == []


def test_overlong_body_is_refused(world, login, campaign):
    response = _write(login("m1"), campaign, "长" * 2001)
    assert response.status_code == 400
    assert "不能超过 2000 字。" in response.get_data(as_text=True)
    assert _suggestions() == []


def test_outsider_gets_404_on_the_page_and_on_posting(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    outsider = login("outsider")
    page = outsider.get(f"/campaigns/{campaign.id}/suggestions")
    assert page.status_code == 404
    assert ANONYMOUS_BODY not in page.get_data(as_text=True)
    assert _write(outsider, campaign, "外人的建议").status_code == 404
    assert [s.body for s in _suggestions()] == [ANONYMOUS_BODY]


def test_other_officer_gets_404(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    other = login("other_officer")
    assert other.get(f"/campaigns/{campaign.id}/suggestions").status_code == 404
    assert other.post(f"/suggestions/{suggestion.id}/response", data={"response": ANSWER}).status_code == 404
    db.session.refresh(suggestion)
    assert suggestion.response is None


@pytest.mark.parametrize("username", ["m1", "m2", "outsider"])
def test_member_cannot_respond(world, login, campaign, username):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    response = login(username).post(f"/suggestions/{suggestion.id}/response", data={"response": "我自己回应"})
    assert response.status_code == 404
    db.session.refresh(suggestion)
    assert suggestion.response is None


def test_chair_page_offers_a_response_form_but_members_do_not_get_one(world, login, campaign):
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    action = f'action="/suggestions/{suggestion.id}/response"'
    assert action in _page(login("chair"), campaign)
    assert action not in _page(login("m1"), campaign)


def test_chair_is_not_in_the_electorate_and_cannot_write(world, login, campaign):
    response = _write(login("chair"), campaign, "主席自己的建议")
    assert response.status_code in (400, 403)
    assert "只有参评会员可以提出意见建议。" in response.get_data(as_text=True)
    assert _suggestions() == []


def test_suggestions_are_refused_while_reporting(world, login):
    campaign = make_campaign(world, "reporting")
    member = login("m1")
    page = _page(member, campaign)
    assert 'name="body"' not in page  # no form offered yet
    response = _write(member, campaign, ANONYMOUS_BODY)
    assert response.status_code in (400, 409)
    assert "评议开始后才能提出意见建议。" in response.get_data(as_text=True)
    assert _suggestions() == []


def test_suggestions_are_refused_in_draft(world, login):
    campaign = make_campaign(world, "draft")
    response = _write(login("m1"), campaign, ANONYMOUS_BODY)
    assert response.status_code == 404  # members do not see a draft campaign at all
    assert _suggestions() == []


def test_suggestions_are_still_accepted_after_close(world, login):
    campaign = make_campaign(world, "closed")
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    assert [s.body for s in _suggestions()] == [ANONYMOUS_BODY]


def test_suggestions_are_refused_once_archived(world, login):
    campaign = make_campaign(world, "archived")
    response = _write(login("m1"), campaign, ANONYMOUS_BODY)
    assert response.status_code in (400, 409)
    assert _suggestions() == []


# --- Moderation: hiding an abusive suggestion ----------------------------------------------------------

ABUSE = "主席就是个废物。"
REASON = "含人身攻击内容。"


def _hide(client, suggestion, reason=REASON):
    return client.post(f"/suggestions/{suggestion.id}/hide", data={"reason": reason}, follow_redirects=True)


def _audit(action):
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_an_officer_hides_an_abusive_suggestion_which_stays_in_the_record(world, login, campaign):
    from evalapp.core.audit import verify_chain

    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    response = _hide(login("county_officer"), suggestion)
    assert response.status_code == 200 and "已隐藏该意见建议" in response.get_data(as_text=True)

    [stored] = _suggestions()
    assert stored.body == ABUSE and stored.hidden_reason == REASON and stored.hidden_by_id == world.county_officer.id
    [entry] = _audit("suggestion.hidden")
    assert entry.actor_id == world.county_officer.id and entry.object_id == suggestion.id
    assert json.loads(entry.details)["reason"] == REASON
    assert _audit("suggestion.added")[0].object_id == suggestion.id     # the original entry is still there
    assert verify_chain() is None

    chair_page = _page(login("chair"), campaign)
    assert ABUSE not in chair_page and "该条意见建议已被上级工会隐藏。" in chair_page
    assert REASON not in chair_page
    assert f'action="/suggestions/{suggestion.id}/response"' not in chair_page
    author_page = _page(login("m1"), campaign)
    assert ABUSE in author_page and "已隐藏" in author_page and REASON in author_page
    officer_page = _page(login("city_officer"), campaign)
    assert ABUSE in officer_page and REASON in officer_page and "恢复显示" in officer_page


@pytest.mark.parametrize("username", ["chair", "m1", "m2", "other_officer", "outsider"])
def test_only_officers_above_may_hide(world, login, campaign, username):
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    response = login(username).post(f"/suggestions/{suggestion.id}/hide", data={"reason": REASON})
    assert response.status_code == 404
    assert not _suggestions()[0].is_hidden and _audit("suggestion.hidden") == []


def test_hiding_needs_a_reason(world, login, campaign):
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    response = _hide(login("county_officer"), suggestion, reason="  ")
    assert "请填写隐藏理由。" in response.get_data(as_text=True)
    assert not _suggestions()[0].is_hidden


def test_a_hidden_suggestion_cannot_be_answered_and_can_be_shown_again(world, login, campaign):
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    officer = login("county_officer")
    _hide(officer, suggestion)
    response = login("chair").post(f"/suggestions/{suggestion.id}/response", data={"response": ANSWER},
                                   follow_redirects=True)
    assert "该意见建议已被上级工会隐藏，不能回应。" in response.get_data(as_text=True)
    assert _suggestions()[0].response is None

    assert officer.post(f"/suggestions/{suggestion.id}/unhide").status_code == 302
    assert ABUSE in _page(login("chair"), campaign)
    assert [e.actor_id for e in _audit("suggestion.unhidden")] == [world.county_officer.id]


# --- Flagging a suggestion as a rectification item --------------------------------------------------

PROBLEM = "夜班职工就餐困难。"


def _flag(client, suggestion, problem=PROBLEM):
    return client.post(f"/suggestions/{suggestion.id}/flag", data={"problem": problem})


def test_an_officer_flags_a_suggestion_as_a_rectification_item(world, login):
    from evalapp.rectification.models import Rectification, RectificationState

    campaign = make_campaign(world, "closed")
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    from evalapp.campaigns import operations as campaign_ops

    campaign_ops.publish(campaign, world.county_officer)
    db.session.commit()
    [suggestion] = _suggestions()
    response = _flag(login("county_officer"), suggestion)
    assert response.status_code == 302
    rectification = db.session.scalar(sa.select(Rectification).where(Rectification.suggestion_id == suggestion.id))
    assert response.headers["Location"].endswith(f"/rectifications/{rectification.id}")
    assert rectification.problem == PROBLEM and rectification.state == RectificationState.awaiting_plan
    assert [e.object_id for e in _audit("suggestion.flagged")] == [suggestion.id]

    page = _page(login("m1"), campaign)
    assert "已列为整改事项" in page and f"/rectifications/{rectification.id}" in page
    assert PROBLEM in login("m2").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    # flagged twice: refused, still one item
    _flag(login("city_officer"), suggestion)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)
                             .where(Rectification.suggestion_id == suggestion.id)) == 1


def test_the_chair_may_flag_too_but_members_may_not(world, login):
    campaign = make_campaign(world, "published")
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    assert _flag(login("m1"), suggestion).status_code == 404
    assert _flag(login("other_officer"), suggestion).status_code == 404
    assert _flag(login("chair"), suggestion).status_code == 302
    assert _suggestions()[0].rectification is not None


def test_flagging_before_publication_is_refused(world, login, campaign):
    from evalapp.rectification.models import Rectification

    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    officer = login("county_officer")
    response = _flag(officer, suggestion)
    assert response.status_code == 302
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "评议结果公布后，才能将意见建议列为整改事项。" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)) == 0


def test_the_flag_form_is_offered_only_once_the_result_is_published(world, login):
    from evalapp.campaigns import operations as campaign_ops

    campaign = make_campaign(world, "closed")
    assert _write(login("m1"), campaign, ANONYMOUS_BODY).status_code == 302
    [suggestion] = _suggestions()
    flag_action = f"/suggestions/{suggestion.id}/flag"
    assert flag_action not in _page(login("county_officer"), campaign)
    campaign_ops.publish(campaign, world.county_officer)
    db.session.commit()
    assert flag_action in _page(login("county_officer"), campaign)


def test_a_hidden_suggestion_is_not_flagged(world, login):
    from evalapp.rectification.models import Rectification

    campaign = make_campaign(world, "published")
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    officer = login("county_officer")
    _hide(officer, suggestion)
    _flag(officer, suggestion)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)) == 0


# --- The list across campaigns --------------------------------------------------------------------

def _overview(client, **args):
    response = client.get("/suggestions", query_string=args)
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def two_campaigns(world, login):
    from evalapp.campaigns.models import SubjectKind
    from evalapp.suggestions.operations import respond

    a = make_campaign(world, "open")
    b = make_campaign(world, "open", union=world.union_b, subject=SubjectKind.none)
    for i in range(1, 4):
        assert _write(login(f"m{i}"), a, f"甲公司建议{i}号").status_code == 302
    assert _write(login("outsider"), b, "乙公司建议").status_code == 302
    answered = db.session.scalar(sa.select(Suggestion).where(Suggestion.body == "甲公司建议1号"))
    respond(answered, world.chair, ANSWER)
    db.session.commit()
    return a, b


def test_officers_list_their_subtree_unanswered_first(world, login, two_campaigns):
    status, page = _overview(login("city_officer"))
    assert status == 200
    for body in ("甲公司建议1号", "甲公司建议2号", "甲公司建议3号", "乙公司建议"):
        assert body in page
    assert page.index("甲公司建议3号") < page.index("甲公司建议1号")      # unanswered before answered
    assert page.index("乙公司建议") < page.index("甲公司建议1号")
    assert "待回应（3）" in page and "已回应（1）" in page

    status, county_page = _overview(login("county_officer"))
    assert "甲公司建议2号" in county_page and "乙公司建议" not in county_page
    status, other_page = _overview(login("other_officer"))
    assert "乙公司建议" in other_page and "甲公司建议" not in other_page


def test_officers_filter_by_state_union_and_campaign(world, login, two_campaigns):
    a, b = two_campaigns
    officer = login("city_officer")
    _, page = _overview(officer, state="answered")
    assert "甲公司建议1号" in page and "甲公司建议2号" not in page and "乙公司建议" not in page
    _, page = _overview(officer, state="unanswered", union=world.county.id)
    assert "甲公司建议2号" in page and "甲公司建议1号" not in page and "乙公司建议" not in page
    _, page = _overview(officer, campaign=b.id)
    assert "乙公司建议" in page and "甲公司建议" not in page


@pytest.mark.parametrize("args", [{"state": "bogus"}, {"union": 999999}, {"campaign": 999999}, {"union": "x"}])
def test_bad_filters_are_404(world, login, two_campaigns, args):
    status, _ = _overview(login("city_officer"), **args)
    assert status == 404


def test_filters_outside_the_scope_are_404(world, login, two_campaigns):
    a, b = two_campaigns
    county = login("county_officer")
    assert _overview(county, union=world.other_county.id)[0] == 404
    assert _overview(county, campaign=b.id)[0] == 404
    assert _overview(login("chair"), union=world.union_b.id)[0] == 404


def test_the_chair_lists_the_own_unions_suggestions_anonymously(world, login, two_campaigns):
    status, page = _overview(login("chair"))
    assert status == 200
    assert "甲公司建议2号" in page and "乙公司建议" not in page
    assert "会员2" not in page and "匿名会员" in page


def test_members_list_only_their_own_suggestions(world, login, two_campaigns):
    status, page = _overview(login("m2"))
    assert status == 200
    assert "我提出的意见建议" in page
    assert "甲公司建议2号" in page and "甲公司建议1号" not in page and "甲公司建议3号" not in page


def test_the_list_is_paginated(world, login, campaign):
    from evalapp.suggestions.operations import add_suggestion

    for i in range(25):
        add_suggestion(campaign, world.members[i % 5], f"第{i:02d}条建议")
    db.session.commit()
    officer = login("county_officer")
    _, first = _overview(officer)
    _, second = _overview(officer, page=2)
    assert "第 1 / 2 页，共 25 条" in first
    shown = [f"第{i:02d}条建议" for i in range(25)]
    assert sum(text in first for text in shown) == 20 and sum(text in second for text in shown) == 5
    assert "第 1 / 2 页" in _page(login("chair"), campaign)


# --- Moderation by the superior union only, once, and never of a flagged suggestion ---------------------

def test_officers_of_the_campaigns_own_union_may_not_hide(world, login, campaign):
    from tests.factories import make_account

    make_account("a_officer", officer_of=world.union_a)
    db.session.commit()
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    a_officer = login("a_officer")
    assert ABUSE in _page(a_officer, campaign)                          # they read the suggestions…
    assert f'action="/suggestions/{suggestion.id}/hide"' not in _page(a_officer, campaign)
    assert a_officer.post(f"/suggestions/{suggestion.id}/hide", data={"reason": REASON}).status_code == 404
    assert not _suggestions()[0].is_hidden and _audit("suggestion.hidden") == []
    _hide(login("county_officer"), suggestion)
    assert a_officer.post(f"/suggestions/{suggestion.id}/unhide").status_code == 404
    assert _suggestions()[0].is_hidden
    assert ABUSE not in _page(a_officer, campaign)                      # …but, like the chair, not once hidden


def _flagged_suggestion(world, login):
    campaign = make_campaign(world, "published")
    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    assert _flag(login("chair"), suggestion, problem=ABUSE).status_code == 302      # the default: its own text
    return campaign, suggestion


def test_a_flagged_suggestion_is_not_hidden_while_its_text_is_public_as_the_problem(world, login):
    campaign, suggestion = _flagged_suggestion(world, login)
    officer = login("county_officer")
    assert "不能再隐藏" in _page(officer, campaign)
    assert f'action="/suggestions/{suggestion.id}/hide"' not in _page(officer, campaign)
    response = _hide(officer, suggestion)
    assert "该意见建议已列为整改事项，整改事项的问题描述向参评会员公开，不能再隐藏该意见建议。" in response.get_data(as_text=True)
    assert not _suggestions()[0].is_hidden and _audit("suggestion.hidden") == []


def _author_notices(world, fragment):
    from evalapp.notifications.models import Notification

    return [n for n in db.session.scalars(sa.select(Notification).where(Notification.account_id == world.members[0].id))
            if fragment in n.text]


def test_a_second_hide_that_read_the_suggestion_before_the_first_committed_changes_nothing(world, login, campaign):
    from sqlalchemy.orm.attributes import set_committed_value

    from evalapp.core.errors import Refused
    from evalapp.suggestions.operations import hide, unhide

    assert _write(login("m1"), campaign, ABUSE).status_code == 302
    [suggestion] = _suggestions()
    assert _hide(login("county_officer"), suggestion).status_code == 200
    # The double click's request read the row while it was still shown.
    stale = db.session.get(Suggestion, suggestion.id)
    set_committed_value(stale, "hidden_at", None)
    with pytest.raises(Refused, match="已被隐藏"):
        hide(stale, world.city_officer, "另一个理由")
    db.session.rollback()
    assert len(_audit("suggestion.hidden")) == 1 and len(_author_notices(world, "已被上级工会隐藏")) == 1
    assert _suggestions()[0].hidden_reason == REASON

    assert login("county_officer").post(f"/suggestions/{suggestion.id}/unhide").status_code == 302
    stale = db.session.get(Suggestion, suggestion.id)
    for field, value in (("hidden_at", suggestion.created_at), ("hidden_reason", REASON)):
        set_committed_value(stale, field, value)
    with pytest.raises(Refused):
        unhide(stale, world.city_officer)
    db.session.rollback()
    assert len(_audit("suggestion.unhidden")) == 1


def test_two_flags_at_once_give_one_item_and_a_clear_refusal(world, login):
    from sqlalchemy.orm.attributes import set_committed_value

    from evalapp.core.errors import Refused
    from evalapp.rectification.models import Rectification
    from evalapp.suggestions.operations import flag

    campaign, suggestion = _flagged_suggestion(world, login)
    # The second request read the suggestion before the first flag committed.
    stale = db.session.get(Suggestion, suggestion.id)
    set_committed_value(stale, "rectification", None)
    with pytest.raises(Refused, match="该意见建议已列为整改事项。"):
        flag(stale, world.county_officer, PROBLEM)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)) == 1
    assert len(_audit("suggestion.flagged")) == 1


def test_a_staff_member_without_a_member_record_has_no_campaigns_of_their_own(world, login, two_campaigns):
    a, b = two_campaigns
    status, page = _overview(login("other_officer"), mine=1)
    assert status == 200 and "没有符合条件的意见建议。" in page
    assert f'<option value="{a.id}"' not in page and f'<option value="{b.id}"' not in page
    status, page = _overview(login("other_officer"))
    assert f'<option value="{b.id}"' in page                          # their own scope, outside "mine"
