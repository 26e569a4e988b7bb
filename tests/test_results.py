"""Publishing a campaign freezes its result; members of the electorate read it on the result page.

The default questionnaire (tests.factories.make_questionnaire) has three items:
  1. 三级满意度, weight 1: 满意 100 (satisfied), 基本满意 60 (satisfied), 不满意 0
  2. 三级满意度, weight 2: the same options
  3. 五分制, weight 3: 5分..1分 scoring 5..1, 5分 and 4分 satisfied
The chair is a member of union A but not in the electorate, so five members vote at most.
Every expected figure below is worked out by hand in the comments.
"""
import calendar
import hashlib
import math
from datetime import date, datetime, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import CampaignState
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.rectification.models import Rectification, RectificationState
from evalapp.results.models import Result
from evalapp.results.operations import ballot_digest
from evalapp.voting.models import Answer, Ballot
from tests.factories import build_world, make_campaign

SHANGHAI = ZoneInfo("Asia/Shanghai")
Z95 = NormalDist().inv_cdf(0.975)

# Everyone votes (5 of 5).
FULL_TURNOUT = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]
# Item 1: 100, 100, 60, 60, 0  → 4/5 satisfied = 80% (not below 80%); mean 320/5 = 64 → 64.0
# Item 2: 100, 60, 100, 0, 0   → 3/5 satisfied = 60%;                  mean 260/5 = 52 → 52.0
# Item 3: 5, 4, 3, 5, 4        → 4/5 satisfied = 80%;                  mean 21/5 = 4.2 → 100*(4.2-1)/4 = 80.0
# Overall: (64*1 + 52*2 + 80*3) / 6 = 408/6 = 68.0 → 合格 (60 ≤ 68 < 80)

# Four of five vote: exactly the quorum (ceil(5 * 2/3) = ceil(3.33) = 4).
FOUR_OF_FIVE = [[1, 1, 1], [1, 1, 2], [2, 1, 1], [1, 2, 1]]
# Item 1: 100, 100, 60, 100 → 4/4; mean 90
# Item 2: 100, 100, 100, 60 → 4/4; mean 90
# Item 3: 5, 4, 5, 5        → 4/4; mean 4.75 → 100*3.75/4 = 93.75
# Overall: (90 + 180 + 281.25) / 6 = 91.875 → 优秀


def shanghai_date(moment):
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(SHANGHAI).date()


def one_month_later(day):
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def result_of(campaign):
    return db.session.scalar(select(Result).where(Result.campaign_id == campaign.id))


def rectifications_of(campaign):
    return list(db.session.scalars(select(Rectification).where(Rectification.campaign_id == campaign.id)
                                   .order_by(Rectification.id)))


# --- The frozen figures ---------------------------------------------------------------------------

def test_full_turnout_result_figures(world):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    result = result_of(campaign)

    assert result.electorate_size == 5
    assert result.turnout == 5
    assert result.quorum_required == 4
    assert result.quorum_met is True

    rows = {row.position: row for row in result.items}
    assert [rows[p].answered for p in (1, 2, 3)] == [5, 5, 5]
    assert [rows[p].satisfied for p in (1, 2, 3)] == [4, 3, 4]
    assert rows[1].rate == pytest.approx(0.8)
    assert rows[2].rate == pytest.approx(0.6)
    assert rows[3].rate == pytest.approx(0.8)
    assert rows[1].mean_score == pytest.approx(64.0)
    assert rows[2].mean_score == pytest.approx(52.0)
    assert rows[3].mean_score == pytest.approx(4.2)
    assert rows[1].normalised_score == pytest.approx(64.0)
    assert rows[2].normalised_score == pytest.approx(52.0)
    assert rows[3].normalised_score == pytest.approx(80.0)
    # Everyone voted: each interval is the point.
    for row in rows.values():
        assert row.rate_low == pytest.approx(row.rate) and row.rate_high == pytest.approx(row.rate)

    assert result.overall_score == pytest.approx(68.0)
    assert result.grade == "合格"


def test_option_counts_are_kept_per_option(world):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    result = result_of(campaign)
    item3 = campaign.questionnaire.items[2]
    counts = result.items[2].option_counts
    by_label = {option.label: counts.get(str(option.id), 0) for option in item3.options}
    assert by_label == {"5分": 2, "4分": 2, "3分": 1, "2分": 0, "1分": 0}


def test_partial_turnout_at_the_quorum_gives_a_grade_and_a_corrected_interval(world):
    campaign = make_campaign(world, "published", votes=FOUR_OF_FIVE)
    result = result_of(campaign)

    assert (result.electorate_size, result.turnout, result.quorum_required) == (5, 4, 4)
    assert result.quorum_met is True
    rows = {row.position: row for row in result.items}
    assert [rows[p].rate for p in (1, 2, 3)] == [pytest.approx(1.0)] * 3
    assert rows[1].mean_score == pytest.approx(90.0)
    assert rows[2].mean_score == pytest.approx(90.0)
    assert rows[3].mean_score == pytest.approx(4.75)
    assert rows[3].normalised_score == pytest.approx(93.75)
    assert result.overall_score == pytest.approx(91.875)
    assert result.grade == "优秀"

    # 4 of 4 answered, out of an electorate of 5: n_eff = 4 * (5 - 1) / (5 - 4) = 16.
    # With p = 1 the Wilson bounds reduce to low = n/(n + z²) and high = 1.
    n_eff = 16
    expected_low = n_eff / (n_eff + Z95 ** 2)
    assert rows[1].rate_low == pytest.approx(expected_low, abs=1e-9)
    assert rows[1].rate_high == pytest.approx(1.0)
    assert math.isclose(expected_low, 0.8064, abs_tol=1e-4)

    # Nothing is under 80%: nothing to rectify.
    assert rectifications_of(campaign) == []


def test_quorum_not_met_gives_no_grade_and_no_rectification(world):
    # Three of five vote, all dissatisfied: every item is at 0%, but the evaluation is invalid.
    campaign = make_campaign(world, "published", votes=[[3, 3, 5]] * 3)
    result = result_of(campaign)

    assert (result.electorate_size, result.turnout, result.quorum_required) == (5, 3, 4)
    assert result.quorum_met is False
    assert result.grade is None
    assert [row.rate for row in result.items] == [0.0, 0.0, 0.0]
    assert rectifications_of(campaign) == []


@pytest.mark.parametrize("member_count, voters", [(3, 2), (6, 4), (30, 20)])
def test_two_thirds_of_the_electorate_is_a_quorum_with_the_default_rules(database, member_count, voters):
    # DESIGN.md: the default quorum is two thirds of the electorate. 2 of 3, 4 of 6 and 20 of 30
    # are exactly two thirds, so the result must be valid and graded.
    world = build_world(member_count=member_count)
    campaign = make_campaign(world, "published", votes=[[1, 1, 1]] * voters)
    result = result_of(campaign)

    assert (result.electorate_size, result.turnout) == (member_count, voters)
    assert result.quorum_required == voters
    assert result.quorum_met is True
    assert result.grade == "优秀"


# --- Rectification items opened at publication ----------------------------------------------------

def test_items_under_80_percent_open_rectifications_due_a_month_after_publication(world):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    rectifications = rectifications_of(campaign)

    # Only item 2 (60%) is under 80%; items 1 and 3 sit exactly at 80%.
    assert [r.item.position for r in rectifications] == [2]
    only = rectifications[0]
    assert only.state == RectificationState.awaiting_plan
    assert "60.0%" in only.problem
    assert only.due_date == one_month_later(shanghai_date(campaign.published_at))


def test_due_date_counts_from_the_publication_date_in_shanghai(world, monkeypatch):
    campaign = make_campaign(world, "closed", votes=[[3, 3, 5]] * 5)
    # 17:00 UTC on 31 January 2026 is already 1 February in Shanghai: the plan is due 1 March,
    # not 28 February (which it would be if the UTC date were used).
    published = datetime(2026, 1, 31, 17, 0)
    monkeypatch.setattr(campaign_ops, "utcnow", lambda: published)
    campaign_ops.publish(campaign, world.county_officer)
    db.session.commit()

    rectifications = rectifications_of(campaign)
    assert [r.item.position for r in rectifications] == [1, 2, 3]
    assert {r.due_date for r in rectifications} == {date(2026, 3, 1)}


def test_publishing_again_is_refused_and_changes_nothing(world, login):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    result = result_of(campaign)
    before = (result.id, result.computed_at, result.ballot_digest, result.overall_score, campaign.published_at)
    rectification_ids = [r.id for r in rectifications_of(campaign)]

    officer = login("county_officer")
    response = officer.post(f"/campaigns/{campaign.id}/actions/publish", follow_redirects=True)
    assert response.status_code == 200
    assert "不能转为" in response.get_data(as_text=True)

    with pytest.raises(Refused):
        campaign_ops.publish(campaign, world.county_officer)
    db.session.rollback()

    result = result_of(campaign)
    assert campaign.state == CampaignState.published
    assert (result.id, result.computed_at, result.ballot_digest, result.overall_score,
            campaign.published_at) == before
    assert db.session.scalar(select(db.func.count()).select_from(Result)
                             .where(Result.campaign_id == campaign.id)) == 1
    assert [r.id for r in rectifications_of(campaign)] == rectification_ids


def test_a_frozen_result_is_never_recomputed(world):
    from evalapp.results.operations import freeze_result

    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    with pytest.raises(Refused):
        freeze_result(campaign)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Result)) == 1


# --- The ballot digest ----------------------------------------------------------------------------

def canonical_digest(campaign):
    """SHA-256 over "<ballot id>:<item>=<option>,…" lines, ballots in id order, written out here."""
    ballots = db.session.scalars(select(Ballot).where(Ballot.campaign_id == campaign.id).order_by(Ballot.id))
    lines = []
    for ballot in ballots:
        answers = sorted(ballot.answers, key=lambda a: a.item_id)
        lines.append(f"{ballot.id}:" + ",".join(f"{a.item_id}={a.option_id}" for a in answers) + "\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_published_digest_covers_exactly_the_ballots_counted(world):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    result = result_of(campaign)
    assert len(result.ballot_digest) == 64
    assert result.ballot_digest == canonical_digest(campaign)


def test_digest_changes_when_one_ballot_differs(world):
    campaign = make_campaign(world, "closed", votes=FULL_TURNOUT)
    original = ballot_digest(campaign)
    assert ballot_digest(campaign) == original  # deterministic

    # Change one answer of one ballot to another option of the same item.
    answer = db.session.scalars(select(Answer).join(Ballot).where(Ballot.campaign_id == campaign.id)
                                .order_by(Answer.ballot_id, Answer.item_id)).first()
    item = next(i for i in campaign.questionnaire.items if i.id == answer.item_id)
    original_option = answer.option_id
    answer.option_id = next(o.id for o in item.options if o.id != original_option)
    db.session.flush()
    changed = ballot_digest(campaign)
    assert changed != original
    assert changed == canonical_digest(campaign)

    answer.option_id = original_option
    db.session.flush()
    assert ballot_digest(campaign) == original


# --- The result page ------------------------------------------------------------------------------

def test_result_page_shows_the_figures_to_a_member_of_the_electorate(world, login):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    digest = result_of(campaign).ballot_digest
    rectification = rectifications_of(campaign)[0]
    due = one_month_later(shanghai_date(campaign.published_at))

    response = login("m1").get(f"/campaigns/{campaign.id}/result")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "应参评 5 人，实参评 5 人（100.0%）" in page
    assert "法定人数 4 人，已达到" in page
    assert "<dd>68.0</dd>" in page
    assert "<strong>合格</strong>" in page
    assert digest in page
    for figure in ("80.0%", "60.0%", "64.0", "52.0", "80.0"):
        assert figure in page
    assert "满意 2，基本满意 2，不满意 1" in page          # item 1's distribution
    assert "5分 2，4分 2，3分 1，2分 0，1分 0" in page     # item 3's distribution
    assert f"/rectifications/{rectification.id}" in page
    assert f"方案提交期限 {due.isoformat()}" in page
    assert "下载 PDF 报告" not in page  # members do not get the officer's PDF


def test_result_page_of_an_invalid_evaluation_says_so(world, login):
    campaign = make_campaign(world, "published", votes=[[1, 1, 1]] * 3)
    page = login("m2").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "法定人数 4 人，未达到" in page
    assert "无效（参评人数未达法定人数）" in page
    assert "整改事项" not in page


def test_before_publication_only_the_campaigns_officers_see_the_result_counted_at_closing(world, login):
    campaign = make_campaign(world, "open", votes=FULL_TURNOUT)
    for who in ("m1", "county_officer"):
        assert login(who).get(f"/campaigns/{campaign.id}/result").status_code == 404   # nothing counted yet
    campaign_ops.close_voting(campaign, world.county_officer)
    db.session.commit()
    assert campaign.result is not None and campaign.state == CampaignState.closed
    for who in ("m1", "m2", "chair"):
        assert login(who).get(f"/campaigns/{campaign.id}/result").status_code == 404
        assert "评议结果" not in login(who).get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "尚未公布" in page and "会员看不到" in page and "综合得分" in page


@pytest.mark.parametrize("username", ["outsider", "other_officer"])
def test_result_page_is_not_found_outside_the_campaign(world, login, username):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    response = login(username).get(f"/campaigns/{campaign.id}/result")
    assert response.status_code == 404
    assert result_of(campaign).ballot_digest not in response.get_data(as_text=True)


def test_result_page_stays_readable_after_archiving(world, login):
    campaign = make_campaign(world, "archived", votes=FULL_TURNOUT)
    response = login("m3").get(f"/campaigns/{campaign.id}/result")
    assert response.status_code == 200
    assert "<strong>合格</strong>" in response.get_data(as_text=True)


def test_officer_sees_the_pdf_link_on_the_result_page(world, login):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert f"/campaigns/{campaign.id}/result.pdf" in page


def test_overdue_rectification_is_flagged_on_the_result_page(world, login):
    campaign = make_campaign(world, "published", votes=FULL_TURNOUT)
    member = login("m1")
    assert "已逾期" not in member.get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)

    rectification = rectifications_of(campaign)[0]
    rectification.due_date = datetime.now(SHANGHAI).date() - timedelta(days=1)
    db.session.commit()
    assert "已逾期" in member.get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)


def test_fewer_than_five_voters_get_no_breakdown_anywhere(world, login):
    """Four of five voted: the quorum is met, but any figure would show how people voted
    (every surface is attacked in tests/test_small_groups.py)."""
    campaign = make_campaign(world, "published", votes=[[3, 1, 1], [3, 1, 1], [3, 2, 1], [3, 1, 1]])
    page = login("m1").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "为保护投票秘密，不公布任何统计结果" in page
    assert "不满意 4" not in page and "作答" not in page
    assert campaign.rectifications == []  # no rule opens an item from a small group

    import subprocess
    import tempfile

    pdf = login("county_officer").get(f"/campaigns/{campaign.id}/result.pdf").data
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        text = subprocess.run(["pdftotext", handle.name, "-"], capture_output=True, text=True, check=True).stdout
    assert "为保护投票秘密，不公布任何统计结果" in text and "不满意 4" not in text
