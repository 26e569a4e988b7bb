"""Comparing the campaigns of a batch: a ranking that respects uncertainty, and one test across all."""
from dataclasses import dataclass

from sqlalchemy import func, select

from evalapp.campaigns.models import RESULT_STATES
from evalapp.core.db import db
from evalapp.results import statistics
from evalapp.voting.models import Ballot


@dataclass
class RankedCampaign:
    rank: int
    campaign: object
    mean: float
    low: float
    high: float
    voters: int
    grade: str | None


def published(campaign):
    """A result members may see: one counted at closing waits for the officers to publish it."""
    return campaign.result is not None and campaign.state in RESULT_STATES


def comparable(campaign):
    """A published result whose figures are shown (Result.figures_shown) and that has ballot scores."""
    result = campaign.result
    return published(campaign) and result.figures_shown and result.ballot_score_low is not None


def batch_ranking(campaigns):
    """Return (ranked campaigns, Kruskal–Wallis comparison or None, campaigns left out).

    Campaigns are ranked by the lower bound of the t interval of their ballots' mean score, so a
    union with few voters does not come first on a lucky handful of ballots. The Kruskal–Wallis
    test asks whether the ballots' scores differ between the unions at all.
    """
    ranked = sorted((c for c in campaigns if comparable(c)), key=lambda c: (-c.result.ballot_score_low, c.id))
    left_out = [c for c in campaigns if published(c) and not comparable(c)]
    rows = [RankedCampaign(position, c, c.result.ballot_score_mean, c.result.ballot_score_low,
                           c.result.ballot_score_high, c.result.turnout, c.result.grade)
            for position, c in enumerate(ranked, start=1)]
    test = None
    if len(ranked) >= 2:
        groups = {c.id: {} for c in ranked}
        for campaign_id, score, count in db.session.execute(
                select(Ballot.campaign_id, Ballot.score, func.count())
                .where(Ballot.campaign_id.in_(groups), Ballot.score.is_not(None))
                .group_by(Ballot.campaign_id, Ballot.score)):
            groups[campaign_id][score] = count
        test = statistics.compare_groups(list(groups.values()))
    return rows, test, left_out
