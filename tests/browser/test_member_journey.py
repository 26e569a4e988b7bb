"""A member's way from the campaign link (what the QR poster carries) to a counted ballot, on a phone."""
import json
import re
import time

from playwright.sync_api import expect
from sqlalchemy import func, select

from evalapp.core.db import db
from evalapp.voting.models import Answer, Ballot, Participation
from tests.browser.conftest import SCREENSHOTS
from tests.factories import choices_for, make_campaign

#: The voting page with everything it loads, as transferred (DESIGN: phones on slow networks).
VOTING_PAGE_BUDGET = 50_000
#: Page loads and taps from the link to the receipt: the two-minute target leaves about ten seconds
#: per page on a slow network and a few seconds per tap. The taps are login (name, password, button),
#: 开始评议, one per question and 提交评议.
PAGE_LOAD_BUDGET = 4
EXTRA_TAPS_BUDGET = 5


def ballots_in(campaign_id):
    return db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.campaign_id == campaign_id))


def test_a_member_votes_from_the_campaign_link_on_a_phone(app, world, phone):
    campaign = make_campaign(world, "open")
    campaign_id, title = campaign.id, campaign.title
    expected_answers = set(choices_for(campaign, [1] * len(campaign.questionnaire.items)).items())
    voter = world.members[0]
    page = phone.page
    network = phone.first_visit()

    started = time.perf_counter()
    phone.open(f"/campaigns/{campaign_id}")
    expect(page.get_by_label("手机号或登录名")).to_be_visible()
    assert phone.fits_width()
    phone.screenshot("member-01-login")
    phone.log_in(voter.username)

    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_text("请阅读述职报告后进行评议，约需两分钟。")).to_be_visible()
    assert phone.fits_width()
    phone.screenshot("member-02-campaign")

    report = page.get_by_text("一年来的工作报告。")
    report.scroll_into_view_if_needed()
    expect(page.get_by_role("heading", name="述职报告")).to_be_in_viewport()
    expect(report).to_be_in_viewport()
    phone.screenshot("member-03-report", full_page=False)

    first_vote_page_request = len(phone.requests)
    phone.tap(page.get_by_role("link", name="开始评议"))
    expect(page.get_by_role("button", name="提交评议")).to_be_visible()
    page.wait_for_load_state("load")
    vote_page_requests = phone.requests[first_vote_page_request:]
    expect(page.get_by_text("本次评议为无记名投票")).to_be_visible()
    expect(page.locator("form").get_by_role("group").first).to_contain_text("基本满意")
    assert phone.fits_width()
    phone.screenshot("member-04-vote")

    questions = phone.answer_every_item()
    phone.tap(page.get_by_role("button", name="提交评议"))
    expect(page.get_by_role("heading", name="评议已提交，谢谢您！")).to_be_visible()
    receipt = page.get_by_label("回执码").input_value()
    page.wait_for_load_state("load")
    seconds_to_ballot = time.perf_counter() - started - phone.looking
    loads_to_ballot, taps_to_ballot = phone.loads, phone.taps
    assert re.fullmatch(r"([0-9a-f]{4} ){3}[0-9a-f]{4}", receipt)       # in groups of four, typed back as shown
    assert page.get_by_label("回执码").evaluate("field => field.scrollWidth <= field.clientWidth"), "the code is cut off"
    expect(page.get_by_text("回执码只显示这一次", exact=False)).to_be_visible()

    assert phone.fits_width()
    phone.screenshot("member-05-receipt")

    phone.tap(page.get_by_role("link", name="回执查询"))
    phone.type_into(page.get_by_label("回执码"), receipt)
    phone.tap(page.get_by_role("button", name="查询"))
    expect(page.get_by_text(f"该回执对应的选票已收到，“{title}”的结果尚未公布。")).to_be_visible()
    seconds_with_check = time.perf_counter() - started - phone.looking
    assert phone.fits_width()
    phone.screenshot("member-06-receipt-check")

    # What the browser sent is what was counted: one ballot holding the options the member tapped.
    assert ballots_in(campaign_id) == 1
    assert set(map(tuple, db.session.execute(select(Answer.item_id, Answer.option_id)))) == expected_answers
    assert db.session.get(Participation, (campaign_id, voter.member.id)) is not None

    # Scanning the poster again: the campaign says it is done, the voting page refuses plainly.
    phone.open(f"/campaigns/{campaign_id}")
    expect(page.get_by_text("您已完成本次评议，谢谢参与。")).to_be_visible()
    expect(page.get_by_role("link", name="开始评议")).to_have_count(0)
    response = phone.open(f"/campaigns/{campaign_id}/vote")
    assert response.status == 409
    expect(page.get_by_text("您已在本次评议中投过票，每人只能投一次。")).to_be_visible()
    expect(page.get_by_role("button", name="提交评议")).to_have_count(0)
    assert phone.fits_width()
    phone.screenshot("refusal-already-voted")
    assert ballots_in(campaign_id) == 1

    assert phone.foreign_requests() == []
    sizes = [(request.resource_type, request.sizes()) for request in vote_page_requests if not request.failure]
    transferred = sum(size["responseHeadersSize"] + size["responseBodySize"] for _kind, size in sizes)
    kinds = sorted(kind for kind, _size in sizes)
    figures = {
        "backend": app.backend,
        "network": network,
        "seconds_to_ballot": round(seconds_to_ballot, 2),
        "seconds_including_receipt_check": round(seconds_with_check, 2),
        "page_loads_to_ballot": loads_to_ballot,
        "taps_to_ballot": taps_to_ballot,
        "questions": questions,
        "voting_page_bytes_transferred": transferred,
        "voting_page_requests": kinds,
    }
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / f"member-journey-{app.backend}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("member journey:", figures)

    assert transferred < VOTING_PAGE_BUDGET, figures
    assert "script" not in kinds and kinds.count("document") == 1, figures
    assert loads_to_ballot <= PAGE_LOAD_BUDGET, figures
    assert taps_to_ballot <= questions + EXTRA_TAPS_BUDGET, figures


def test_voting_works_with_javascript_switched_off(world, open_visit):
    campaign = make_campaign(world, "open")
    campaign_id = campaign.id
    visit = open_visit(java_script_enabled=False)
    page = visit.page

    visit.open(f"/campaigns/{campaign_id}")
    visit.log_in(world.members[1].username)
    visit.tap(page.get_by_role("link", name="开始评议"))
    expect(page.get_by_role("button", name="提交评议")).to_be_visible()
    visit.answer_every_item()
    visit.tap(page.get_by_role("button", name="提交评议"))

    expect(page.get_by_role("heading", name="评议已提交，谢谢您！")).to_be_visible()
    assert re.fullmatch(r"([0-9a-f]{4} ){3}[0-9a-f]{4}", page.get_by_label("回执码").input_value())
    assert visit.fits_width()
    visit.screenshot("member-receipt-without-javascript")
    assert ballots_in(campaign_id) == 1
