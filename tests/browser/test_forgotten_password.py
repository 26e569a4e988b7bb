"""A member who forgot the password votes the same day, and no single officer can do it for them:
the code the county officer prints works only once an officer of the city federation confirms it."""
from playwright.sync_api import expect
from sqlalchemy import func, select

from evalapp.core.db import db
from evalapp.voting.models import Ballot
from tests.browser.conftest import DESKTOP
from tests.factories import make_campaign

NEW_PASSWORD = "Qiaoxiang-Vote-2026!"


def activate(phone, member_phone, code, second_code=None):
    page = phone.page
    phone.open("/activate")
    phone.type_into(page.get_by_label("手机号"), member_phone)
    phone.type_into(page.get_by_label("激活码（见工会发放的激活单）"), code)
    if second_code:
        phone.type_into(page.get_by_label("确认码（仅在评议期间需要：由上级工会工作人员电话告知）"), second_code)
    phone.type_into(page.get_by_label("设置密码（至少 8 位）"), NEW_PASSWORD)
    phone.type_into(page.get_by_label("再次输入密码"), NEW_PASSWORD)
    phone.tap(page.get_by_role("button", name="激活并登录"))


def test_a_reset_during_voting_needs_an_officer_above_and_then_the_member_votes(world, open_visit, phone):
    campaign = make_campaign(world, "open")
    member = world.members[0].member
    member.phone = "13900139301"
    db.session.commit()

    county = open_visit(device=DESKTOP)
    county.open(f"/unions/{world.union_a.id}")
    county.log_in("county_officer")
    row = county.page.get_by_role("row").filter(has_text=member.name)
    county.tap(row.get_by_role("button", name="重置密码"))
    expect(county.page.get_by_text("此激活码须经上级工会工作人员确认后才能使用").first).to_be_visible()
    code = county.page.locator(".code").inner_text().strip()
    county.screenshot("reset-01-held-sheet")

    activate(phone, member.phone, code)
    expect(phone.page.get_by_text("此激活码须经上级工会工作人员确认后才能使用")).to_be_visible()
    assert phone.fits_width()
    phone.screenshot("reset-02-member-waits")

    city = open_visit()  # the officer above confirms from a phone
    city.open("/confirmations")
    city.log_in("city_officer")
    city.tap(city.page.get_by_label(member.name, exact=False))
    city.screenshot("reset-03-confirmations")
    city.tap(city.page.get_by_role("button", name="确认所选激活码"))
    expect(city.page.get_by_text("已确认 1 个激活码")).to_be_visible()
    second_code = city.page.locator(".code").inner_text().strip()
    city.screenshot("reset-04-second-code")

    # The city officer phones the member with the second code; the slip alone does not open the account.
    activate(phone, member.phone, code, second_code)
    expect(phone.page.get_by_text("账号已激活，欢迎使用。")).to_be_visible()
    phone.open(f"/campaigns/{campaign.id}/vote")
    phone.answer_every_item()
    phone.tap(phone.page.get_by_role("button", name="提交评议"))
    expect(phone.page.get_by_role("heading", name="评议已提交，谢谢您！")).to_be_visible()
    assert db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.campaign_id == campaign.id)) == 1
