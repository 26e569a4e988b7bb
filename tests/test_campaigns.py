"""The campaign lifecycle, driven by an officer through the web, and its refusals."""
import pytest

from evalapp.campaigns.models import (
    Campaign,
    CampaignState,
    ElectorateEntry,
    SubjectKind,
)
from evalapp.core.db import db
from evalapp.unions.operations import add_member
from tests.factories import ballot_form, make_account, make_campaign


def test_officer_walks_a_campaign_from_draft_to_archive(world, login):
    officer, chair, member = login("county_officer"), login("chair"), login("m1")
    response = officer.post(f"/unions/{world.union_a.id}/campaigns/new", data={
        "title": "2026年度主席述职评议", "subject_kind": "chair", "subject_name": "",
        "electorate_scope": "union", "template_id": world.form.id})
    assert response.status_code == 302
    campaign = db.session.scalar(db.select(Campaign))
    assert campaign.state == CampaignState.draft and campaign.subject_name == "甲公司工会主席"
    assert member.get(f"/campaigns/{campaign.id}").status_code == 404  # drafts are not shown to members

    officer.post(f"/campaigns/{campaign.id}/actions/start_reporting")
    assert chair.post(f"/campaigns/{campaign.id}/report", data={"body": "今年办了三件实事。"}).status_code == 302
    assert "今年办了三件实事" in member.get(f"/campaigns/{campaign.id}").get_data(as_text=True)

    officer.post(f"/campaigns/{campaign.id}/actions/open")
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.open
    assert campaign.electorate_size == 5  # the chair does not evaluate themselves
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302
    page = officer.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "已参评" in page and "1 人" in page

    for action, state in (("close", "closed"), ("publish", "published"), ("archive", "archived")):
        assert officer.post(f"/campaigns/{campaign.id}/actions/{action}").status_code == 302
        db.session.refresh(campaign)
        assert campaign.state == state
    assert member.get(f"/campaigns/{campaign.id}/result").status_code == 200


@pytest.mark.parametrize("state, action", [("draft", "close"), ("reporting", "publish"), ("open", "publish"),
                                           ("closed", "open"), ("published", "close")])
def test_transitions_out_of_order_are_refused_and_change_nothing(world, login, state, action):
    campaign = make_campaign(world, state)
    response = login("county_officer").post(f"/campaigns/{campaign.id}/actions/{action}", follow_redirects=True)
    assert "不能转为" in response.get_data(as_text=True)  # shown on the campaign page
    db.session.refresh(campaign)
    assert campaign.state == state


def test_voting_cannot_open_before_the_chair_has_reported(world, login):
    campaign = make_campaign(world, "draft")
    officer = login("county_officer")
    officer.post(f"/campaigns/{campaign.id}/actions/start_reporting")
    response = officer.post(f"/campaigns/{campaign.id}/actions/open", follow_redirects=True)
    assert "尚未提交述职报告" in response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.reporting and campaign.electorate_size is None


def test_a_survey_without_a_subject_opens_straight_from_draft(world, login):
    campaign = make_campaign(world, "draft", subject=SubjectKind.none)
    assert login("county_officer").post(f"/campaigns/{campaign.id}/actions/open").status_code == 302
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.open and campaign.electorate_size == 6  # the chair is a member too


def test_the_report_is_locked_once_voting_opens(world, login):
    campaign = make_campaign(world, "open")
    response = login("chair").post(f"/campaigns/{campaign.id}/report", data={"body": "偷偷改一下。"})
    assert response.status_code == 409 and "述职报告已锁定" in response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.report.body == "<p>一年来的工作报告。</p>"


def test_only_the_chair_of_the_union_writes_the_report(world, login):
    campaign = make_campaign(world, "reporting")
    for username in ("m1", "county_officer", "outsider"):
        assert login(username).post(f"/campaigns/{campaign.id}/report", data={"body": "x"}).status_code == 404
    db.session.refresh(campaign)
    assert campaign.report.body == "<p>一年来的工作报告。</p>"


def test_officers_outside_the_subtree_and_other_members_see_nothing(world, login):
    campaign = make_campaign(world, "open")
    for username in ("other_officer", "outsider"):
        client = login(username)
        assert client.get(f"/campaigns/{campaign.id}").status_code == 404
        assert client.post(f"/campaigns/{campaign.id}/actions/close").status_code == 404
        assert "2026年度述职评议" not in client.get("/").get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.open


def test_a_member_cannot_drive_the_lifecycle(world, login):
    campaign = make_campaign(world, "open")
    assert login("m1").post(f"/campaigns/{campaign.id}/actions/close").status_code == 404
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.open


def test_unknown_action_and_ids_are_404(world, login):
    campaign = make_campaign(world, "draft")
    officer = login("county_officer")
    assert officer.post(f"/campaigns/{campaign.id}/actions/explode").status_code == 404
    assert officer.get("/campaigns/999999").status_code == 404
    assert officer.get("/unions/999999/campaigns/new").status_code == 404


def test_the_electorate_is_fixed_when_voting_opens(world, login):
    campaign = make_campaign(world, "open")
    latecomer = make_account("late", "新会员")
    add_member(world.union_a, "新会员", account=latecomer)
    db.session.commit()
    response = login("late").get(f"/campaigns/{campaign.id}/vote")
    assert response.status_code == 404  # not in the electorate: the campaign is not even visible
    assert db.session.get(ElectorateEntry, (campaign.id, latecomer.member.id)) is None


def test_creating_a_campaign_with_bad_input_changes_nothing(world, login):
    officer = login("county_officer")
    url = f"/unions/{world.union_a.id}/campaigns/new"
    base = {"title": "评议", "subject_kind": "chair", "electorate_scope": "union", "template_id": world.form.id}
    assert officer.post(url, data={**base, "title": ""}).status_code == 400
    assert officer.post(url, data={**base, "subject_kind": "king"}).status_code == 400
    assert officer.post(url, data={**base, "template_id": "999999"}).status_code == 400
    closes_first = {**base, "opens_at": "2026-12-02T09:00", "closes_at": "2026-12-01T09:00"}
    response = officer.post(url, data=closes_first)
    assert response.status_code == 400 and "截止时间必须晚于开始时间" in response.get_data(as_text=True)
    assert login("other_officer").post(url, data=base).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Campaign)) == 0


def test_window_is_entered_in_beijing_time_and_stored_in_utc(world, login):
    login("county_officer").post(f"/unions/{world.union_a.id}/campaigns/new", data={
        "title": "评议", "subject_kind": "chair", "electorate_scope": "union", "template_id": world.form.id,
        "opens_at": "2026-12-01T09:00", "closes_at": "2026-12-08T18:00"})
    campaign = db.session.scalar(db.select(Campaign))
    assert campaign.opens_at.isoformat() == "2026-12-01T01:00:00"
    assert campaign.closes_at.isoformat() == "2026-12-08T10:00:00"


def test_a_second_click_on_a_stale_page_changes_the_state_only_once(world):
    from sqlalchemy import text

    from evalapp.campaigns.operations import open_voting
    from evalapp.core.errors import Refused

    campaign = make_campaign(world, "reporting")
    with db.engine.begin() as connection:  # another officer's request opened it meanwhile
        connection.execute(text("UPDATE campaigns SET state = 'open' WHERE id = :id"), {"id": campaign.id})
    with pytest.raises(Refused, match="不能转为"):
        open_voting(campaign, world.county_officer)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(ElectorateEntry)) == 0
