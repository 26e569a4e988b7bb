"""The pure statistics and the calendar helpers, against values computed independently."""
import math
from datetime import date, datetime
from statistics import NormalDist

import pytest
from scipy.stats import binomtest

from evalapp.core.timeutil import add_months, local_today
from evalapp.results.statistics import (
    compare_distributions,
    compare_groups,
    compare_scores,
    cronbach_alpha,
    item_statistics,
    mean_interval,
    quorum_required,
    weighted_score,
    wilson_interval,
)

Z95 = NormalDist().inv_cdf(0.975)


def textbook_wilson(p, n, z=Z95):
    """The textbook Wilson score interval for a proportion p observed in a sample of size n.

    n may be an effective (fractional) sample size.
    """
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half_width, centre + half_width


# --- Wilson interval ------------------------------------------------------------------------------

@pytest.mark.parametrize("k, n", [(0, 10), (10, 10), (7, 10), (1, 3), (30, 40), (123, 456), (0, 1), (1, 1)])
def test_wilson_interval_without_population_matches_scipy(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_of_all_or_nothing_touches_the_bound():
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0 < high < 0.2
    low, high = wilson_interval(20, 20)
    assert high == pytest.approx(1.0) and 0.8 < low < 1


@pytest.mark.parametrize("k, n", [(0, 12), (7, 12), (12, 12), (1, 1)])
def test_wilson_interval_is_the_point_when_everyone_answered(k, n):
    low, high = wilson_interval(k, n, population=n)
    assert low == pytest.approx(k / n, abs=1e-12)
    assert high == pytest.approx(k / n, abs=1e-12)


@pytest.mark.parametrize("k, n, population", [(30, 40, 100), (3, 4, 5), (0, 10, 50), (45, 50, 1000)])
def test_wilson_interval_with_finite_population_uses_the_effective_sample_size(k, n, population):
    n_eff = n * (population - 1) / (population - n)
    low_eff, high_eff = textbook_wilson(k / n, n_eff)
    expected_low, expected_high = max(0.0, low_eff), min(1.0, high_eff)

    low, high = wilson_interval(k, n, population=population)
    assert low == pytest.approx(expected_low, abs=1e-12)
    assert high == pytest.approx(expected_high, abs=1e-12)


def test_finite_population_correction_narrows_the_interval_for_30_of_40_out_of_100():
    # n_eff = 40 * 99 / 60 = 66 exactly.
    n_eff = 40 * 99 / 60
    assert n_eff == 66
    p, z = 0.75, Z95
    centre = (p + z ** 2 / 132) / (1 + z ** 2 / 66)
    half = z / (1 + z ** 2 / 66) * math.sqrt(p * (1 - p) / 66 + z ** 2 / (4 * 66 ** 2))
    expected_low, expected_high = centre - half, centre + half

    low, high = wilson_interval(30, 40, population=100)
    assert (low, high) == pytest.approx((expected_low, expected_high), abs=1e-12)
    plain_low, plain_high = wilson_interval(30, 40)
    assert plain_low < low < 0.75 < high < plain_high


def test_wilson_interval_without_answers_is_empty():
    assert wilson_interval(0, 0) == (None, None)
    assert wilson_interval(0, 0, population=10) == (None, None)


# --- Per-item statistics and the weighted score ---------------------------------------------------

SATISFACTION3 = [(1, 100.0, True), (2, 60.0, True), (3, 0.0, False)]
SCALE5 = [(10, 5.0, True), (11, 4.0, True), (12, 3.0, False), (13, 2.0, False), (14, 1.0, False)]


def test_item_statistics_for_a_three_level_item():
    # 5 满意, 3 基本满意, 2 不满意 out of an electorate of 20.
    stats = item_statistics({1: 5, 2: 3, 3: 2}, SATISFACTION3, 20)
    assert stats.answered == 10
    assert stats.satisfied == 8
    assert stats.rate == pytest.approx(0.8)
    assert stats.mean_score == pytest.approx((5 * 100 + 3 * 60 + 2 * 0) / 10)  # 68
    assert stats.normalised_score == pytest.approx(68.0)
    n_eff = 10 * (20 - 1) / (20 - 10)  # 19
    assert (stats.rate_low, stats.rate_high) == pytest.approx(textbook_wilson(0.8, n_eff), abs=1e-12)


def test_item_statistics_for_a_five_point_item_normalises_from_lowest_to_highest_option():
    # Two 5分, one 4分, one 2分: mean 4.0, which is 3/4 of the way from 1 to 5.
    stats = item_statistics({10: 2, 11: 1, 13: 1}, SCALE5, None)
    assert stats.answered == 4
    assert stats.satisfied == 3
    assert stats.rate == pytest.approx(0.75)
    assert stats.mean_score == pytest.approx(4.0)
    assert stats.normalised_score == pytest.approx(75.0)
    expected = binomtest(3, 4).proportion_ci(method="wilson")
    assert (stats.rate_low, stats.rate_high) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_item_statistics_when_the_whole_electorate_answered_has_a_point_interval():
    stats = item_statistics({10: 1, 12: 2, 14: 1}, SCALE5, 4)
    assert stats.rate == pytest.approx(0.25)
    assert stats.rate_low == pytest.approx(0.25) and stats.rate_high == pytest.approx(0.25)
    assert stats.mean_score == pytest.approx((5 + 3 + 3 + 1) / 4)
    assert stats.normalised_score == pytest.approx(100 * (3.0 - 1) / 4)


def test_item_statistics_ignore_counts_for_options_of_other_items():
    stats = item_statistics({1: 2, 99: 7}, SATISFACTION3, 10)
    assert stats.answered == 2
    assert stats.mean_score == pytest.approx(100.0)


def test_item_statistics_without_answers_are_empty():
    stats = item_statistics({}, SATISFACTION3, 10)
    assert (stats.answered, stats.satisfied) == (0, 0)
    assert stats.rate is None and stats.rate_low is None and stats.rate_high is None
    assert stats.mean_score is None and stats.normalised_score is None


def test_weighted_score_is_the_weighted_mean():
    assert weighted_score([(68.0, 1), (50.0, 2), (75.0, 3)]) == pytest.approx((68 + 100 + 225) / 6)  # 65.5


def test_weighted_score_skips_items_nobody_answered():
    assert weighted_score([(None, 5), (80.0, 1), (40.0, 3)]) == pytest.approx((80 + 120) / 4)  # 50


def test_weighted_score_without_any_answered_item_is_none():
    assert weighted_score([(None, 1), (None, 2)]) is None
    assert weighted_score([]) is None


# --- Quorum ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("electorate, ratio, required", [
    (30, 2 / 3, 20),    # exactly two thirds: no rounding up
    (31, 2 / 3, 21),    # 20.67 → 21
    (29, 2 / 3, 20),    # 19.33 → 20
    (3, 2 / 3, 2),
    (6, 2 / 3, 4),
    (300_000, 2 / 3, 200_000),
    (10, 0.5, 5),
    (11, 0.5, 6),
    (7, 1.0, 7),
    (1, 2 / 3, 1),
])
def test_quorum_required_rounds_up_but_not_past_an_exact_boundary(electorate, ratio, required):
    assert quorum_required(electorate, ratio) == required


# --- Calendar helpers -----------------------------------------------------------------------------

@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),   # leap year
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 12, 31), 2, date(2027, 2, 28)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 1, 15), 12, date(2027, 1, 15)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 5, 20), 1, date(2026, 6, 20)),
])
def test_add_months_clamps_to_the_end_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


def test_local_today_is_already_tomorrow_in_shanghai(app_config_context):
    # 17:00 UTC on 31 January is 01:00 on 1 February in Asia/Shanghai (UTC+8).
    assert local_today(datetime(2026, 1, 31, 17, 0)) == date(2026, 2, 1)


def test_local_today_just_before_midnight_in_shanghai(app_config_context):
    assert local_today(datetime(2026, 1, 31, 15, 59)) == date(2026, 1, 31)
    assert local_today(datetime(2026, 1, 31, 16, 0)) == date(2026, 2, 1)


# --- t interval of a mean, with the finite-population correction ---------------------------------

def textbook_t_interval(values, population=None):
    """Mean ± t(0.975, n-1) · s/√n · √((N-n)/(N-1)), from the raw values."""
    from statistics import mean, stdev

    from scipy.stats import t as student

    n = len(values)
    fpc = 1.0 if population is None else math.sqrt((population - n) / (population - 1))
    half = student.ppf(0.975, n - 1) * stdev(values) / math.sqrt(n) * fpc
    return mean(values) - half, mean(values) + half


@pytest.mark.parametrize("values, population", [
    ([5, 4, 3, 5, 4], None), ([5, 4, 3, 5, 4], 40), ([100, 60, 0, 100, 100, 60], 7), ([1, 2], 1000),
])
def test_mean_interval_matches_the_textbook_t_interval(values, population):
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    mean, sd, low, high = mean_interval(counts, population)
    expected_low, expected_high = textbook_t_interval(values, population)
    assert mean == pytest.approx(sum(values) / len(values))
    assert low == pytest.approx(expected_low, abs=1e-12) and high == pytest.approx(expected_high, abs=1e-12)


def test_mean_interval_by_hand_for_five_answers_of_forty():
    # Scores 5, 4, 3, 5, 4: mean 4.2, s² = (0.64 + 0.04 + 1.44 + 0.64 + 0.04) / 4 = 0.7, s = 0.83666
    # t(0.975, 4) = 2.776445; FPC √(35/39) = 0.947331; half = 2.776445 · 0.836660 / 2.236068 · 0.947331 = 0.984135
    mean, sd, low, high = mean_interval({5: 2, 4: 2, 3: 1}, 40)
    assert sd == pytest.approx(math.sqrt(0.7))
    assert (low, high) == (pytest.approx(4.2 - 0.984135, abs=1e-5), pytest.approx(4.2 + 0.984135, abs=1e-5))


def test_mean_interval_is_the_point_when_everyone_answered_and_empty_for_one_answer():
    assert mean_interval({5: 3, 1: 2}, 5)[2:] == (pytest.approx(3.4), pytest.approx(3.4))
    assert mean_interval({4: 1}, 30) == (4, None, None, None)
    assert mean_interval({4: 1}, 1) == (4, None, 4, 4)
    assert mean_interval({}, 10) == (None, None, None, None)


def test_item_statistics_carry_the_mean_interval():
    stats = item_statistics({1: 2, 2: 2, 3: 1}, [(1, 5, True), (2, 4, True), (3, 3, False)], 40)
    assert stats.mean_score == pytest.approx(4.2)
    assert stats.mean_low == pytest.approx(4.2 - 0.984135, abs=1e-5)


# --- Cronbach's alpha ------------------------------------------------------------------------------

def test_cronbach_alpha_matches_the_raw_score_matrix():
    import numpy as np

    # Six respondents, three items (a textbook-sized example).
    matrix = np.array([[4, 5, 4], [3, 3, 2], [5, 5, 5], [2, 3, 3], [4, 4, 5], [1, 2, 1]], dtype=float)
    k = matrix.shape[1]
    expected = k / (k - 1) * (1 - matrix.var(axis=0, ddof=1).sum() / matrix.sum(axis=1).var(ddof=1))
    alpha = cronbach_alpha(list(matrix.var(axis=0, ddof=1)), matrix.sum(axis=1).var(ddof=1))
    assert alpha == pytest.approx(expected) and 0.9 < alpha < 1


def test_cronbach_alpha_needs_two_items_and_variance():
    assert cronbach_alpha([1.0], 2.0) is None
    assert cronbach_alpha([0.0, 0.0], 0.0) is None


# --- comparisons -----------------------------------------------------------------------------------

def test_compare_distributions_is_the_textbook_chi_square_with_cramers_v():
    before, after = {"满意": 30, "基本满意": 10, "不满意": 10}, {"满意": 45, "基本满意": 5, "不满意": 0, "其他": 0}
    # Expected counts: column totals 75, 15, 10 over row totals 50, 50 → 37.5, 7.5, 5 in each row.
    chi2 = sum((o - e) ** 2 / e for o, e in [(30, 37.5), (10, 7.5), (10, 5), (45, 37.5), (5, 7.5), (0, 5)])
    result = compare_distributions(before, after)
    assert result.statistic == pytest.approx(chi2) and result.dof == 2
    assert result.effect == pytest.approx(math.sqrt(chi2 / 100))
    from scipy.stats import chi2 as chi2_distribution
    assert result.p_value == pytest.approx(chi2_distribution.sf(chi2, 2))
    assert compare_distributions({"满意": 3}, {"满意": 4}) is None
    assert compare_distributions({}, {"满意": 4, "不满意": 1}) is None


def test_compare_scores_counts_pairs_for_u_and_gives_the_rank_biserial_effect():
    before, after = {1: 2, 2: 3, 3: 1}, {2: 1, 3: 3, 4: 2}
    earlier = [1, 1, 2, 2, 2, 3]
    later = [2, 3, 3, 3, 4, 4]
    u = sum(1.0 if b > a else 0.5 if b == a else 0.0 for b in later for a in earlier)
    result = compare_scores(before, after)
    assert result.statistic == pytest.approx(u)
    assert result.effect == pytest.approx(2 * u / 36 - 1)
    assert 0 < result.p_value < 0.05
    assert compare_scores({3: 4}, {3: 5}).p_value == 1.0
    assert compare_scores({}, {3: 5}) is None


def test_compare_groups_is_the_tie_corrected_kruskal_wallis_h():
    groups = [{1: 2, 2: 1}, {2: 2, 3: 2}, {3: 1, 4: 3}]
    values = [[1, 1, 2], [2, 2, 3, 3], [3, 4, 4, 4]]
    pooled = sorted(v for group in values for v in group)
    n = len(pooled)
    rank = {v: (pooled.index(v) + 1 + n - pooled[::-1].index(v)) / 2 for v in set(pooled)}  # mid-ranks
    h = 12 / (n * (n + 1)) * sum(sum(rank[v] for v in g) ** 2 / len(g) for g in values) - 3 * (n + 1)
    ties = sum(c ** 3 - c for c in (pooled.count(v) for v in set(pooled)))
    h /= 1 - ties / (n ** 3 - n)
    result = compare_groups(groups)
    assert result.statistic == pytest.approx(h) and result.dof == 2
    assert result.effect == pytest.approx(h / (n - 1))
    assert compare_groups([{3: 4}, {3: 2}]) is None
    assert compare_groups([{3: 4}, {}]) is None
