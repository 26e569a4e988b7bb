"""An officer on a phone closes voting, looks at the result only officers can see yet, then publishes it;
each step that cannot be undone first says what will happen."""
import re

from playwright.sync_api import expect

from evalapp.campaigns.models import CampaignState
from evalapp.core.db import db
from tests.factories import make_campaign

VOTES = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]
SIGNED_IN = re.compile(r"^(?!.*/login)")


def test_an_officer_closes_reviews_and_publishes_a_result_from_a_phone(world, open_visit):
    campaign = make_campaign(world, "open", votes=VOTES)
    officer = open_visit()
    page = officer.page
    officer.open("/login")
    officer.log_in(world.county_officer.username)
    page.wait_for_url(SIGNED_IN)
    officer.open(f"/campaigns/{campaign.id}")

    officer.tap(page.get_by_role("link", name="截止评议"))
    expect(page.get_by_role("heading", name="确认截止评议")).to_be_visible()
    expect(page.get_by_text("目前已参评 5 人")).to_be_visible()
    assert officer.fits_width()
    officer.screenshot("officer-10-confirm-close")
    officer.tap(page.get_by_role("button", name="确认截止评议"))
    expect(page.get_by_text("评议已截止，共 5 人参评。结果已统计")).to_be_visible()

    officer.tap(page.get_by_role("link", name="查看评议结果（预览）"))
    expect(page.get_by_text("这是预览")).to_be_visible()
    assert officer.fits_width()
    label_heights = page.locator("svg.rates-chart text").evaluate_all(
        "labels => labels.map(label => label.getBoundingClientRect().height)")
    assert label_heights and min(label_heights) >= 12, label_heights        # readable on a 390 px phone
    officer.screenshot("officer-11-result-preview")

    member = open_visit()
    member.open("/login")
    member.log_in(world.members[0].username)
    member.page.wait_for_url(SIGNED_IN)
    member.open(f"/campaigns/{campaign.id}/result")
    expect(member.page.get_by_role("heading", level=1)).to_contain_text("页面不存在")

    officer.tap(page.get_by_role("link", name="公布结果"))
    expect(page.get_by_role("heading", name="确认公布结果")).to_be_visible()
    expect(page.get_by_text("公布后不能撤回，也不能重新统计。")).to_be_visible()
    officer.screenshot("officer-12-confirm-publish")
    officer.tap(page.get_by_role("button", name="确认公布结果"))
    expect(page.get_by_text("结果已公布，已通知 5 位参评会员。")).to_be_visible()
    db.session.expire_all()
    assert campaign.state == CampaignState.published
    member.open(f"/campaigns/{campaign.id}/result")
    expect(member.page.get_by_role("heading", level=1)).to_contain_text("评议结果")
