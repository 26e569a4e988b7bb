"""Plain data for the result page and the result PDF (templates get no ORM objects to walk)."""
from evalapp.core.timeutil import local_today
from evalapp.questionnaires.models import DIMENSIONS, ItemKind
from evalapp.results.statistics import MIN_GROUP_SIZE


def result_context(campaign, include_texts=False):
    """Return the template context; free-text answers only for those who run the campaign (`include_texts`)."""
    from evalapp.results.operations import text_answers

    result = campaign.result
    items = []
    for row in result.items:
        options = [{"label": o.label, "count": row.option_counts.get(str(o.id), 0),
                    "share": (row.option_counts.get(str(o.id), 0) / row.answered) if row.answered else None}
                   for o in row.item.options]
        items.append({"position": row.position, "prompt": row.item.prompt, "dimension": row.item.dimension,
                      "weight": float(row.item.weight), "answered": row.answered, "satisfied": row.satisfied,
                      "rate": row.rate, "rate_low": row.rate_low, "rate_high": row.rate_high,
                      "mean": row.mean_score, "mean_low": row.mean_low, "mean_high": row.mean_high,
                      "score": row.normalised_score, "options": options,
                      "kind": row.item.kind.value, "kind_label": row.item.kind.label, "scored": row.item.scored,
                      "texts": text_answers(campaign, row.item) if include_texts and row.item.kind == ItemKind.text
                      else None})
    # Without quorum the result is void; with very few voters, per-item figures would expose them.
    breakdown_shown = result.quorum_met and result.turnout >= MIN_GROUP_SIZE
    if not breakdown_shown:
        items = []
    dimensions = dimension_scores(items)
    today = local_today()
    rectifications = [{"id": r.id, "problem": r.problem, "due_date": r.due_date, "state": r.state.label,
                       "plan": r.plan, "outcome": r.outcome, "overdue": r.is_overdue(today)}
                      for r in campaign.rectifications]
    return {
        "campaign": campaign,
        "result": {
            "electorate": result.electorate_size, "turnout": result.turnout,
            "turnout_rate": result.turnout / result.electorate_size if result.electorate_size else None,
            "quorum_required": result.quorum_required, "quorum_met": result.quorum_met,
            "overall_score": result.overall_score if result.quorum_met else None, "grade": result.grade,
            "breakdown_shown": breakdown_shown, "min_group": MIN_GROUP_SIZE, "digest": result.ballot_digest,
            "computed_at": result.computed_at, "published_at": campaign.published_at,
            "ballot_score": (result.ballot_score_mean, result.ballot_score_low, result.ballot_score_high)
            if breakdown_shown and result.ballot_score_mean is not None else None,
            "alpha": result.alpha if breakdown_shown else None,
            "comparison": result.comparison if breakdown_shown else None,
            "flags": (result.flags or []) if breakdown_shown else [],
            "rectify_below": float(campaign.questionnaire.rectify_below_rate),
        },
        "items": items,
        "dimensions": dimensions,
        "rectifications": rectifications,
    }


def dimension_scores(items):
    """Return [{"name", "score"}] per dimension (德能勤绩廉 order): the weighted mean of its scored items."""
    totals = {}
    for item in items:
        if item["dimension"] and item["scored"] and item["score"] is not None:
            score_sum, weight_sum = totals.get(item["dimension"], (0.0, 0.0))
            totals[item["dimension"]] = (score_sum + item["score"] * item["weight"], weight_sum + item["weight"])
    return [{"name": name, "score": totals[name][0] / totals[name][1]} for name in DIMENSIONS if name in totals]
