"""Tallying ballots in the database and freezing the result at publication."""
import hashlib

from sqlalchemy import func, select

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.results import statistics
from evalapp.results.models import Result, ResultItem
from evalapp.voting.models import Answer, Ballot, Participation


def tally(campaign):
    """Return {item id: {option id: count}}, aggregated by the database."""
    rows = db.session.execute(
        select(Answer.item_id, Answer.option_id, func.count())
        .join(Ballot, Answer.ballot_id == Ballot.id)
        .where(Ballot.campaign_id == campaign.id)
        .group_by(Answer.item_id, Answer.option_id))
    counts = {}
    for item_id, option_id, count in rows:
        counts.setdefault(item_id, {})[option_id] = count
    return counts


def turnout(campaign):
    return db.session.scalar(select(func.count()).select_from(Participation).filter_by(campaign_id=campaign.id))


def digest_of_sorted_answers(rows):
    """Return SHA-256 over one line per ballot, "<ballot id>:<item>=<option>,…\\n".

    `rows` are (ballot id, item id, option id) sorted by ballot id, then item id.
    """
    digest = hashlib.sha256()
    current, parts = None, []
    for ballot_id, item_id, option_id in rows:
        if ballot_id != current:
            if current is not None:
                digest.update(f"{current}:{','.join(parts)}\n".encode())
            current, parts = ballot_id, []
        parts.append(f"{item_id}={option_id}")
    if current is not None:
        digest.update(f"{current}:{','.join(parts)}\n".encode())
    return digest.hexdigest()


def ballot_digest(campaign):
    """Return the digest of the campaign's ballots as stored in the database."""
    return digest_of_sorted_answers(db.session.execute(
        select(Ballot.id, Answer.item_id, Answer.option_id).join(Answer)
        .where(Ballot.campaign_id == campaign.id).order_by(Ballot.id, Answer.item_id)))


def compute_result(campaign):
    """Return an unsaved Result for a closed campaign, computed from its ballots."""
    questionnaire = campaign.questionnaire
    counts = tally(campaign)
    voters = turnout(campaign)
    electorate = campaign.electorate_size
    required = statistics.quorum_required(electorate, questionnaire.quorum_fraction)
    result = Result(campaign=campaign, electorate_size=electorate, turnout=voters, quorum_required=required,
                    quorum_met=voters >= required, ballot_digest=ballot_digest(campaign), computed_at=utcnow())
    weighted = []
    for item in questionnaire.items:
        item_counts = counts.get(item.id, {})
        options = [(o.id, float(o.score), o.counts_satisfied) for o in item.options]
        stats = statistics.item_statistics(item_counts, options, electorate)
        result.items.append(ResultItem(
            item=item, position=item.position, answered=stats.answered, satisfied=stats.satisfied,
            rate=stats.rate, rate_low=stats.rate_low, rate_high=stats.rate_high, mean_score=stats.mean_score,
            normalised_score=stats.normalised_score,
            option_counts={str(option_id): count for option_id, count in sorted(item_counts.items())}))
        weighted.append((stats.normalised_score, float(item.weight)))
    result.overall_score = statistics.weighted_score(weighted)
    if result.quorum_met and result.overall_score is not None:
        result.grade = questionnaire.grade_for(result.overall_score)
    return result


def freeze_result(campaign):
    """Compute, store and audit the result of `campaign`; a result is frozen once it exists."""
    if campaign.result is not None:
        raise Refused("该活动的结果已公布，不能重新计算。")
    with db.session.no_autoflush:  # the new Result joins the session only once it is complete
        result = compute_result(campaign)
    db.session.add(result)
    db.session.flush()
    audit.record("result.frozen", result, turnout=result.turnout, electorate=result.electorate_size,
                 overall_score=result.overall_score, grade=result.grade, digest=result.ballot_digest)
    return result
