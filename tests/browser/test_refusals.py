"""What a member sees on the phone when the vote link cannot take a ballot: a plain reason, no form."""
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import func, select

from evalapp.core.db import db
from evalapp.voting.models import Ballot
from tests.factories import make_campaign


def open_vote_link_and_log_in(phone, campaign_id, username):
    """Follow the voting link of a chat message while logged out, log in, and return the page's status."""
    link = f"/campaigns/{campaign_id}/vote"
    phone.open(link)
    with phone.page.expect_response(lambda response: urlsplit(response.url).path == link) as answer:
        phone.log_in(username)
    return answer.value.status


def assert_refused(phone, message, screenshot):
    page = phone.page
    expect(page.get_by_text(message)).to_be_visible()
    expect(page.get_by_role("button", name="提交评议")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)
    assert phone.fits_width()
    phone.screenshot(screenshot)
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_a_closed_campaign_says_voting_has_ended(world, phone):
    campaign = make_campaign(world, "closed")
    assert open_vote_link_and_log_in(phone, campaign.id, world.members[0].username) == 409
    assert_refused(phone, "本次评议已截止投票。", "refusal-closed")
    expect(phone.page.get_by_role("link", name="返回活动页面")).to_be_visible()


def test_someone_outside_the_electorate_is_told_so(world, phone):
    campaign = make_campaign(world, "open")
    # The chair sees the campaign (it evaluates them) but is not on the list of those who evaluate.
    assert open_vote_link_and_log_in(phone, campaign.id, world.chair.username) == 403
    assert_refused(phone, "您不在本次评议的参评名单中。", "refusal-not-in-electorate")


def test_a_member_of_another_union_learns_nothing_about_the_campaign(world, phone):
    campaign = make_campaign(world, "open")
    assert open_vote_link_and_log_in(phone, campaign.id, world.outsider.username) == 404
    assert_refused(phone, "您要找的页面不存在，或您无权查看。", "refusal-outsider")
    expect(phone.page.get_by_text(campaign.title)).to_have_count(0)
