"""Rectification items followed to the end: every transition allowed and refused, by role and by state.

The item comes from a published result of union A (all five members rated item 1 不满意). The chair of
union A owns it; the county officer (and the city officer and the administrator above) review it;
members of the electorate read what is public; everyone else gets 404.
"""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from evalapp.core.audit import AuditEntry, verify_chain
from evalapp.core.db import db
from evalapp.core.timeutil import local_today
from evalapp.rectification.models import EventKind, Rectification, RectificationEvent, RectificationState
from tests.factories import drive_rectification, make_account, published_rectification

S = RectificationState
MEASURES = "一、召开会员代表座谈会，逐条听取意见。\n二、每季度公开<经费>收支。"
RESPONSIBLE = "工会副主席 李明"
OUTCOME = "已召开座谈会两次，经费收支已在厂务公开栏公布。"
RETURN_COMMENT = "措施不够具体，请写明座谈会的时间安排。"
PROGRESS = "第一次座谈会已于本月召开，收集意见 12 条。"
DEADLINE_REASON = "公司停产检修一个月，座谈会无法按期召开。"


def later(days=60):
    return (local_today() + timedelta(days=days)).isoformat()


#: step → (path under /rectifications/<id>, form data, the states it is allowed from, the state it leads to).
STEPS = {
    "plan": ("plan", lambda: {"measures": MEASURES, "responsible": RESPONSIBLE, "target_date": later()},
             {S.awaiting_plan: S.plan_submitted, S.returned: S.resubmitted}),
    "approve_plan": ("approve_plan", dict, {S.plan_submitted: S.in_progress, S.resubmitted: S.in_progress}),
    "return_plan": ("return_plan", lambda: {"comment": RETURN_COMMENT},
                    {S.plan_submitted: S.returned, S.resubmitted: S.returned}),
    "progress": ("progress", lambda: {"text": PROGRESS}, {S.in_progress: S.in_progress}),
    "complete": ("complete", lambda: {"outcome": OUTCOME}, {S.in_progress: S.completed}),
    "approve_outcome": ("approve_outcome", dict, {S.completed: S.reviewed}),
    "return_outcome": ("return_outcome", lambda: {"comment": RETURN_COMMENT}, {S.completed: S.in_progress}),
    "publish": ("publish", dict, {S.reviewed: S.published}),
    "deadline": ("deadline", lambda: {"new_date": later(90), "reason": DEADLINE_REASON},
                 {s: s for s in (S.awaiting_plan, S.plan_submitted, S.returned, S.resubmitted, S.in_progress)}),
}
#: Who takes each step; everyone else who can see the item gets 404 when trying.
CHAIR_STEPS = {"plan", "progress", "complete"}
ALSO_CHAIR = {"publish"}


@pytest.fixture
def rectification(world):
    return published_rectification(world)


def reload(rectification):
    db.session.expire_all()
    return db.session.get(Rectification, rectification.id)


def snapshot(rectification):
    r = reload(rectification)
    return (r.state, r.plan, r.plan_responsible, r.plan_target_date, r.outcome, r.due_date, r.published_at,
            len(r.events))


def post(client, rectification, step):
    path, data, _ = STEPS[step]
    return client.post(f"/rectifications/{rectification.id}/{path}", data=data())


def page(client, rectification):
    response = client.get(f"/rectifications/{rectification.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def actions(rectification):
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "Rectification", AuditEntry.object_id == rectification.id).order_by(AuditEntry.seq)))


# --- The whole way, as people click through it --------------------------------------------------------

def test_the_whole_loop_from_problem_to_published_outcome(world, rectification, login):
    chair, officer, member = login("chair"), login("county_officer"), login("m1")
    assert "提交整改方案</button>" in page(chair, rectification)
    assert "工会主席尚未提交整改方案。" in page(member, rectification)

    assert post(chair, rectification, "plan").status_code == 302
    assert reload(rectification).state == S.plan_submitted
    assert "整改方案正在由上级工会审核。" in page(member, rectification)
    assert MEASURES.splitlines()[0] not in page(member, rectification)   # not public before approval
    assert "审核通过</button>" in page(officer, rectification)

    assert post(officer, rectification, "return_plan").status_code == 302
    chair_page = page(chair, rectification)
    assert RETURN_COMMENT in chair_page and "重新提交整改方案</button>" in chair_page
    assert RETURN_COMMENT not in page(member, rectification)

    assert post(chair, rectification, "plan").status_code == 302
    assert reload(rectification).state == S.resubmitted
    assert post(officer, rectification, "approve_plan").status_code == 302
    assert reload(rectification).state == S.in_progress

    member_page = page(member, rectification)
    assert "一、召开会员代表座谈会，逐条听取意见。" in member_page
    assert "每季度公开&lt;经费&gt;收支" in member_page   # shown as typed, never as markup
    assert RESPONSIBLE in member_page and later() in member_page

    assert post(chair, rectification, "progress").status_code == 302
    assert PROGRESS in page(member, rectification)

    assert post(chair, rectification, "complete").status_code == 302
    assert OUTCOME not in page(member, rectification)      # not before the superior union's approval
    assert post(officer, rectification, "return_outcome").status_code == 302
    assert reload(rectification).state == S.in_progress
    assert post(chair, rectification, "complete").status_code == 302
    assert post(officer, rectification, "approve_outcome").status_code == 302
    assert OUTCOME not in page(member, rectification)      # approved, not yet published
    assert post(chair, rectification, "publish").status_code == 302

    member_page = page(member, rectification)
    assert reload(rectification).state == S.published
    for text in (OUTCOME, PROGRESS, "一、召开会员代表座谈会", "整改结果已公开"):
        assert text in member_page
    assert RETURN_COMMENT not in member_page

    assert actions(rectification) == [
        "rectification.opened", "rectification.plan_submitted", "rectification.plan_returned",
        "rectification.plan_resubmitted", "rectification.plan_approved", "rectification.progress",
        "rectification.completed", "rectification.outcome_returned", "rectification.completed",
        "rectification.outcome_approved", "rectification.published"]
    assert verify_chain() is None


def test_every_step_is_audited_with_who_and_the_states(world, rectification, login):
    login("chair")
    assert post(login("chair"), rectification, "plan").status_code == 302
    assert post(login("county_officer"), rectification, "approve_plan").status_code == 302
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(["rectification.plan_submitted", "rectification.plan_approved"])).order_by(AuditEntry.seq)))
    assert [(e.actor_id, json.loads(e.details)["before"], json.loads(e.details)["after"]) for e in entries] == [
        (world.chair.id, "awaiting_plan", "plan_submitted"), (world.county_officer.id, "plan_submitted", "in_progress")]


# --- Every step from every state -----------------------------------------------------------------------

def fresh_item(world, rectification, problem):
    """Another item of the same published campaign, awaiting its plan."""
    item = Rectification(campaign_id=rectification.campaign_id, problem=problem, due_date=rectification.due_date)
    db.session.add(item)
    db.session.commit()
    return item


@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_is_allowed_exactly_from_its_states(world, rectification, login, step):
    client = login("chair" if step in CHAIR_STEPS | ALSO_CHAIR else "county_officer")
    allowed = STEPS[step][2]
    for state in S:
        item = drive_rectification(world, fresh_item(world, rectification, f"问题：{state.value}"), state.value)
        before = snapshot(item)
        response = post(client, item, step)
        after = reload(item)
        if state in allowed:
            assert response.status_code == 302, (state, response.get_data(as_text=True))
            assert after.state == allowed[state], state
            assert len(after.events) == before[-1] + 1, state
        else:
            assert response.status_code == 409, state
            body = response.get_data(as_text=True)
            assert any(hint in body for hint in ("不能", "才能", "已审核通过", "没有可调整的期限", "已提交")), state
            assert snapshot(item) == before, state


# --- Every step by every role --------------------------------------------------------------------------

STATE_FOR_STEP = {step: next(iter(allowed)) for step, (_path, _data, allowed) in STEPS.items()}
ROLES = ["m1", "outsider", "other_officer", "late_member", "chair", "county_officer", "city_officer", "admin"]


def allowed_roles(step):
    if step in CHAIR_STEPS:
        return {"chair"}
    reviewers = {"county_officer", "city_officer", "admin"}
    return reviewers | ({"chair"} if step in ALSO_CHAIR else set())


@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_is_taken_only_by_its_roles(world, rectification, login, step):
    make_account("late_member", "后入会会员", member_of=world.union_a)   # on the roster, not in the electorate
    for role in ROLES:
        item = drive_rectification(world, fresh_item(world, rectification, f"问题：{role}"), STATE_FOR_STEP[step].value)
        before = snapshot(item)
        response = post(login(role), item, step)
        if role in allowed_roles(step):
            assert response.status_code == 302, (role, response.get_data(as_text=True))
            assert reload(item).state == STEPS[step][2][STATE_FOR_STEP[step]], role
        else:
            assert response.status_code == 404, role
            assert snapshot(item) == before, role


def test_the_chair_never_reviews_their_own_plan_even_as_an_officer_above(world, rectification, login):
    from evalapp.accounts.models import Role
    from evalapp.accounts.operations import grant_role

    grant_role(world.chair, world.county, Role.officer)
    db.session.commit()
    drive_rectification(world, rectification, "plan_submitted")
    assert post(login("chair"), rectification, "approve_plan").status_code == 404
    assert reload(rectification).state == S.plan_submitted


# --- Bad input changes nothing -------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"measures": "", "responsible": RESPONSIBLE, "target_date": "2030-01-01"}, "请填写整改措施。"),
    ({"measures": "  \n ", "responsible": RESPONSIBLE, "target_date": "2030-01-01"}, "请填写整改措施。"),
    ({"measures": MEASURES, "responsible": "", "target_date": "2030-01-01"}, "请填写责任人。"),
    ({"measures": MEASURES, "responsible": RESPONSIBLE, "target_date": ""}, "请填写完成时限。"),
    ({"measures": MEASURES, "responsible": RESPONSIBLE, "target_date": "2030-02-30"}, "日期"),
    ({"measures": MEASURES, "responsible": RESPONSIBLE, "target_date": "3000-01-01"}, "2000 年到 2099 年"),
    ({"measures": MEASURES, "responsible": "长" * 101, "target_date": "2030-01-01"}, "责任人不能超过 100 字。"),
])
def test_a_bad_plan_is_refused_with_a_message(world, rectification, login, data, message):
    before = snapshot(rectification)
    response = login("chair").post(f"/rectifications/{rectification.id}/plan", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot(rectification) == before


def test_a_target_date_in_the_past_is_refused(world, rectification, login):
    before = snapshot(rectification)
    response = login("chair").post(f"/rectifications/{rectification.id}/plan", data={
        "measures": MEASURES, "responsible": RESPONSIBLE, "target_date": (local_today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 400
    assert "完成时限不能早于今天。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


def test_what_the_chair_typed_survives_a_refusal(world, rectification, login):
    response = login("chair").post(f"/rectifications/{rectification.id}/plan", data={
        "measures": MEASURES, "responsible": "", "target_date": later()})
    assert response.status_code == 400
    assert "一、召开会员代表座谈会" in response.get_data(as_text=True)


@pytest.mark.parametrize("step, field", [("return_plan", "comment"), ("return_outcome", "comment")])
def test_a_return_without_a_comment_is_refused(world, rectification, login, step, field):
    drive_rectification(world, rectification, "plan_submitted" if step == "return_plan" else "completed")
    before = snapshot(rectification)
    response = login("county_officer").post(f"/rectifications/{rectification.id}/{step}", data={field: "  "})
    assert response.status_code == 400
    assert "请填写退回意见。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


def test_empty_progress_and_outcome_are_refused(world, rectification, login):
    drive_rectification(world, rectification, "in_progress")
    chair = login("chair")
    before = snapshot(rectification)
    response = chair.post(f"/rectifications/{rectification.id}/progress", data={"text": ""})
    assert response.status_code == 400 and "请填写整改进展。" in response.get_data(as_text=True)
    response = chair.post(f"/rectifications/{rectification.id}/complete", data={"outcome": ""})
    assert response.status_code == 400 and "请填写整改结果。" in response.get_data(as_text=True)
    assert snapshot(rectification) == before


def test_a_double_click_approves_once(world, rectification, login):
    drive_rectification(world, rectification, "plan_submitted")
    officer = login("county_officer")
    assert post(officer, rectification, "approve_plan").status_code == 302
    second = post(officer, rectification, "approve_plan")
    assert second.status_code == 409
    assert "该整改事项当前为“整改中”，不能审核整改方案。" in second.get_data(as_text=True)
    assert actions(rectification).count("rectification.plan_approved") == 1


# --- Who sees what ------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["awaiting_plan", "in_progress", "published"])
@pytest.mark.parametrize("username", ["outsider", "other_officer", "late_member"])
def test_strangers_get_404_at_every_stage(world, rectification, login, username, state):
    make_account("late_member", "后入会会员", member_of=world.union_a)   # on the roster, not in the electorate
    drive_rectification(world, rectification, state)
    response = login(username).get(f"/rectifications/{rectification.id}")
    assert response.status_code == 404
    assert "满意率" not in response.get_data(as_text=True)


@pytest.mark.parametrize("state, member_sees, member_does_not_see", [
    ("awaiting_plan", ["满意率为 0.0%", "工会主席尚未提交整改方案。"], ["提交整改方案</button>"]),
    ("plan_submitted", ["整改方案正在由上级工会审核。"], ["一、每月召开一次会员代表座谈会", "审核通过</button>"]),
    ("returned", ["整改方案正在由上级工会审核。"], ["请写明每项措施的完成时间。", "一、每月召开一次会员代表座谈会"]),
    ("in_progress", ["一、每月召开一次会员代表座谈会", "工会主席 主席甲", "整改尚未完成。"], ["记录整改进展</button>"]),
    ("completed", ["一、每月召开一次会员代表座谈会", "整改尚未完成。"], ["座谈会已召开三次"]),
    ("reviewed", ["整改尚未完成。"], ["座谈会已召开三次", "向参评会员公开整改结果</button>"]),
    ("published", ["座谈会已召开三次，意见已逐条答复。", "一、每月召开一次会员代表座谈会"], ["请写明每项措施的完成时间。"]),
])
def test_a_member_of_the_electorate_sees_only_what_is_public(world, rectification, login, state, member_sees,
                                                            member_does_not_see):
    drive_rectification(world, rectification, state)
    text = page(login("m1"), rectification)
    for expected in member_sees:
        assert expected in text, expected
    for hidden in member_does_not_see:
        assert hidden not in text, hidden


@pytest.mark.parametrize("username", ["chair", "county_officer", "city_officer", "admin"])
def test_the_chair_and_everyone_above_see_plans_under_review_and_comments(world, rectification, login, username):
    drive_rectification(world, rectification, "returned")
    text = page(login(username), rectification)
    assert "一、每月召开一次会员代表座谈会" in text
    assert "请写明每项措施的完成时间。" in text


def test_an_unknown_item_is_404(world, rectification, login):
    assert login("chair").get(f"/rectifications/{rectification.id + 1000}").status_code == 404
    assert login("chair").get("/rectifications/99999999999").status_code == 404


# --- Deadlines ----------------------------------------------------------------------------------------

def test_overdue_shows_once_the_due_date_has_passed(world, rectification, login):
    member = login("m1")
    stored = reload(rectification)
    stored.due_date = local_today()
    db.session.commit()
    text = page(member, rectification)
    assert "已逾期" not in text and "今天到期" in text
    assert f"整改方案提交期限：{local_today().isoformat()}" in text

    stored = reload(rectification)
    stored.due_date = local_today() - timedelta(days=1)
    db.session.commit()
    assert "已逾期" in page(member, rectification)


def test_a_plan_submitted_late_is_no_longer_overdue_but_a_returned_one_is_again(world, rectification, login):
    stored = reload(rectification)
    stored.due_date = local_today() - timedelta(days=3)
    db.session.commit()
    drive_rectification(world, rectification, "plan_submitted")
    assert "已逾期" not in page(login("m1"), rectification)
    from evalapp.rectification import operations as rect_ops

    rect_ops.return_plan(reload(rectification), world.county_officer, "请补充。")
    db.session.commit()
    assert "已逾期" in page(login("m1"), rectification)


def test_work_past_the_plans_target_date_is_overdue(world, rectification, login):
    drive_rectification(world, rectification, "in_progress")
    stored = reload(rectification)
    stored.plan_target_date = local_today() - timedelta(days=2)
    db.session.commit()
    assert reload(rectification).is_overdue(local_today())
    assert "已逾期" in page(login("chair"), rectification)


def test_moving_the_plan_deadline_is_an_audited_decision_with_a_reason(world, rectification, login):
    old = reload(rectification).due_date
    new = local_today() + timedelta(days=90)
    response = login("county_officer").post(f"/rectifications/{rectification.id}/deadline",
                                            data={"new_date": new.isoformat(), "reason": DEADLINE_REASON})
    assert response.status_code == 302
    assert reload(rectification).due_date == new
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rectification.deadline_moved"))
    assert entry.actor_id == world.county_officer.id
    assert json.loads(entry.details) == {"field": "due_date", "before": old.isoformat(), "after": new.isoformat(),
                                         "reason": DEADLINE_REASON}
    chair_page = page(login("chair"), rectification)
    assert DEADLINE_REASON in chair_page and f"{old} → {new}" in chair_page
    assert DEADLINE_REASON not in page(login("m1"), rectification)


def test_moving_the_work_deadline_changes_the_target_date(world, rectification, login):
    drive_rectification(world, rectification, "in_progress")
    new = local_today() + timedelta(days=120)
    response = login("city_officer").post(f"/rectifications/{rectification.id}/deadline",
                                          data={"new_date": new.isoformat(), "reason": DEADLINE_REASON})
    assert response.status_code == 302
    stored = reload(rectification)
    assert stored.plan_target_date == new and stored.deadline == new


@pytest.mark.parametrize("new_date, reason, status, message", [
    (lambda: local_today() - timedelta(days=1), DEADLINE_REASON, 400, "新的期限不能早于今天。"),
    (lambda: None, DEADLINE_REASON, 400, "请填写新的期限。"),
    (lambda: local_today() + timedelta(days=30), "", 400, "请填写调整理由。"),
])
def test_a_bad_deadline_move_is_refused(world, rectification, login, new_date, reason, status, message):
    before = snapshot(rectification)
    day = new_date()
    response = login("county_officer").post(f"/rectifications/{rectification.id}/deadline",
                                            data={"new_date": day.isoformat() if day else "", "reason": reason})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert snapshot(rectification) == before
    assert "rectification.deadline_moved" not in actions(rectification)


def test_moving_a_deadline_to_the_same_date_is_refused(world, rectification, login):
    same = reload(rectification).due_date
    response = login("county_officer").post(f"/rectifications/{rectification.id}/deadline",
                                            data={"new_date": same.isoformat(), "reason": DEADLINE_REASON})
    assert response.status_code == 400 and "新的期限与原期限相同。" in response.get_data(as_text=True)


def test_history_records_each_step_for_staff_and_the_public_ones_for_members(world, rectification, login):
    drive_rectification(world, rectification, "in_progress")
    kinds = [e.kind for e in db.session.scalars(select(RectificationEvent).where(
        RectificationEvent.rectification_id == rectification.id).order_by(RectificationEvent.id))]
    assert kinds == [EventKind.opened, EventKind.plan_submitted, EventKind.plan_approved]
    assert "审核通过整改方案" in page(login("m1"), rectification)
    assert "提交整改方案</strong>" not in page(login("m1"), rectification)
    assert "提交整改方案</strong>" in page(login("chair"), rectification)


# --- Review belongs to the union above -------------------------------------------------------------------

@pytest.mark.parametrize("step, state", [("approve_plan", "plan_submitted"), ("return_plan", "plan_submitted"),
                                         ("approve_outcome", "completed"), ("return_outcome", "completed"),
                                         ("deadline", "in_progress")])
def test_an_officer_of_the_evaluated_union_itself_does_not_review(world, rectification, login, step, state):
    from evalapp.core.errors import Refused
    from evalapp.rectification import operations as rect_ops

    a_officer = make_account("a_officer", officer_of=world.union_a)
    db.session.commit()
    drive_rectification(world, rectification, state)
    before = snapshot(rectification)
    client = login("a_officer")
    assert f'/rectifications/{rectification.id}/{STEPS[step][0]}"' not in page(client, rectification)
    assert post(client, rectification, step).status_code == 404
    assert snapshot(rectification) == before
    operation = {"approve_plan": rect_ops.approve_plan, "approve_outcome": rect_ops.approve_outcome}.get(step)
    if operation is not None:
        with pytest.raises(Refused, match="只有上级工会的工作人员可以审核整改事项。"):
            operation(reload(rectification), a_officer)
        db.session.rollback()
    assert post(login("county_officer"), rectification, step).status_code == 302   # the union above does


@pytest.fixture
def officers_item(world):
    """An item of a survey of union A without a chair: the officers above own it and review it."""
    from evalapp.campaigns.models import SubjectKind
    from tests.factories import make_campaign

    campaign = make_campaign(world, "published", subject=SubjectKind.none, votes=[[3, 1, 1]] * 5)
    [item] = campaign.rectifications
    return item


def test_where_officers_own_the_item_the_one_who_submitted_does_not_approve(world, officers_item, login):
    county, city = login("county_officer"), login("city_officer")
    assert post(county, officers_item, "plan").status_code == 302
    county_page = page(county, officers_item)
    assert "整改方案由您提交，须由上级工会的其他工作人员审核通过。" in county_page
    assert "审核通过</button>" not in county_page
    response = post(county, officers_item, "approve_plan")
    assert response.status_code == 403 and "您提交的内容须由上级工会的其他工作人员审核通过。" in response.get_data(as_text=True)
    assert reload(officers_item).state == S.plan_submitted
    assert "审核通过</button>" in page(city, officers_item)
    assert post(city, officers_item, "approve_plan").status_code == 302

    assert post(city, officers_item, "complete").status_code == 302
    assert post(city, officers_item, "approve_outcome").status_code == 403
    assert reload(officers_item).state == S.completed
    assert post(county, officers_item, "approve_outcome").status_code == 302
    assert reload(officers_item).state == S.reviewed


def test_the_submitting_officer_is_not_the_one_asked_to_review(world, officers_item, login):
    from evalapp.notifications.models import Notification

    assert post(login("county_officer"), officers_item, "plan").status_code == 302
    told = set(db.session.scalars(select(Notification.account_id).where(Notification.text.contains("提交了整改方案"))))
    assert told == {world.city_officer.id}
