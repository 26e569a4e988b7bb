"""Each ballot's own summary, Cronbach's alpha, the ballots' score interval, the comparison with the
previous campaign and the warning flags, checked against values computed independently from the
raw answers.

The default questionnaire (tests.factories.make_questionnaire): two three-level items (100/60/0,
weights 1 and 2) and a five-point item (5..1, weight 3). Normalised scores: 满意 100, 基本满意 60,
不满意 0; 5分 100, 4分 75, 3分 50, 2分 25, 1分 0.
"""
import math
from statistics import mean, stdev

import numpy as np
import pytest
import sqlalchemy as sa
from scipy.stats import chi2_contingency
from scipy.stats import t as student

from evalapp.campaigns.models import SubjectKind
from evalapp.core.db import db
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.voting.models import Answer, Ballot
from evalapp.voting.operations import cast_ballot
from tests.factories import build_world, close_and_publish, make_campaign, vote

FIRST = [[1, 1, 1], [1, 2, 2], [2, 1, 3], [2, 3, 1], [3, 3, 2]]
SECOND = [[1, 1, 1], [1, 1, 1], [1, 2, 1], [2, 1, 2], [1, 1, 2]]
NORMALISED = {0: [100, 60, 0], 1: [100, 60, 0], 2: [100, 75, 50, 25, 0]}
WEIGHTS = [1, 2, 3]


def ballot_values(positions):
    return [NORMALISED[index][position - 1] for index, position in enumerate(positions)]


def test_each_ballot_carries_its_score_sum_and_uniformity(world):
    campaign = make_campaign(world, "open")
    vote(campaign, world.members[0], [2, 3, 1])
    vote(campaign, world.members[1], [1, 1, 1])
    db.session.commit()
    rows = sorted((b.score, b.item_sum, b.uniform) for b in db.session.scalars(sa.select(Ballot)))
    # [2, 3, 1]: 60, 0, 100 → weighted (60 + 0 + 300) / 6 = 60, sum 160, positions differ.
    # [1, 1, 1]: 100, 100, 100 → 100, sum 300, same position everywhere.
    assert rows == [(pytest.approx(60), pytest.approx(160), False), (pytest.approx(100), pytest.approx(300), True)]


def _publish(world, votes, union=None, form=None):
    campaign = make_campaign(world, "open", union=union, form=form)
    for voter, positions in zip(world.members, votes):
        vote(campaign, voter, positions)
    close_and_publish(world, campaign)
    return campaign


def _raw_matrix(campaign):
    """Each ballot's normalised item scores, rebuilt from the stored answers and options."""
    items = campaign.questionnaire.items
    by_option = {}
    for item in items:
        scores = [float(o.score) for o in item.options]
        for option in item.options:
            by_option[option.id] = 100 * (float(option.score) - min(scores)) / (max(scores) - min(scores))
    ballots = {}
    for ballot_id, item_id, option_id in db.session.execute(
            sa.select(Answer.ballot_id, Answer.item_id, Answer.option_id).where(Answer.campaign_id == campaign.id)):
        ballots.setdefault(ballot_id, {})[item_id] = by_option[option_id]
    return np.array([[row[item.id] for item in items] for row in ballots.values()])


def test_alpha_and_the_ballot_score_interval_match_the_raw_answers(world):
    campaign = _publish(world, FIRST)
    result = campaign.result
    matrix = _raw_matrix(campaign)
    k = matrix.shape[1]
    alpha = k / (k - 1) * (1 - matrix.var(axis=0, ddof=1).sum() / matrix.sum(axis=1).var(ddof=1))
    assert result.alpha == pytest.approx(alpha)

    weighted = list(matrix @ np.array(WEIGHTS) / sum(WEIGHTS))
    # Everyone voted (5 of 5): the finite-population correction makes the interval the point.
    assert result.ballot_score_mean == pytest.approx(mean(weighted))
    assert result.ballot_score_low == pytest.approx(mean(weighted))
    assert result.uniform_ballots == 1  # [1, 1, 1]: the first option everywhere


def test_the_ballot_score_interval_with_part_of_the_electorate_is_a_t_interval(database):
    world = build_world(member_count=8)
    campaign = _publish(world, FIRST)
    scores = [sum(v * world for v, world in zip(ballot_values(p), WEIGHTS)) / 6 for p in FIRST]
    half = student.ppf(0.975, 4) * stdev(scores) / math.sqrt(5) * math.sqrt((8 - 5) / (8 - 1))
    assert campaign.result.ballot_score_low == pytest.approx(mean(scores) - half)
    assert campaign.result.ballot_score_high == pytest.approx(mean(scores) + half)


def test_alpha_is_left_out_when_a_scored_item_is_optional(world):
    form = create_questionnaire(world.city, "含选填题")
    add_item(form, ItemKind.satisfaction3, "甲")
    add_item(form, ItemKind.satisfaction3, "乙", required=False)
    db.session.commit()
    campaign = _publish(world, [[1, 1], [2, 3], [3, 3], [1, 2], [2, 2]], form=form)
    assert campaign.result.alpha is None


def test_the_second_campaign_is_compared_with_the_first(world, login):
    first = _publish(world, FIRST)
    second = _publish(world, SECOND)
    comparison = second.result.comparison
    assert comparison["campaign_id"] == first.id
    assert [i["position"] for i in comparison["items"]] == [1, 2, 3]

    # Item 1 by option label: before 满意 2, 基本满意 2, 不满意 1; after 4, 1, 0.
    expected = chi2_contingency(np.array([[2, 2, 1], [4, 1, 0]]), correction=False)
    item = comparison["items"][0]
    assert item["distribution"]["statistic"] == pytest.approx(expected[0])
    assert item["distribution"]["p"] == pytest.approx(expected[1])
    assert item["rate_before"] == pytest.approx(0.8) and item["rate_after"] == pytest.approx(1.0)
    # Item 1 scores: U counted over all pairs (later beats earlier 1, tie 0.5).
    before = [100, 100, 60, 60, 0]
    after = [100, 100, 100, 60, 100]
    u = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in after for b in before)
    assert item["scores"]["statistic"] == pytest.approx(u)
    assert item["scores"]["effect"] == pytest.approx(2 * u / 25 - 1)

    page = login("county_officer").get(f"/campaigns/{second.id}/result").get_data(as_text=True)
    assert "与上次评议比较" in page and first.title in page
    assert first.result.comparison is None  # nothing before the first


def test_only_the_same_union_and_kind_of_campaign_counts_as_previous(world):
    other_union = make_campaign(world, "published", union=world.union_b, subject=SubjectKind.none)
    chair_campaign = _publish(world, FIRST)
    survey = make_campaign(world, "published", subject=SubjectKind.none)
    assert other_union.result.comparison is None
    assert chair_campaign.result.comparison is None  # union B's survey is neither this union nor this kind
    assert survey.result.comparison is None  # union A's chair evaluation is not a survey


def test_straight_lining_and_repeated_text_are_flagged_for_officers_only(login):
    world = build_world(member_count=22)
    form = create_questionnaire(world.city, "含意见题")
    add_item(form, ItemKind.satisfaction3, "甲")
    add_item(form, ItemKind.satisfaction3, "乙")
    add_item(form, ItemKind.text, "意见", required=False)
    db.session.commit()
    campaign = make_campaign(world, "open", form=form)
    items = campaign.questionnaire.items
    for index, voter in enumerate(world.members):
        first = items[0].options[0].id
        second = items[1].options[0 if index < 20 else 2].id  # 20 of 22 answer 满意 everywhere
        text = "同意主席的工作" if index < 3 else f"意见{index}"
        cast_ballot(campaign, voter, {items[0].id: first, items[1].id: second, items[2].id: text})
    close_and_publish(world, campaign)
    kinds = [flag["kind"] for flag in campaign.result.flags]
    assert kinds == ["straight_lining", "repeated_text"]
    assert campaign.result.uniform_ballots == 20

    officer_page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "需要核实的情况" in officer_page and "20 张选票（91%）" in officer_page
    assert "第 3 题有同一内容被 3 张选票原样填写" in officer_page
    member_page = login("m1").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "需要核实的情况" not in member_page


def test_no_flags_for_an_ordinary_result(world):
    assert _publish(world, FIRST).result.flags == []


def test_a_void_or_small_previous_result_is_never_compared(world, login):
    # Only two of five vote: quorum missed, breakdown hidden, so nothing of it may show later.
    small = _publish(world, FIRST[:2])
    assert not small.result.quorum_met
    second = _publish(world, SECOND)
    assert second.result.comparison is None
    page = login("m3").get(f"/campaigns/{second.id}/result").get_data(as_text=True)
    assert "与上次评议比较" not in page and "上次满意率" not in page


def test_flags_are_in_the_officers_pdf_but_not_the_chairs(login, tmp_path):
    from tests.builders import pdf_text

    world = build_world(member_count=20)
    campaign = _publish(world, [[1, 1, 1]] * 20)  # every ballot identical: straight-lining
    assert [flag["kind"] for flag in campaign.result.flags] == ["straight_lining"]
    texts = {}
    for username in ("county_officer", "chair"):
        response = login(username).get(f"/campaigns/{campaign.id}/result.pdf")
        assert response.status_code == 200
        (tmp_path / f"{username}.pdf").write_bytes(response.data)
        texts[username] = pdf_text(tmp_path / f"{username}.pdf")
    assert "需要核实的情况" in texts["county_officer"] and "需要核实的情况" not in texts["chair"]


def _burst_campaign(window_hours, hours_of_votes):
    """30 voters, the campaign open `window_hours`; `hours_of_votes` gives each voter's hour (UTC, offset from opening)."""
    from datetime import timedelta

    from sqlalchemy import update

    from evalapp.campaigns.models import Campaign
    from evalapp.voting.models import Participation

    world = build_world(member_count=len(hours_of_votes))
    campaign = make_campaign(world, "open", votes=[[1, 1, 1]] * len(hours_of_votes))
    opened = campaign.opened_at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=window_hours)
    db.session.execute(update(Campaign).where(Campaign.id == campaign.id).values(opened_at=opened))
    for member, offset in zip([m.member for m in world.members], hours_of_votes):
        db.session.execute(update(Participation).where(Participation.campaign_id == campaign.id,
                                                       Participation.member_id == member.id)
                           .values(voted_hour=opened + timedelta(hours=offset)))
    db.session.commit()
    db.session.refresh(campaign)
    close_and_publish(world, campaign)
    return campaign, opened


def test_an_hour_with_a_third_of_all_ballots_in_a_week_long_vote_is_flagged(login):
    from datetime import timedelta

    from evalapp.core.timeutil import to_local

    # 22 of 30 in the hour starting 50 hours after opening; the rest one per hour.
    campaign, opened = _burst_campaign(7 * 24, [50] * 22 + list(range(8)))
    [flag] = [f for f in campaign.result.flags if f["kind"] == "turnout_burst"]
    expected_hour = to_local(opened + timedelta(hours=50))
    assert flag["message"].startswith(f"{expected_hour:%Y-%m-%d %H}:00 起的一小时内有 22 人投票，占全部参评人数的 73%")
    page = login("county_officer").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)
    assert "集中组织投票" in page
    assert "集中组织投票" not in login("m1").get(f"/campaigns/{campaign.id}/result").get_data(as_text=True)


@pytest.mark.parametrize(("window", "hours"), [
    (7 * 24, [hour * 5 for hour in range(30)]),   # spread over the week
    (7 * 24, [50] * 19 + list(range(11))),        # 19 in one hour: under the 20-ballot floor
    (6, [3] * 22 + list(range(8))),               # a six-hour vote: everyone votes at the meeting
])
def test_ordinary_turnout_is_not_flagged(database, window, hours):
    campaign, _opened = _burst_campaign(window, hours)
    assert [f for f in campaign.result.flags if f["kind"] == "turnout_burst"] == []
