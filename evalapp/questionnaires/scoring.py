"""How an answer scores: an option's place on its item's scale, from 0 to 100."""


def normalised(score, scores):
    """Return `score` on 0–100 between the lowest and highest of `scores` (100 if they are all equal)."""
    span = max(scores) - min(scores)
    return 100 * (score - min(scores)) / span if span else 100.0
