"""What a result says beyond its own figures: change since the previous campaign, and warnings.

Both are computed once, when the result is frozen, and stored with it.
"""
from sqlalchemy import func, select

from evalapp.core.db import db
from evalapp.core.timeutil import to_local, utcnow
from evalapp.questionnaires.models import ItemKind
from evalapp.results import statistics
from evalapp.results.models import min_group_size
from evalapp.voting.models import Participation, TextAnswer

#: Below this many ballots a share of identical ballots says nothing.
UNIFORM_MIN_BALLOTS = 20
#: Share of ballots with the same option position on every scored item that earns a warning.
UNIFORM_WARNING_SHARE = 0.9
#: The same free text this many times (or more) earns a warning.
REPEATED_TEXT_MIN = 3
#: A voting window shorter than this has no hours to compare (a meeting that votes together is normal then).
BURST_MIN_WINDOW_HOURS = 24
#: One hour with at least this many ballots and at least this share of all of them earns a warning.
BURST_MIN_BALLOTS = 20
BURST_SHARE = 1 / 3
#: Differences with a p-value below this are called significant on the pages.
SIGNIFICANCE = 0.05


def previous_campaign(campaign):
    """Return the union's latest campaign of the same kind published before this result was counted
    (at closing, before its own publication) whose result shows its figures (Result.figures_shown), or None.

    A void or small result publishes no figures; comparing with it would publish them.
    """
    from evalapp.campaigns.models import Campaign, CampaignState
    from evalapp.results.models import Result

    return db.session.scalar(
        select(Campaign).join(Result, Result.campaign_id == Campaign.id)
        .where(Campaign.union_id == campaign.union_id, Campaign.subject_kind == campaign.subject_kind,
               Campaign.id != campaign.id, Result.figures_shown,
               Campaign.state.in_((CampaignState.published, CampaignState.archived)),
               Campaign.published_at <= (campaign.published_at or utcnow()))
        .order_by(Campaign.published_at.desc(), Campaign.id.desc()).limit(1))


def compare_with_previous(campaign, counts, score_counts):
    """Return the comparison with the previous campaign as plain data, or None if there is none.

    Items are matched by kind and wording; each matched scored item gets a chi-square test on its
    answer distribution (by option label) and a Mann–Whitney test on its scores; the ballots'
    overall scores get a Mann–Whitney test too.
    """
    from evalapp.results.operations import ballot_summaries

    previous = previous_campaign(campaign)
    if previous is None:
        return None
    earlier = {(row.item.kind, row.item.prompt): row for row in previous.result.items}
    items = []
    for item in campaign.questionnaire.items:
        before_row = earlier.get((item.kind, item.prompt))
        if not item.scored or before_row is None or not before_row.item.scored or not before_row.figures_shown:
            continue
        after_counts = counts.get(item.id, {})
        if sum(after_counts.values()) < min_group_size():  # too few answers now: nothing to compare in public
            continue
        before_labels = _by(before_row.item.options, before_row.option_counts, lambda o: o.label, str)
        after_labels = _by(item.options, after_counts, lambda o: o.label, int)
        before_scores = _by(before_row.item.options, before_row.option_counts, lambda o: float(o.score), str)
        after_scores = _by(item.options, after_counts, lambda o: float(o.score), int)
        after_total = sum(after_counts.values())
        satisfied = sum(after_counts.get(o.id, 0) for o in item.options if o.counts_satisfied)
        items.append({
            "position": item.position, "prompt": item.prompt,
            "rate_before": before_row.rate, "rate_after": satisfied / after_total if after_total else None,
            "distribution": _plain(statistics.compare_distributions(before_labels, after_labels)),
            "scores": _plain(statistics.compare_scores(before_scores, after_scores)),
        })
    return {
        "campaign_id": previous.id, "title": previous.title,
        "published_at": previous.published_at.isoformat(),
        "overall_before": previous.result.overall_score,
        "overall": _plain(statistics.compare_scores(ballot_summaries(previous).score_counts, score_counts)),
        "items": items,
    }


def _by(options, option_counts, key, id_type):
    """Re-key {option id: count} by an option property (label or score), summing equal keys."""
    totals = {}
    for option in options:
        count = option_counts.get(id_type(option.id), 0)
        totals[key(option)] = totals.get(key(option), 0) + count
    return totals


def _plain(comparison):
    if comparison is None:
        return None
    return {"statistic": comparison.statistic, "p": comparison.p_value, "effect": comparison.effect,
            "dof": comparison.dof, "significant": comparison.p_value < SIGNIFICANCE}


def warning_flags(campaign, voters, summaries):
    """Return the warnings an officer should look into before trusting the result."""
    flags = []
    if voters >= UNIFORM_MIN_BALLOTS and summaries.uniform / voters >= UNIFORM_WARNING_SHARE:
        flags.append({"kind": "straight_lining", "message": (
            f"{summaries.uniform} 张选票（{summaries.uniform / voters:.0%}）在所有计分题上都选择了同一位置的选项"
            "（例如全部“满意”）。请了解是否有人统一指导投票。")})
    flags += turnout_bursts(campaign, voters)
    text_items = {item.id: item for item in campaign.questionnaire.items if item.kind == ItemKind.text}
    if text_items:
        repeated = db.session.execute(
            select(TextAnswer.item_id, func.count(), func.max(func.length(TextAnswer.body)))
            .where(TextAnswer.campaign_id == campaign.id, TextAnswer.item_id.in_(text_items))
            .group_by(TextAnswer.item_id, TextAnswer.body).having(func.count() >= REPEATED_TEXT_MIN))
        worst = {}
        for item_id, count, _length in repeated:
            worst[item_id] = max(worst.get(item_id, 0), count)
        for item_id, count in sorted(worst.items(), key=lambda pair: text_items[pair[0]].position):
            flags.append({"kind": "repeated_text", "message": (
                f"第 {text_items[item_id].position} 题有同一内容被 {count} 张选票原样填写。请了解是否为组织填写。")})
    return flags


def turnout_bursts(campaign, voters):
    """Warnings for single hours in which a large share of all ballots was cast (organised voting?).

    Counted from the hour kept on participations (who voted); ballots carry no time at all.
    """
    if campaign.opened_at is None or campaign.closed_at is None or voters < BURST_MIN_BALLOTS:
        return []
    if (campaign.closed_at - campaign.opened_at).total_seconds() < BURST_MIN_WINDOW_HOURS * 3600:
        return []
    threshold = max(BURST_MIN_BALLOTS, voters * BURST_SHARE)
    hours = db.session.execute(
        select(Participation.voted_hour, func.count()).where(
            Participation.campaign_id == campaign.id, Participation.voted_hour.is_not(None))
        .group_by(Participation.voted_hour).having(func.count() >= threshold).order_by(Participation.voted_hour))
    return [{"kind": "turnout_burst", "message": (
        f"{to_local(hour):%Y-%m-%d %H:00} 起的一小时内有 {count} 人投票，占全部参评人数的 {count / voters:.0%}。"
        "请了解是否有人集中组织投票。")} for hour, count in hours]
