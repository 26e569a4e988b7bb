"""Tallying ballots in the database and freezing the result at publication."""
import hashlib
from dataclasses import dataclass

from sqlalchemy import case, func, select, text

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.scoring import normalised
from evalapp.results import analysis, statistics
from evalapp.results.models import Result, ResultItem
from evalapp.voting.models import Answer, Ballot, TextAnswer
from evalapp.voting.operations import ballots_cast


def tally(campaign):
    """Return {item id: {option id: count}}, aggregated by the database."""
    rows = db.session.execute(
        select(Answer.item_id, Answer.option_id, func.count())
        .where(Answer.campaign_id == campaign.id)
        .group_by(Answer.item_id, Answer.option_id))
    counts = {}
    for item_id, option_id, count in rows:
        counts.setdefault(item_id, {})[option_id] = count
    return counts


def answered_counts(campaign):
    """Return {item id: ballots that answered it} for multiple-choice and free-text items.

    (For every other item each ballot has at most one answer, so the tally's sum is the count.)
    """
    questionnaire = campaign.questionnaire
    multiple = [item.id for item in questionnaire.items if item.kind == ItemKind.multiple]
    text_items = [item.id for item in questionnaire.items if item.kind == ItemKind.text]
    counts = {}
    if multiple:
        counts.update(db.session.execute(
            select(Answer.item_id, func.count(func.distinct(Answer.ballot_id)))
            .where(Answer.campaign_id == campaign.id, Answer.item_id.in_(multiple)).group_by(Answer.item_id)).all())
    if text_items:
        counts.update(db.session.execute(
            select(TextAnswer.item_id, func.count())
            .where(TextAnswer.campaign_id == campaign.id, TextAnswer.item_id.in_(text_items))
            .group_by(TextAnswer.item_id)).all())
    return counts


def text_line(item_id, body):
    """Return how a free-text answer enters the digest: "t:<item>=<SHA-256 of its UTF-8 text>\\n"."""
    return f"t:{item_id}={hashlib.sha256(body.encode()).hexdigest()}\n"


def digest_of_listing(ballots, texts):
    """Return SHA-256 over the canonical listing of a campaign's ballots and free-text answers.

    `ballots`: (ballot id, [(item id, option id), …]) in ballot-id order, each ballot's answers by
    item then option; each gives the line "<ballot id>:<item>=<option>,…\\n" (a ballot without
    answers gives "<ballot id>:\\n"). Then `texts`, (item id, text) pairs, as `text_line`s sorted
    as strings: free text is kept apart from ballots, so it is listed apart from them.
    """
    digest = hashlib.sha256()
    for ballot_id, answers in ballots:
        digest.update(f"{ballot_id}:{','.join(f'{item}={option}' for item, option in answers)}\n".encode())
    for line in sorted(text_line(item_id, body) for item_id, body in texts):
        digest.update(line.encode())
    return digest.hexdigest()


def ballot_digest(campaign):
    """Return the digest of the campaign's ballots as stored in the database.

    PostgreSQL builds the listing and hashes it itself (a million ballots in seconds rather than a
    minute); elsewhere Python does, from rows in the same order. Both give the same digest.
    """
    if db.engine.dialect.name == "postgresql":
        return db.session.scalar(_POSTGRESQL_DIGEST, {"campaign": campaign.id})
    return ballot_digest_in_python(campaign)


def ballot_digest_in_python(campaign):
    # Ballot ids are compared byte by byte ("C" collation) as Python compares them.
    postgresql = db.engine.dialect.name == "postgresql"

    def bytewise(column):
        return column.collate("C") if postgresql else column

    ballot_ids = db.session.scalars(
        select(Ballot.id).where(Ballot.campaign_id == campaign.id).order_by(bytewise(Ballot.id))).all()
    rows = db.session.execute(
        select(Answer.ballot_id, Answer.item_id, Answer.option_id).where(Answer.campaign_id == campaign.id)
        .order_by(bytewise(Answer.ballot_id), Answer.item_id, Answer.option_id)).all()
    texts = db.session.execute(
        select(TextAnswer.item_id, TextAnswer.body).where(TextAnswer.campaign_id == campaign.id)).all()

    def ballots():
        position = 0
        for ballot_id in ballot_ids:
            answers = []
            while position < len(rows) and rows[position][0] == ballot_id:
                answers.append((rows[position][1], rows[position][2]))
                position += 1
            yield ballot_id, answers

    return digest_of_listing(ballots(), texts)


#: The digest_of_listing listing, built and hashed by PostgreSQL.
_POSTGRESQL_DIGEST = text("""
    WITH lines AS (
        SELECT b.id AS ballot_id,
               b.id || ':' || coalesce(string_agg(a.item_id || '=' || a.option_id, ',' ORDER BY a.item_id, a.option_id), '')
               || E'\\n' AS line
        FROM ballots b LEFT JOIN answers a ON a.ballot_id = b.id
        WHERE b.campaign_id = :campaign
        GROUP BY b.id
    ), texts AS (
        SELECT 't:' || item_id || '=' || encode(sha256(convert_to(body, 'UTF8')), 'hex') || E'\\n' AS line
        FROM text_answers WHERE campaign_id = :campaign
    )
    SELECT encode(sha256(convert_to(
        coalesce((SELECT string_agg(line, '' ORDER BY ballot_id COLLATE "C") FROM lines), '')
        || coalesce((SELECT string_agg(line, '' ORDER BY line COLLATE "C") FROM texts), ''), 'UTF8')), 'hex')
""")


def compute_result(campaign):
    """Return an unsaved Result for a closed campaign, computed from its ballots."""
    questionnaire = campaign.questionnaire
    counts = tally(campaign)
    answered = answered_counts(campaign)
    voters = ballots_cast(campaign)
    electorate = campaign.electorate_size
    required = statistics.quorum_required(electorate, questionnaire.quorum_fraction)
    result = Result(campaign=campaign, electorate_size=electorate, turnout=voters, quorum_required=required,
                    quorum_met=voters >= required, ballot_digest=ballot_digest(campaign), computed_at=utcnow())
    for item in questionnaire.items:
        item_counts = counts.get(item.id, {})
        if item.scored:
            options = [(o.id, float(o.score), o.counts_satisfied) for o in item.options]
            stats = statistics.item_statistics(item_counts, options, electorate)
        else:  # choices without scores and free text: counts only
            stats = statistics.ItemStats(answered.get(item.id, sum(item_counts.values())), 0, None, None, None, None, None)
        result.items.append(ResultItem(
            item=item, position=item.position, answered=stats.answered, satisfied=stats.satisfied,
            rate=stats.rate, rate_low=stats.rate_low, rate_high=stats.rate_high, mean_score=stats.mean_score,
            mean_low=stats.mean_low, mean_high=stats.mean_high, normalised_score=stats.normalised_score,
            option_counts={str(option_id): count for option_id, count in sorted(item_counts.items())}))
    # An item whose figures are withheld (too few answered it) stays out of a shown overall score:
    # that score less the shown items' would give its figure back.
    result.overall_score = statistics.weighted_score(
        (row.normalised_score, float(row.item.weight)) for row in result.items
        if row.item.scored and (row.figures_shown or not result.figures_shown))
    if result.quorum_met and result.overall_score is not None:
        result.grade = questionnaire.grade_for(result.overall_score)
    summaries = ballot_summaries(campaign)
    result.ballot_score_mean, _sd, result.ballot_score_low, result.ballot_score_high = \
        statistics.mean_interval(summaries.score_counts, electorate)
    result.uniform_ballots = summaries.uniform
    result.alpha = _alpha(questionnaire, counts, summaries)
    if result.figures_shown:
        result.comparison = analysis.compare_with_previous(campaign, counts, summaries.score_counts)
        result.flags = analysis.warning_flags(campaign, voters, summaries)
    else:  # nothing derived from these ballots is shown (Result.figures_shown): none is kept to show either
        result.comparison, result.flags = None, []
    return result


@dataclass
class BallotSummaries:
    score_counts: dict  # {ballot score: ballots}
    complete: int  # ballots that answered every scored item
    item_sum_total: float
    item_sum_squares: float
    uniform: int


def ballot_summaries(campaign):
    """Aggregate the ballots' own summary columns: two queries over the ballots, none over the answers."""
    complete, total, squares, uniform = db.session.execute(
        select(func.count(Ballot.item_sum), func.sum(Ballot.item_sum), func.sum(Ballot.item_sum * Ballot.item_sum),
               func.sum(case((Ballot.uniform, 1), else_=0)))
        .where(Ballot.campaign_id == campaign.id)).one()
    score_counts = dict(db.session.execute(
        select(Ballot.score, func.count()).where(Ballot.campaign_id == campaign.id, Ballot.score.is_not(None))
        .group_by(Ballot.score)).all())
    return BallotSummaries(score_counts, complete or 0, float(total or 0), float(squares or 0), int(uniform or 0))


def _alpha(questionnaire, counts, summaries):
    """Cronbach's alpha on the normalised item scores, over ballots that answered every scored item.

    Only when every scored item is required: then the item variances from the tally and the total's
    variance from the ballots describe the same ballots.
    """
    scored = [item for item in questionnaire.items if item.scored]
    if len(scored) < 2 or not all(item.required for item in scored):
        return None
    variances = []
    for item in scored:
        scores = [float(o.score) for o in item.options]
        values = {}
        for option in item.options:
            value = normalised(float(option.score), scores)
            values[value] = values.get(value, 0) + counts.get(item.id, {}).get(option.id, 0)
        n = sum(values.values())
        variances.append(statistics.variance_from_sums(
            n, sum(v * c for v, c in values.items()), sum(v * v * c for v, c in values.items())))
    total_variance = statistics.variance_from_sums(summaries.complete, summaries.item_sum_total,
                                                   summaries.item_sum_squares)
    if total_variance is None or any(variance is None for variance in variances):
        return None
    return statistics.cronbach_alpha(variances, total_variance)


def text_answers(campaign, item):
    """Return the free-text answers to `item`, sorted by text so that no storage order shows."""
    return list(db.session.scalars(
        select(TextAnswer.body)
        .where(TextAnswer.campaign_id == campaign.id, TextAnswer.item_id == item.id).order_by(TextAnswer.body)))


def freeze_result(campaign, actor=audit.CURRENT_USER):
    """Compute, store and audit the result of `campaign`; a result is frozen once it exists.

    `actor` is who published it: a background job has no logged-in account to fall back on.
    """
    if campaign.result is not None:
        raise Refused("该活动的结果已公布，不能重新计算。")
    with db.session.no_autoflush:  # the new Result joins the session only once it is complete
        result = compute_result(campaign)
    db.session.add(result)
    db.session.flush()
    audit.record("result.frozen", result, actor=actor, turnout=result.turnout, electorate=result.electorate_size,
                 overall_score=result.shown_overall_score, grade=result.shown_grade, digest=result.ballot_digest)
    return result
