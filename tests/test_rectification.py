"""The chair's rectification plan and outcome, as members, officers and strangers see them."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from evalapp.core.db import db
from evalapp.rectification.models import Rectification, RectificationState
from tests.factories import make_campaign

PLAN = "一、召开会员代表座谈会，逐条听取意见。\n二、每季度公开<经费>收支，主席负责，6月底前完成。"
OUTCOME = "已召开座谈会两次，经费收支已在厂务公开栏公布。"


@pytest.fixture
def rectification(world):
    """An item opened by a published result: all 5 voted 不满意 on item 1 (0% < 80%)."""
    campaign = make_campaign(world, "published", votes=[[3, 1, 1]] * 5)
    items = list(db.session.scalars(select(Rectification).where(Rectification.campaign_id == campaign.id)))
    assert len(items) == 1 and items[0].item.position == 1
    return items[0]


def reload(rectification):
    db.session.expire_all()
    return db.session.get(Rectification, rectification.id)


def snapshot(rectification):
    r = reload(rectification)
    return r.state, r.plan, r.plan_submitted_at, r.outcome, r.completed_at


def shanghai_today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def test_members_see_the_problem_and_that_no_plan_is_in_yet(rectification, login):
    page = login("m1").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert "满意率为 0.0%" in page
    assert "待提交整改方案" in page
    assert "工会主席尚未提交整改方案。" in page
    assert "提交整改方案</button>" not in page


def test_the_chair_submits_a_plan_and_members_see_it(rectification, login):
    chair = login("chair")
    assert "提交整改方案</button>" in chair.get(f"/rectifications/{rectification.id}").get_data(as_text=True)

    response = chair.post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN})
    assert response.status_code == 302
    assert reload(rectification).state == RectificationState.plan_submitted

    for username in ("m1", "m5", "county_officer"):
        page = login(username).get(f"/rectifications/{rectification.id}").get_data(as_text=True)
        assert "一、召开会员代表座谈会，逐条听取意见。" in page
        assert "每季度公开&lt;经费&gt;收支" in page   # shown as typed, never as markup
        assert "整改中" in page
        assert "工会主席尚未提交整改方案。" not in page


def test_completing_before_a_plan_is_refused(rectification, login):
    before = snapshot(rectification)
    response = login("chair").post(f"/rectifications/{rectification.id}/complete", data={"outcome": OUTCOME})
    page = response.get_data(as_text=True)
    assert "须先提交整改方案，才能标记整改完成。" in page
    assert snapshot(rectification) == before
    assert before[0] == RectificationState.awaiting_plan
    # A refusal because of the item's state is a conflict, not a malformed request.
    assert response.status_code == 409


def test_completion_shows_the_outcome_to_members(rectification, login):
    chair = login("chair")
    assert chair.post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 302
    assert "标记整改完成</button>" in chair.get(f"/rectifications/{rectification.id}").get_data(as_text=True)

    response = chair.post(f"/rectifications/{rectification.id}/complete", data={"outcome": OUTCOME})
    assert response.status_code == 302
    stored = reload(rectification)
    assert stored.state == RectificationState.completed
    assert stored.outcome == OUTCOME

    page = login("m2").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert OUTCOME in page
    assert "已完成整改" in page
    assert "整改尚未完成。" not in page


def test_the_plan_cannot_be_submitted_twice(rectification, login):
    chair = login("chair")
    assert chair.post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 302
    before = snapshot(rectification)
    response = chair.post(f"/rectifications/{rectification.id}/plan", data={"plan": "另一份方案"})
    assert "整改方案已提交，不能重复提交。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


@pytest.mark.parametrize("username", ["m1", "county_officer", "city_officer"])
def test_only_the_chair_may_submit_a_plan(rectification, login, username):
    before = snapshot(rectification)
    response = login(username).post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN})
    assert response.status_code == 404
    assert snapshot(rectification) == before
    assert before[1] is None


@pytest.mark.parametrize("username", ["m1", "county_officer"])
def test_only_the_chair_may_complete(rectification, login, username):
    assert login("chair").post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 302
    before = snapshot(rectification)
    response = login(username).post(f"/rectifications/{rectification.id}/complete", data={"outcome": OUTCOME})
    assert response.status_code == 404
    assert snapshot(rectification) == before
    assert before[0] == RectificationState.plan_submitted


@pytest.mark.parametrize("plan", ["", "   \n  "])
def test_an_empty_plan_is_refused_with_a_message(rectification, login, plan):
    before = snapshot(rectification)
    response = login("chair").post(f"/rectifications/{rectification.id}/plan", data={"plan": plan})
    assert response.status_code == 400
    assert "请填写整改方案。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


def test_an_empty_outcome_is_refused_with_a_message(rectification, login):
    chair = login("chair")
    assert chair.post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 302
    before = snapshot(rectification)
    response = chair.post(f"/rectifications/{rectification.id}/complete", data={"outcome": ""})
    assert response.status_code == 400
    assert "请填写整改结果。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


@pytest.mark.parametrize("username", ["outsider", "other_officer"])
def test_strangers_get_404(rectification, login, username):
    client = login(username)
    response = client.get(f"/rectifications/{rectification.id}")
    assert response.status_code == 404
    assert "满意率为" not in response.get_data(as_text=True)
    assert client.post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 404
    assert reload(rectification).plan is None


def test_an_unknown_rectification_is_404(rectification, login):
    assert login("chair").get(f"/rectifications/{rectification.id + 1000}").status_code == 404


def test_overdue_shows_once_the_due_date_has_passed(rectification, login):
    member = login("m1")
    stored = reload(rectification)
    stored.due_date = shanghai_today()
    db.session.commit()
    page = member.get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert "已逾期" not in page  # due today: not late yet
    assert f"整改方案提交期限：{shanghai_today().isoformat()}" in page

    stored = reload(rectification)
    stored.due_date = shanghai_today() - timedelta(days=1)
    db.session.commit()
    page = member.get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert "已逾期" in page


def test_a_submitted_plan_is_no_longer_overdue(rectification, login):
    stored = reload(rectification)
    stored.due_date = shanghai_today() - timedelta(days=3)
    db.session.commit()
    assert login("chair").post(f"/rectifications/{rectification.id}/plan", data={"plan": PLAN}).status_code == 302
    page = login("m1").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert "已逾期" not in page
