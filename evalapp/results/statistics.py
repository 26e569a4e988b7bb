"""Pure statistics on tallies; see docs/statistics.md for the formulas."""
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.stats import chi2_contingency, kruskal, mannwhitneyu, norm, t

from evalapp.questionnaires.scoring import normalised

#: No breakdown is published for fewer voters than this: it would show how individuals voted.
MIN_GROUP_SIZE = 5


def finite_population_factor(sample, population):
    """Return sqrt((N - n) / (N - 1)); 0 when everyone answered, 1 when N is unknown."""
    if population is None:
        return 1.0
    if sample >= population:
        return 0.0
    return math.sqrt((population - sample) / (population - 1))


def wilson_interval(successes, sample, population=None, confidence=0.95):
    """Return the Wilson score interval (low, high) for successes/sample with the FPC.

    The finite-population correction scales z by sqrt((N-n)/(N-1)), which is the same as using
    the effective sample size n(N-1)/(N-n); when everyone voted the interval is the point.
    """
    if sample == 0:
        return None, None
    p = successes / sample
    z = norm.ppf(0.5 + confidence / 2) * finite_population_factor(sample, population)
    z2 = z * z
    denominator = 1 + z2 / sample
    centre = (p + z2 / (2 * sample)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / sample + z2 / (4 * sample * sample))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def mean_interval(score_counts, population=None, confidence=0.95):
    """Return (mean, sd, low, high) of scores given as {score: count}, with a t interval and the FPC.

    sd is the sample standard deviation (n - 1); the half-width is t(n-1) * sd / sqrt(n) scaled by
    sqrt((N - n) / (N - 1)), so the interval is the point when everyone answered. With a single
    answer from a larger population there is no interval.
    """
    n = sum(score_counts.values())
    if n == 0:
        return None, None, None, None
    mean = sum(score * count for score, count in score_counts.items()) / n
    if n == 1:
        sd = None
        return (mean, sd, mean, mean) if population == 1 else (mean, sd, None, None)
    sd = math.sqrt(sum(count * (score - mean) ** 2 for score, count in score_counts.items()) / (n - 1))
    half_width = t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) * finite_population_factor(n, population)
    return mean, sd, mean - half_width, mean + half_width


def cronbach_alpha(item_variances, total_variance):
    """Return Cronbach's alpha, k/(k-1) * (1 - sum of item variances / variance of the total score).

    None for fewer than two items or a total without variance (everyone gave the same answers).
    """
    k = len(item_variances)
    if k < 2 or not total_variance:
        return None
    return k / (k - 1) * (1 - sum(item_variances) / total_variance)


@dataclass
class Comparison:
    statistic: float
    p_value: float
    effect: float
    dof: int | None = None


def compare_distributions(before, after):
    """Chi-square test of independence on two answer distributions ({option key: count}).

    Options nobody chose in either campaign are dropped. The effect size is Cramér's V
    (sqrt(chi2 / n) for a 2 × k table). No continuity correction, so 2 × 2 tables agree with the
    textbook formula. None when there are fewer than two options with answers or an empty side.
    """
    keys = sorted(key for key in set(before) | set(after) if before.get(key, 0) + after.get(key, 0))
    table = np.array([[before.get(key, 0) for key in keys], [after.get(key, 0) for key in keys]])
    if len(keys) < 2 or not table[0].sum() or not table[1].sum():
        return None
    chi2, p_value, dof, _expected = chi2_contingency(table, correction=False)
    return Comparison(float(chi2), float(p_value), math.sqrt(chi2 / table.sum()), int(dof))


def _expand(score_counts):
    return np.repeat(np.array(list(score_counts), dtype=float), list(score_counts.values()))


def compare_scores(before, after):
    """Mann–Whitney U test on two score distributions ({score: count}), two-sided, tie-corrected.

    The effect size is the rank-biserial correlation 2U/(n1 n2) - 1 for `after` against `before`:
    +1 when every later score beats every earlier one. None when a side is empty.
    """
    a, b = _expand(after), _expand(before)
    if not len(a) or not len(b):
        return None
    if np.ptp(np.concatenate([a, b])) == 0:  # everyone gave the same score: nothing changed
        return Comparison(len(a) * len(b) / 2, 1.0, 0.0)
    result = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    return Comparison(float(result.statistic), float(result.pvalue), 2 * result.statistic / (len(a) * len(b)) - 1)


def compare_groups(groups):
    """Kruskal–Wallis H test across groups of scores ({score: count} each), tie-corrected.

    The effect size is epsilon squared, H / (n - 1). Groups without scores are left out; None when
    fewer than two groups remain or all scores are equal.
    """
    samples = [_expand(group) for group in groups if sum(group.values())]
    if len(samples) < 2 or np.ptp(np.concatenate(samples)) == 0:
        return None
    statistic, p_value = kruskal(*samples)
    n = sum(len(sample) for sample in samples)
    return Comparison(float(statistic), float(p_value), float(statistic) / (n - 1), len(samples) - 1)


@dataclass
class ItemStats:
    answered: int
    satisfied: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    mean_score: float | None
    normalised_score: float | None
    mean_low: float | None = None
    mean_high: float | None = None


def item_statistics(option_counts, options, population):
    """Return ItemStats for one item from {option id: count} and its (id, score, satisfied) options."""
    answered = sum(option_counts.get(option_id, 0) for option_id, _score, _satisfied in options)
    satisfied = sum(option_counts.get(option_id, 0) for option_id, _score, counts in options if counts)
    if answered == 0:
        return ItemStats(0, 0, None, None, None, None, None)
    low, high = wilson_interval(satisfied, answered, population)
    score_counts = {}
    for option_id, score, _s in options:
        score_counts[score] = score_counts.get(score, 0) + option_counts.get(option_id, 0)
    mean, _sd, mean_low, mean_high = mean_interval(score_counts, population)
    scores = [score for _id, score, _s in options]
    return ItemStats(answered, satisfied, satisfied / answered, low, high, mean, normalised(mean, scores),
                     mean_low, mean_high)


def variance_from_sums(count, total, total_of_squares):
    """Return the sample variance (n - 1) from n, Σx and Σx² (None below two values)."""
    if count < 2:
        return None
    return max(0.0, (total_of_squares - total * total / count) / (count - 1))


def weighted_score(normalised_scores_and_weights):
    """Return the weighted mean of (score, weight) pairs, skipping items nobody answered."""
    pairs = [(score, weight) for score, weight in normalised_scores_and_weights if score is not None]
    total_weight = sum(weight for _score, weight in pairs)
    if not total_weight:
        return None
    return sum(score * weight for score, weight in pairs) / total_weight


def quorum_required(electorate, ratio):
    """Return the number of voters needed: the ratio of the electorate, rounded up.

    `ratio` should be exact (a Fraction such as 2/3); floats are turned into the nearest simple
    fraction so that 2/3 of 30 is 20, not 21.
    """
    if not isinstance(ratio, Fraction):
        ratio = Fraction(ratio).limit_denominator(1000)
    return math.ceil(electorate * ratio)
