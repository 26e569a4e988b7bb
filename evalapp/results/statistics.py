"""Pure statistics on tallies; see docs/statistics.md for the formulas."""
import math
from dataclasses import dataclass
from fractions import Fraction

from scipy.stats import norm

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


@dataclass
class ItemStats:
    answered: int
    satisfied: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    mean_score: float | None
    normalised_score: float | None


def item_statistics(option_counts, options, population):
    """Return ItemStats for one item from {option id: count} and its (id, score, satisfied) options."""
    answered = sum(option_counts.get(option_id, 0) for option_id, _score, _satisfied in options)
    satisfied = sum(option_counts.get(option_id, 0) for option_id, _score, counts in options if counts)
    if answered == 0:
        return ItemStats(0, 0, None, None, None, None, None)
    low, high = wilson_interval(satisfied, answered, population)
    mean = sum(option_counts.get(option_id, 0) * score for option_id, score, _s in options) / answered
    scores = [score for _id, score, _s in options]
    span = max(scores) - min(scores)
    normalised = 100 * (mean - min(scores)) / span if span else 100.0
    return ItemStats(answered, satisfied, satisfied / answered, low, high, mean, normalised)


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
