"""Members' suggestions: anonymity towards the chair, the chair's answer, who sees and may write what."""
import json

import pytest
import sqlalchemy as sa

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.feedback.models import Suggestion
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
