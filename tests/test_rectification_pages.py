"""The chair's page (per campaign: what is open, due when) and the officer's page (subtree, counts, overdue first)."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalapp.campaigns.models import SubjectKind
from evalapp.core.db import db
from evalapp.core.timeutil import local_today
from evalapp.rectification.models import Rectification, RectificationState
from tests.factories import drive_rectification, make_campaign, published_rectification


def add_items(campaign, specs):
    """Add items directly: (problem, state, days until the deadline or None)."""
    today = local_today()
    for problem, state, days in specs:
        item = Rectification(campaign=campaign, problem=problem, state=state,
                             due_date=today + timedelta(days=days if days is not None else 30))
        if state == RectificationState.in_progress:
            item.plan, item.plan_responsible = "措施", "主席"
            item.plan_target_date = today + timedelta(days=days)
        db.session.add(item)
    db.session.commit()


@pytest.fixture
def items(world):
    campaign = make_campaign(world, "published")        # no votes: no items from the result itself
    add_items(campaign, [
        ("问题C-月底到期", RectificationState.awaiting_plan, 30),
        ("问题A-逾期五天", RectificationState.awaiting_plan, -5),
        ("问题D-待审核", RectificationState.plan_submitted, None),
        ("问题B-三天后到期", RectificationState.in_progress, 3),
        ("问题E-退回后逾期一天", RectificationState.returned, -1),
        ("问题F-已公开", RectificationState.published, None),
    ])
    return campaign


def rows(page):
    return re.findall(r"问题[A-F]-[^<]*", page)


def test_the_officer_sees_overdue_first_then_the_nearest_deadline(world, login, items):
    response = login("county_officer").get("/rectifications/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert rows(page) == ["问题A-逾期五天", "问题E-退回后逾期一天", "问题B-三天后到期", "问题C-月底到期", "问题D-待审核"]
    assert "逾期 5 天" in page and "3 天后到期" in page and "方案待上级审核" in page


def test_the_officer_sees_counts_by_state(world, login, items):
    page = login("city_officer").get("/rectifications/").get_data(as_text=True)
    for label in ("未办结 5", "已逾期 2", "待提交整改方案 2", "方案待审核 1", "方案已退回 1", "整改中 1",
                  "整改结果已公开 1", "全部 6"):
        assert label in page, label


@pytest.mark.parametrize("state, expected", [
    ("overdue", ["问题A-逾期五天", "问题E-退回后逾期一天"]),
    ("published", ["问题F-已公开"]),
    ("plan_submitted", ["问题D-待审核"]),
    ("all", ["问题A-逾期五天", "问题E-退回后逾期一天", "问题B-三天后到期", "问题C-月底到期", "问题D-待审核",
             "问题F-已公开"]),
])
def test_the_officer_filters_by_state(world, login, items, state, expected):
    page = login("county_officer").get(f"/rectifications/?state={state}").get_data(as_text=True)
    assert rows(page) == expected


def test_the_officer_filters_by_union_within_the_subtree(world, login, items):
    other = make_campaign(world, "published", union=world.union_b, subject=SubjectKind.none)
    add_items(other, [("问题Z-乙公司", RectificationState.awaiting_plan, 10)])
    city = login("city_officer")
    assert "问题Z-乙公司" in city.get("/rectifications/").get_data(as_text=True)
    page = city.get(f"/rectifications/?union={world.county.id}").get_data(as_text=True)
    assert "问题Z-乙公司" not in page and "问题A-逾期五天" in page
    assert login("county_officer").get(f"/rectifications/?union={world.other_county.id}").status_code == 404
    other_page = login("other_officer").get("/rectifications/").get_data(as_text=True)
    assert "问题Z-乙公司" in other_page and "问题A" not in other_page


@pytest.mark.parametrize("query", ["state=bogus", "union=999999", "union=abc"])
def test_bad_filters_are_404(world, login, items, query):
    assert login("county_officer").get(f"/rectifications/?{query}").status_code == 404


def test_the_officers_list_is_paginated(world, login):
    campaign = make_campaign(world, "published")
    add_items(campaign, [(f"问题X{i:02d}", RectificationState.awaiting_plan, i) for i in range(35)])
    officer = login("county_officer")
    first = officer.get("/rectifications/").get_data(as_text=True)
    second = officer.get("/rectifications/?page=2").get_data(as_text=True)
    assert "第 1 / 2 页，共 35 项" in first
    assert "问题X00" in first and "问题X29" in first and "问题X30" not in first
    assert "问题X34" in second and "问题X00" not in second


def test_the_officers_page_costs_the_same_queries_for_few_or_many_items(app, world, login):
    from evalapp.campaigns.operations import create_campaign
    from evalapp.unions.models import UnionKind
    from evalapp.unions.operations import create_union

    officer = login("county_officer")

    def statements_for_page():
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            assert officer.get("/rectifications/?state=all").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)
        return count

    names = iter(range(1000))

    def campaigns(count):
        """Campaigns in unions of their own, so that nothing is shared between rows."""
        made = []
        for _ in range(count):
            union = create_union(f"丙{next(names)}公司工会", UnionKind.grassroots, world.town)
            made.append(create_campaign(world.county_officer, union, world.form, "评议", SubjectKind.chair))
        return made

    for campaign in campaigns(2):
        add_items(campaign, [("问题", RectificationState.awaiting_plan, -1), ("问题", RectificationState.in_progress, 3)])
    few = statements_for_page()
    for campaign in campaigns(25):
        add_items(campaign, [("问题", RectificationState.awaiting_plan, 2), ("问题", RectificationState.returned, -3)])
    assert statements_for_page() == few


def test_the_chair_sees_per_campaign_what_is_open_and_due_when(world, login, items):
    response = login("chair").get("/rectifications/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "本工会的整改事项" in page and items.title in page
    assert "5 项未办结，1 项已公开整改结果" in page
    for problem in ("问题A-逾期五天", "问题B-三天后到期", "问题C-月底到期", "问题D-待审核", "问题E-退回后逾期一天"):
        assert problem in page
    assert "问题F-已公开" not in page
    assert "逾期 5 天" in page
    assert "所辖范围的整改事项" not in page          # the chair is not an officer


@pytest.mark.parametrize("username", ["m1", "outsider"])
def test_members_have_no_tracking_page(world, login, items, username):
    assert login(username).get("/rectifications/").status_code == 404


def test_the_campaign_page_links_chair_and_officers_to_the_tracking_page(world, login):
    rectification = published_rectification(world)
    drive_rectification(world, rectification, "plan_submitted")
    for username in ("chair", "county_officer"):
        page = login(username).get(f"/campaigns/{rectification.campaign_id}").get_data(as_text=True)
        assert "/rectifications/" in page and "整改跟踪" in page
    assert "整改跟踪" not in login("m1").get(f"/campaigns/{rectification.campaign_id}").get_data(as_text=True)


def test_the_inbox_links_chairs_and_officers_to_their_lists(world, login):
    page = login("chair").get("/inbox").get_data(as_text=True)
    assert 'href="/suggestions"' in page and 'href="/rectifications/"' in page
    member_page = login("m1").get("/inbox").get_data(as_text=True)
    assert 'href="/suggestions"' in member_page and 'href="/rectifications/"' not in member_page


def test_the_chairs_home_lists_what_waits_for_them(world, login, items):
    from evalapp.campaigns import operations as campaign_ops
    from evalapp.duty_reports.operations import save_report
    from evalapp.suggestions.operations import add_suggestion, respond

    announced = campaign_ops.create_campaign(world.county_officer, world.union_a, world.form, "2027年度述职评议",
                                             SubjectKind.chair)
    campaign_ops.start_reporting(announced, world.county_officer)
    suggestion = add_suggestion(items, world.members[0], "食堂饭菜品种太少")
    db.session.commit()

    chair = login("chair")
    home = chair.get("/").get_data(as_text=True)
    assert "待您处理" in home
    assert f'href="/campaigns/{announced.id}/report"' in home and "待您述职：2027年度述职评议" in home
    assert "1 条意见建议待答复" in home and f'href="/campaigns/{items.id}/suggestions"' in home
    # The chair's turn only, overdue first: a plan to write or redo, progress to report.
    assert re.findall(r"(?:提交整改方案|报告整改进展)：(问题[A-F])", home) == ["问题A", "问题E", "问题B", "问题C"]
    assert "逾期 5 天" in home and "逾期 1 天" in home

    save_report(announced, world.chair, "一年来的工作报告。")
    respond(suggestion, world.chair, "已与食堂商定每周新增两个菜品")
    db.session.commit()
    home = chair.get("/").get_data(as_text=True)
    assert "待您述职" not in home and "条意见建议待答复" not in home
    assert "问题A" in home

    assert "待您处理" not in login("m1").get("/").get_data(as_text=True)


def test_members_see_when_the_work_was_done_not_the_deadlines_officers_worked_to(world, login):
    item = drive_rectification(world, published_rectification(world), "published")
    db.session.commit()
    member = login("m1").get(f"/rectifications/{item.id}").get_data(as_text=True)
    assert "整改完成" in member and "结果公开" in member
    assert "整改方案提交期限" not in member and "已逾期" not in member
    for page in (f"/campaigns/{item.campaign_id}", f"/campaigns/{item.campaign_id}/result"):
        assert "方案提交期限" not in login("m1").get(page).get_data(as_text=True), page
        assert "方案提交期限" in login("chair").get(page).get_data(as_text=True), page
    assert "整改方案提交期限" in login("chair").get(f"/rectifications/{item.id}").get_data(as_text=True)


def test_members_follow_the_deadlines_of_work_under_way(world, login):
    item = drive_rectification(world, published_rectification(world), "in_progress")
    db.session.commit()
    page = login("m1").get(f"/rectifications/{item.id}").get_data(as_text=True)
    assert f"整改完成时限：{item.plan_target_date}" in page and "结果公开" not in page
