"""Turnout while voting is open: numbers by union against independent counts, non-voter lists with
names only, formula-safe CSV, and nobody but the officers and the chair sees any of it."""
import csv
import io
import re

import pytest
from sqlalchemy import insert, select

from evalapp.campaigns.batches import BatchSpec, create_batch, select_unions
from evalapp.campaigns.models import BatchRule, Campaign, ElectorateScope, SubjectKind
from evalapp.campaigns.operations import create_campaign, open_voting
from evalapp.core.db import db
from evalapp.unions.models import Member, UnionKind
from evalapp.unions.operations import add_member
from evalapp.voting import participation
from tests.factories import add_roster, make_account, make_campaign, make_union, vote

FORMULAS = ["=HYPERLINK(\"http://example.com\")", "+8613800000000", "-2+3", "@SUM(A1:A9)"]


@pytest.fixture
def county_vote(world):
    """A county-wide evaluation of a government department, open, three of eleven voted."""
    world = world
    world.town2 = make_union(world.county, "大泽镇总工会", UnionKind.town)
    world.union_c = make_union(world.town2, "丙公司工会")
    world.c_members = [make_account(f"c{i}", name, member_of=world.union_c) for i, name in enumerate(["丙一", "丙二", "丙三"], 1)]
    add_roster(world.union_c, 2, prefix="丙员工")
    add_roster(world.union_a, 1, active=False, prefix="已离开")
    world.org = create_campaign(world.county_officer, world.county, world.form, "评议新会区人社局", SubjectKind.organisation,
                            "新会区人力资源和社会保障局", ElectorateScope.subtree)
    open_voting(world.org, world.county_officer)
    world.voters = [world.members[0], world.members[1], world.c_members[0]]
    for account in world.voters:
        vote(world.org, account, [1, 1, 1])
    late = make_account("late", "后来者")
    add_member(world.union_a, "后来者", account=late)  # joined after voting opened: not in the electorate
    db.session.commit()
    return world


def expected_by_union(world):
    """Count independently from the rosters as they were at opening and the accounts that voted."""
    voted_ids = {account.member.id for account in world.voters}
    expected = {}
    for union in (world.union_a, world.union_c):
        members = [m for m in db.session.scalars(select(Member).where(Member.union_id == union.id))
                   if m.active and m.name != "后来者"]
        expected[union.id] = (len(members), sum(1 for m in members if m.id in voted_ids))
    return expected


def table_rows(page, heading):
    section = page.split(heading, 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>(?:<a [^>]*>)?([^<]+)(?:</a>)?</td>\s*<td class=\"num\">(\d+)</td>"
                      r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>\s*<td class=\"num\">([^<]+)</td>", section)


def test_turnout_by_union_matches_independent_counts_lowest_rate_first(county_vote, login):
    world = county_vote
    expected = expected_by_union(world)
    rows = participation.by_union(world.org)
    assert {r.union_id: (r.electorate, r.voted) for r in rows} == expected == {world.union_a.id: (6, 2), world.union_c.id: (5, 1)}
    assert [r.union_id for r in rows] == [world.union_c.id, world.union_a.id]  # 20% before 33%

    page = login("county_officer").get(f"/campaigns/{world.org.id}/turnout").get_data(as_text=True)
    assert "应参评</dt><dd>11 人" in page and "已参评</dt><dd>3 人（27.3%）" in page
    assert table_rows(page, "按工会") == [("丙公司工会", "5", "1", "4", "20.0%"), ("甲公司工会", "6", "2", "4", "33.3%")]
    # One line per town of the county.
    assert table_rows(page, "按下一级工会汇总") == [("大泽镇总工会", "5", "1", "4", "20.0%"),
                                                  ("会城街道总工会", "6", "2", "4", "33.3%")]
    assert "满意" not in page  # no partial result of any kind, only who voted


def test_the_non_voter_list_holds_the_electorate_minus_the_voters_names_only(county_vote, login):
    world = county_vote
    officer = login("county_officer")
    page = officer.get(f"/campaigns/{world.org.id}/non-voters").get_data(as_text=True)
    names = re.findall(r"<td>[^<]+</td><td>([^<]+)</td></tr>", page)
    assert sorted(names) == sorted(["主席甲", "会员3", "会员4", "会员5", "丙二", "丙三", "丙员工1", "丙员工2"])
    assert "未参评 8 人" in page
    assert not any(m.phone and m.phone in page for m in db.session.scalars(select(Member)))

    page = officer.get(f"/campaigns/{world.org.id}/non-voters?union={world.union_c.id}").get_data(as_text=True)
    assert sorted(re.findall(r"<td>丙公司工会</td><td>([^<]+)</td>", page)) == sorted(["丙二", "丙三", "丙员工1", "丙员工2"])
    assert "甲公司工会</td>" not in page and "未参评 4 人" in page

    vote(world.org, world.members[2], [1, 1, 1])  # 会员3 votes now: off the list at once
    db.session.commit()
    page = officer.get(f"/campaigns/{world.org.id}/non-voters").get_data(as_text=True)
    assert "<td>会员3</td>" not in page and "未参评 7 人" in page


def test_the_csv_is_the_same_list_and_formula_safe(county_vote, login):
    world = county_vote
    db.session.execute(insert(Member), [{"union_id": world.union_c.id, "name": name, "active": True} for name in FORMULAS])
    survey = make_campaign(world, "draft", union=world.union_c, subject=SubjectKind.none)
    open_voting(survey, world.county_officer)
    vote(survey, world.c_members[0], [1, 1, 1])
    db.session.commit()
    response = login("county_officer").get(f"/campaigns/{survey.id}/non-voters.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["工会", "姓名"]
    assert sorted(name for _, name in rows[1:]) == sorted(["丙二", "丙三", "丙员工1", "丙员工2"] + ["'" + f for f in FORMULAS])
    assert all(union == "丙公司工会" for union, _ in rows[1:])


def test_officers_list_only_unions_of_the_electorate(county_vote, login):
    world = county_vote
    far = make_union(world.other_county, "台城街道总工会", UnionKind.town, members=2)
    db.session.commit()
    outside = {"another county's union": world.union_b.id, "another county's town": far.id,
               "a town of the county without members of its own": world.town2.id, "the county itself": world.county.id,
               "no such union": 999999, "out of range": 2**40, "not a number": "x", "negative": -1}
    for username in ("county_officer", "city_officer"):  # the city officer manages the other county too
        officer = login(username)
        for what, union_id in outside.items():
            for path in ("non-voters", "non-voters.csv"):
                response = officer.get(f"/campaigns/{world.org.id}/{path}?union={union_id}")
                assert response.status_code == 404, (username, what, path)
                assert "乙公司工会" not in response.get_data(as_text=True)
        response = officer.get(f"/campaigns/{world.org.id}/non-voters.csv?union={world.union_c.id}")
        assert response.status_code == 200 and "丙二" in response.get_data(as_text=True)
        assert "未参评名单：丙公司工会" in officer.get(f"/campaigns/{world.org.id}/non-voters?union={world.union_c.id}").get_data(
            as_text=True)


def test_the_chair_sees_turnout_and_only_their_own_unions_list(world, login):
    world = world
    campaign = make_campaign(world, "open", votes=[[1, 1, 1], [2, 2, 2]])
    chair = login("chair")
    page = chair.get(f"/campaigns/{campaign.id}/turnout").get_data(as_text=True)
    assert "已参评</dt><dd>2 人（40.0%）" in page  # the chair is not in their own electorate
    page = chair.get(f"/campaigns/{campaign.id}/non-voters").get_data(as_text=True)
    assert sorted(re.findall(r"<td>甲公司工会</td><td>([^<]+)</td>", page)) == sorted(["会员3", "会员4", "会员5"])
    assert chair.get(f"/campaigns/{campaign.id}/non-voters?union={world.union_b.id}").status_code == 404
    assert chair.get(f"/campaigns/{campaign.id}/non-voters.csv?union={world.union_b.id}").status_code == 404
    assert chair.get(f"/campaigns/{campaign.id}/non-voters.csv").status_code == 200


@pytest.mark.parametrize("username", ["m1", "m3", "other_officer", "outsider"])
def test_members_and_other_officers_get_404(county_vote, login, username):
    world = county_vote
    chair_campaign = make_campaign(world, "open")
    client = login(username)
    for campaign in (world.org, chair_campaign):
        for path in ("turnout", "non-voters", "non-voters.csv", f"non-voters?union={world.union_a.id}"):
            assert client.get(f"/campaigns/{campaign.id}/{path}").status_code == 404


def test_the_chair_of_a_union_in_an_organisations_electorate_sees_no_turnout(county_vote, login):
    world = county_vote
    assert login("chair").get(f"/campaigns/{world.org.id}").status_code == 200  # a voter there
    assert login("chair").get(f"/campaigns/{world.org.id}/turnout").status_code == 404


def test_before_voting_opens_there_is_no_list(world, login):
    campaign = make_campaign(world, "reporting")
    officer = login("county_officer")
    assert "评议尚未开始" in officer.get(f"/campaigns/{campaign.id}/turnout").get_data(as_text=True)
    assert officer.get(f"/campaigns/{campaign.id}/non-voters").status_code == 404
    assert officer.get(f"/campaigns/{campaign.id}/non-voters.csv").status_code == 404


def test_long_lists_are_paginated_and_a_unions_list_fits_one_page(world, login):
    world = world
    add_roster(world.union_a, 250, prefix="员工")
    survey = make_campaign(world, "open", subject=SubjectKind.none, votes=[[1, 1, 1]])
    officer = login("county_officer")
    count_rows = lambda page: len(re.findall(r'<tr><td class="num">\d+</td>', page))  # noqa: E731
    first = officer.get(f"/campaigns/{survey.id}/non-voters").get_data(as_text=True)
    second = officer.get(f"/campaigns/{survey.id}/non-voters?page=2").get_data(as_text=True)
    assert "未参评 255 人" in first and "第 1 / 2 页" in first
    assert count_rows(first) == 200 and count_rows(second) == 55
    assert count_rows(officer.get(f"/campaigns/{survey.id}/non-voters?page=99").get_data(as_text=True)) == 55
    one_union = officer.get(f"/campaigns/{survey.id}/non-voters?union={world.union_a.id}").get_data(as_text=True)
    assert count_rows(one_union) == 255
    assert officer.get(f"/campaigns/{survey.id}/non-voters?union=999999").status_code == 404


def test_the_batch_page_shows_turnout_per_campaign(world, login):
    world = world
    union_c = make_union(world.town, "丙公司工会", members=4)
    spec = BatchSpec(title="问卷批次", template=world.form, rule=BatchRule.picked, subject_kind=SubjectKind.none,
                     params={"union_ids": [world.union_a.id, union_c.id]}, title_pattern="{工会}问卷")
    digest = select_unions(world.county_officer, world.town, spec).digest
    batch, _ = create_batch(world.county_officer, world.town, spec, "cd" * 16, digest)
    campaigns = {c.union_id: c for c in db.session.scalars(select(Campaign).where(Campaign.batch_id == batch.id))}
    for campaign in campaigns.values():
        open_voting(campaign, world.county_officer)
    for account in world.members[:3]:
        vote(campaigns[world.union_a.id], account, [1, 1, 1])
    db.session.commit()
    assert participation.for_batch(batch) == {campaigns[world.union_a.id].id: 3}
    page = login("county_officer").get(f"/batches/{batch.id}").get_data(as_text=True)
    assert "已开始评议的 2 个活动应参评 10 人，已参评 3 人（30.0%）" in page
    assert re.search(r"甲公司工会</a></td>\s*<td>.*?</td>\s*<td class=\"num\">6</td><td class=\"num\">3</td>"
                     r"<td class=\"num\">50.0%</td>", page)
    assert re.search(r"丙公司工会</a></td>\s*<td>.*?</td>\s*<td class=\"num\">4</td><td class=\"num\">0</td>"
                     r"<td class=\"num\">0.0%</td>", page)
