"""An officer of a county union creates one campaign per grassroots union of the county at once."""
from playwright.sync_api import expect
from sqlalchemy import select

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core.db import db
from evalapp.unions.models import UnionKind
from evalapp.unions.operations import create_union
from tests.browser.conftest import DESKTOP
from tests.factories import make_account


def test_an_officer_previews_and_creates_a_batch_on_a_desktop(world, open_visit):
    union_c = create_union("丙公司工会", UnionKind.grassroots, world.town)
    make_account("chair_c", "主席丙", member_of=union_c, chair_of=union_c)
    make_account("c1", "丙会员", member_of=union_c)
    union_d = create_union("丁公司工会", UnionKind.grassroots, world.town)  # has members, but no chair yet
    make_account("d1", "丁会员", member_of=union_d)
    db.session.commit()
    visit = open_visit(device=DESKTOP)
    page = visit.page

    visit.open("/login")
    visit.log_in(world.county_officer.username)
    visit.tap(page.get_by_role("link", name="工会与会员"))  # an officer of one union lands on its page
    expect(page.get_by_role("heading", level=1)).to_contain_text("新会区总工会")
    visit.tap(page.get_by_role("link", name="为下属工会批量发起评议"))
    expect(page.get_by_role("heading", name="批量发起评议")).to_be_visible()
    visit.type_into(page.get_by_label("批次名称"), "2026年度基层工会主席述职评议")
    visit.tap(page.get_by_label("某一类型的全部工会"))
    page.get_by_label("工会类型（按类型选择时）").select_option(label="基层工会")
    page.get_by_label("评议类型").select_option(label="工会主席述职评议")
    page.get_by_label("测评表").select_option(label="测评表（3 题）")
    visit.type_into(page.get_by_label("活动名称格式"), "2026年度{工会}主席述职评议")
    visit.screenshot("officer-01-batch-form")

    visit.tap(page.get_by_role("button", name="预览名单"))
    expect(page.get_by_role("heading", name="预览：将创建 2 个评议活动，跳过 1 个工会")).to_be_visible()
    chosen, skipped = page.locator("table").nth(0), page.locator("table").nth(1)
    expect(chosen.get_by_role("row", name="甲公司工会")).to_contain_text("主席甲")
    expect(chosen.get_by_role("row", name="丙公司工会")).to_contain_text("2026年度丙公司工会主席述职评议")
    expect(skipped.get_by_role("row", name="丁公司工会")).to_contain_text("尚未任命工会主席")
    expect(page.get_by_text("乙公司工会")).to_have_count(0)  # another county's union is never picked
    assert db.session.scalar(select(Campaign.id)) is None  # a preview creates nothing
    visit.screenshot("officer-02-batch-preview")

    visit.tap(page.get_by_role("button", name="确认创建 2 个评议活动"))
    expect(page.get_by_role("heading", name="2026年度基层工会主席述职评议")).to_be_visible()
    expect(page.get_by_text("已创建批次“2026年度基层工会主席述职评议”，共 2 个评议活动。")).to_be_visible()
    expect(page.get_by_role("link", name="甲公司工会")).to_be_visible()
    expect(page.get_by_role("link", name="丙公司工会")).to_be_visible()
    visit.screenshot("officer-03-batch-created")

    campaigns = db.session.execute(select(Campaign.union_id, Campaign.title, Campaign.state)).all()
    assert sorted(map(tuple, campaigns)) == sorted([
        (world.union_a.id, "2026年度甲公司工会主席述职评议", CampaignState.draft),
        (union_c.id, "2026年度丙公司工会主席述职评议", CampaignState.draft),
    ])
