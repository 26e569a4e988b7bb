"""Evaluating an organisation (a government department) by every member of a subtree."""
from sqlalchemy import select, update

from evalapp.campaigns.models import Campaign, CampaignState, ElectorateEntry, SubjectKind
from evalapp.core.db import db
from evalapp.unions.models import Member
from evalapp.voting import participation
from tests.factories import add_roster, ballot_form, make_union


def create(officer, world, **overrides):
    data = {"title": "职工评议区人社局", "subject_kind": "organisation", "subject_name": "新会区人力资源和社会保障局",
            "electorate_scope": "subtree", "template_id": world.form.id, **overrides}
    return officer.post(f"/unions/{world.county.id}/campaigns/new", data=data)


def test_an_organisation_needs_a_name(world, login):
    response = create(login("county_officer"), world, subject_name="  ")
    assert response.status_code == 400 and "请填写被评议的单位或部门名称" in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign)) is None


def test_the_whole_subtree_votes_and_members_find_it_on_their_list(world, login):
    union_c = make_union(world.town, "丙公司工会", members=3)
    add_roster(union_c, 2, active=False, prefix="已离开")
    officer = login("county_officer")
    assert create(officer, world).status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert campaign.subject_kind == SubjectKind.organisation
    assert officer.post(f"/campaigns/{campaign.id}/actions/open").status_code == 302  # no report: opens from draft
    db.session.refresh(campaign)
    # 甲: the chair and five members (the chair votes too: they are not the subject); 丙: three active.
    assert campaign.state == CampaignState.open and campaign.electorate_size == 9
    entries = db.session.execute(select(ElectorateEntry.member_id, ElectorateEntry.union_id)
                                 .where(ElectorateEntry.campaign_id == campaign.id)).all()
    assert {union_id for _, union_id in entries} == {world.union_a.id, union_c.id}
    assert all(db.session.get(Member, member_id).union_id == union_id for member_id, union_id in entries)

    member = login("m1")
    assert "新会区人力资源和社会保障局" in member.get("/").get_data(as_text=True)
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302
    assert login("outsider").get(f"/campaigns/{campaign.id}").status_code == 404  # another county


def test_turnout_counts_members_where_they_were_when_voting_opened(world, login):
    union_c = make_union(world.town, "丙公司工会", members=3)
    officer = login("county_officer")
    create(officer, world)
    campaign = db.session.scalar(select(Campaign))
    officer.post(f"/campaigns/{campaign.id}/actions/open")
    # A member moves from 甲 to 丙 after the snapshot: the snapshot keeps them under 甲.
    db.session.execute(update(Member).where(Member.id == world.members[0].member.id).values(union_id=union_c.id))
    db.session.commit()
    counts = {row.union_id: row.electorate for row in participation.by_union(campaign)}
    assert counts == {world.union_a.id: 6, union_c.id: 3}
