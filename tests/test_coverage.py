"""Coverage (who had to be evaluated this year, and was) and the yearly figures, on a hand-built tree.

Under 新会区 (county): 会城街道 (town, required) with 甲公司工会 (6 members, other sector: not required),
大企业 (non-public, 100 roster + its chair = 101: required), 线上企业 (non-public, exactly 100: required),
小企业 (non-public, 99: not required), 国企 (state-owned, 150: not required); and 司前镇 (town, 10
members. This year: 甲's chair evaluation (5 of 6 voted) and 大企业's are published, and a
survey of 司前镇; 司前镇's chair evaluation was published last year.
"""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, update

from evalapp.campaigns.models import Campaign, SubjectKind
from evalapp.core.db import db
from evalapp.core.timeutil import local_today, utcnow
from evalapp.coverage.operations import coverage, coverage_list, yearly_figures
from evalapp.rectification.models import Rectification
from evalapp.suggestions import operations as suggestion_ops
from evalapp.unions.models import UnionKind
from tests.builders import pdf_text
from tests.factories import make_account, make_campaign, make_questionnaire, make_union
from tests.test_result_pdf import VOTES


@pytest.fixture
def tree(world):
    t = SimpleNamespace(world=world)
    t.big = make_union(world.town, "大企业工会", sector="non_public_enterprise", members=100, chair="big_chair")
    t.line = make_union(world.town, "线上企业工会", sector="non_public_enterprise", members=100)
    t.small = make_union(world.town, "小企业工会", sector="non_public_enterprise", members=99)
    t.soe = make_union(world.town, "国企工会", sector="state_owned_enterprise", members=150)
    t.siqian = make_union(world.county, "司前镇总工会", kind=UnionKind.town, members=10)
    siqian_chair = make_account("siqian_chair", "司前镇主席", member_of=t.siqian, chair_of=t.siqian)
    db.session.commit()
    t.a = make_campaign(world, "published", votes=VOTES)
    # Valid evaluations need their quorum: 1% here, so that two voters make a union of a hundred count.
    low_quorum = make_questionnaire(world.city, quorum_ratio="1%")
    big_voters = [make_account(f"big_voter{i}", f"大企业会员{i}", member_of=t.big) for i in (1, 2)]
    big_chair = db.session.query(type(world.chair)).filter_by(username="big_chair").one()
    t.big_campaign = make_campaign(SimpleNamespace(**{**vars(world), "chair": big_chair, "members": big_voters}),
                                   "published", union=t.big, form=low_quorum, votes=VOTES[:2])
    t.survey = make_campaign(world, "published", union=t.siqian, subject=SubjectKind.none)
    siqian_voter = make_account("siqian_voter", "司前镇会员", member_of=t.siqian)
    last_year = make_campaign(SimpleNamespace(**{**vars(world), "chair": siqian_chair, "members": [siqian_voter]}),
                              "published", union=t.siqian, form=low_quorum, votes=VOTES[:1])
    db.session.execute(update(Campaign).where(Campaign.id == last_year.id)
                       .values(published_at=utcnow().replace(year=utcnow().year - 1)))
    first = suggestion_ops.add_suggestion(t.a, world.members[0], "食堂太小")
    second = suggestion_ops.add_suggestion(t.a, world.members[1], "多组织活动")
    suggestion_ops.respond(first, world.chair, "明年扩建")
    assert second.response is None
    db.session.execute(update(Rectification).where(Rectification.campaign_id == t.a.id)
                       .values(due_date=local_today() - timedelta(days=2)))
    db.session.commit()
    t.year = local_today().year
    return t


def test_coverage_counts_required_unions_and_their_published_chair_evaluations(tree):
    world = tree.world
    summary = coverage(world.county, tree.year)
    assert (summary.required, summary.evaluated) == (4, 1)
    gaps, count = coverage_list(world.county, tree.year, evaluated=False)
    assert count == 3
    assert {row.union.name: (row.county.name, row.town and row.town.name) for row in gaps} == {
        "会城街道总工会": ("新会区总工会", None), "线上企业工会": ("新会区总工会", "会城街道总工会"),
        "司前镇总工会": ("新会区总工会", None)}
    covered, _count = coverage_list(world.county, tree.year, evaluated=True)
    assert [(row.union.name, row.campaign.id, row.result.turnout) for row in covered] == [
        ("大企业工会", tree.big_campaign.id, 2)]
    # Last year only 司前镇 was evaluated (a survey this year does not count for it).
    last = coverage(world.county, tree.year - 1)
    assert (last.required, last.evaluated) == (4, 1)
    assert [row.union.name for row in coverage_list(world.county, tree.year - 1, evaluated=True)[0]] == ["司前镇总工会"]
    # The other county has nothing required.
    assert coverage(world.other_county, tree.year).required == 0


def test_the_rule_comes_from_the_configuration(app, tree):
    app.config["COVERAGE_RULES"] = {"kinds": [], "sectors": ["non_public_enterprise", "state_owned_enterprise"],
                                    "min_members": 99}
    try:
        summary = coverage(tree.world.county, tree.year)
        assert (summary.required, summary.evaluated) == (4, 1)  # 大, 线上, 小, 国企; no towns
    finally:
        del app.config["COVERAGE_RULES"]


def test_yearly_figures_of_the_subtree_and_each_child(tree):
    total, children = yearly_figures(tree.world.county, tree.year)
    assert (total.campaigns, total.electorate, total.turnout) == (3, 5 + 102 + 11, 7)
    assert (total.suggestions, total.answered, total.rectifications, total.overdue) == (2, 1, 1, 1)
    assert (total.required, total.evaluated) == (4, 1)
    by_name = {f.name: f for f in children}
    assert list(by_name) == sorted(by_name)
    town = by_name["会城街道总工会"]
    assert (town.campaigns, town.electorate, town.turnout, town.suggestions, town.overdue) == (2, 107, 7, 2, 1)
    assert (town.required, town.evaluated) == (3, 1)
    siqian = by_name["司前镇总工会"]
    assert (siqian.campaigns, siqian.electorate, siqian.turnout, siqian.required, siqian.evaluated) == (1, 11, 0, 1, 0)


def test_the_pages_and_the_pdf_show_the_figures(tree, login, tmp_path):
    client = login("county_officer")
    page = client.get("/coverage").get_data(as_text=True)  # defaults: the officer's county, this year
    assert "新会区总工会" in page and "覆盖率 25.0%" in page and "线上企业工会" in page and "大企业工会" not in page
    covered = client.get(f"/coverage?union={tree.world.county.id}&show=covered").get_data(as_text=True)
    assert "大企业工会" in covered and "线上企业工会" not in covered
    yearly = client.get(f"/coverage/yearly?union={tree.world.county.id}&year={tree.year}").get_data(as_text=True)
    assert "会城街道总工会" in yearly and "司前镇总工会" in yearly
    response = client.get(f"/coverage/yearly.pdf?union={tree.world.county.id}&year={tree.year}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "yearly.pdf"
    path.write_bytes(response.data)
    text = "".join(pdf_text(path).split())
    assert f"新会区总工会{tree.year}年度评议统计" in text
    for heading in ("公布评议", "应参评", "实参评", "参评率", "意见建议", "已回应", "已评议/应评议", "覆盖率", "整改事项", "逾期",
                    "生成时间"):
        assert heading in text, heading
    assert "新会区总工会311875.9%211/425.0%11" in text  # the total row
    assert "会城街道总工会210776.5%211/333.3%11" in text
    assert "司前镇总工会11100.0%000/10.0%00" in text
    assert "第1页/共1页" in text


def test_the_covered_list_names_campaign_and_grade_and_the_gaps_their_county_and_town(tree, login):
    client = login("county_officer")
    covered = client.get(f"/coverage?union={tree.world.county.id}&show=covered").get_data(as_text=True)
    assert f"/campaigns/{tree.big_campaign.id}" in covered and "2026年度述职评议" in covered
    assert "不公布（参评不足 5 人）" in covered  # valid (2 of 102, quorum 1%), too few to show figures
    gaps = client.get(f"/coverage?union={tree.world.county.id}").get_data(as_text=True)
    assert "所属县（市、区）" in gaps and "所属镇（街）" in gaps
    # The town's page: only its subtree (the town itself, 大企业 and 线上企业 are required; 大企业 was evaluated).
    town = client.get(f"/coverage?union={tree.world.town.id}").get_data(as_text=True)
    assert "覆盖率 33.3%" in town and "线上企业工会" in town and "司前镇总工会" not in town


def test_an_unpublished_chair_evaluation_does_not_count(tree):
    world = tree.world
    chair = make_account("line_chair", member_of=tree.line, chair_of=tree.line)
    db.session.commit()
    make_campaign(SimpleNamespace(**{**vars(world), "chair": chair}), "closed", union=tree.line)
    summary = coverage(world.county, tree.year)
    assert (summary.required, summary.evaluated) == (4, 1)


def test_a_void_evaluation_leaves_the_union_to_evaluate_and_says_why(tree, login):
    world = tree.world
    chair = make_account("line_chair", "线上主席", member_of=tree.line, chair_of=tree.line)
    db.session.commit()
    void = make_campaign(SimpleNamespace(**{**vars(world), "chair": chair}), "published", union=tree.line)  # nobody voted
    assert not void.result.quorum_met
    assert (coverage(world.county, tree.year).required, coverage(world.county, tree.year).evaluated) == (4, 1)
    gaps, _count = coverage_list(world.county, tree.year, evaluated=False)
    assert {row.union.name: row.void for row in gaps}["线上企业工会"] is True
    assert {row.union.name: row.void for row in gaps}["司前镇总工会"] is False
    page = login("county_officer").get("/coverage").get_data(as_text=True)
    assert "本年度评议因参评人数未达法定人数而无效，需重新评议" in page


def test_the_pages_cost_the_same_queries_for_more_unions(tree, login):
    client = login("county_officer")
    paths = [f"/coverage?union={tree.world.county.id}", f"/coverage?union={tree.world.county.id}&show=covered",
             f"/coverage/yearly?union={tree.world.county.id}"]

    def counts():
        statements = []

        def listener(*_args):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            for path in paths:
                assert client.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    before = counts()
    for i in range(12):
        town = make_union(tree.world.county, f"新镇{i}总工会", kind=UnionKind.town)
        make_union(town, f"新企业{i}工会", sector="non_public_enterprise", members=100)
    db.session.commit()
    assert counts() == before


@pytest.mark.parametrize("username", ["admin", "city_officer", "county_officer"])
def test_officers_above_and_admins_see_the_county(tree, login, username):
    client = login(username)
    county = tree.world.county.id
    for path in (f"/coverage?union={county}", f"/coverage/yearly?union={county}"):
        response = client.get(path)
        assert response.status_code == 200 and "新会区总工会" in response.get_data(as_text=True), path
    assert client.get(f"/coverage/yearly.pdf?union={tree.world.town.id}").status_code == 200


def test_by_default_each_sees_the_top_of_their_own_scope(tree, login, client):
    assert "江门市总工会 " in login("admin").get("/coverage").get_data(as_text=True)
    assert "新会区总工会 " in login("county_officer").get("/coverage/yearly").get_data(as_text=True)
    response = client.get("/coverage")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["other_officer", "chair", "m1", "outsider"])
def test_others_get_not_found(tree, login, username):
    client = login(username)
    county = tree.world.county.id
    for path in (f"/coverage?union={county}", f"/coverage/yearly?union={county}", f"/coverage/yearly.pdf?union={county}"):
        assert client.get(path).status_code == 404, path
    if username != "other_officer":
        assert client.get("/coverage").status_code == 404
        assert "覆盖与统计" not in client.get("/").get_data(as_text=True)


def test_a_county_officer_cannot_climb_to_the_city(tree, login):
    client = login("county_officer")
    assert client.get(f"/coverage?union={tree.world.city.id}").status_code == 404
    assert client.get(f"/coverage/yearly.pdf?union={tree.world.other_county.id}").status_code == 404


@pytest.mark.parametrize("query", ["year=abc", "year=99999", "year=1999", "year=２０２６", "year=-1"])
def test_a_bad_year_gets_a_message(tree, login, query):
    for path in ("/coverage", "/coverage/yearly", "/coverage/yearly.pdf"):
        response = login("city_officer").get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert "年度应为 2000 至" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["union=999999", "union=abc", "union=99999999999", "union=-3", "union=1.5"])
def test_a_bad_union_is_not_found(tree, login, query):
    for path in ("/coverage", "/coverage/yearly", "/coverage/yearly.pdf"):
        assert login("city_officer").get(f"{path}?{query}").status_code == 404, path


def test_other_bad_parameters_fall_back_to_the_first_page(tree, login):
    client = login("city_officer")
    for query in ("page=-3", "page=abc", "page=99999999999999999999", "show=x"):
        response = client.get(f"/coverage?{query}")
        assert response.status_code == 200 and "覆盖率" in response.get_data(as_text=True), query
    assert "江门市总工会" in client.get("/coverage/yearly").get_data(as_text=True)
