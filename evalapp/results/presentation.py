"""Plain data for the result page and the result PDF (templates get no ORM objects to walk)."""
from evalapp.core.timeutil import local_today
from evalapp.questionnaires.models import DIMENSIONS, ItemKind
from evalapp.results.models import min_group_size


def result_context(campaign, include_texts=False):
    """Return the template context; free-text answers only for those who run the campaign (`include_texts`)."""
    from evalapp.results.operations import text_answers

    result = campaign.result
    shown = result.figures_shown  # see Result.figures_shown: the small-group rule
    items = []
    for row in result.items if shown else ():
        if not row.figures_shown:  # too few answers to this item: its prompt only
            items.append({"position": row.position, "prompt": row.item.prompt, "dimension": row.item.dimension,
                          "kind": row.item.kind.value, "kind_label": row.item.kind.label, "scored": row.item.scored,
                          "withheld": True, "score": None, "rate": None, "options": [], "texts": None})
            continue
        options = [{"label": o.label, "count": row.option_counts.get(str(o.id), 0),
                    "share": (row.option_counts.get(str(o.id), 0) / row.answered) if row.answered else None}
                   for o in row.item.options]
        items.append({"position": row.position, "prompt": row.item.prompt, "dimension": row.item.dimension,
                      "weight": float(row.item.weight), "answered": row.answered, "satisfied": row.satisfied,
                      "rate": row.rate, "rate_low": row.rate_low, "rate_high": row.rate_high,
                      "mean": row.mean_score, "mean_low": row.mean_low, "mean_high": row.mean_high,
                      "score": row.normalised_score, "options": options,
                      "kind": row.item.kind.value, "kind_label": row.item.kind.label, "scored": row.item.scored,
                      "withheld": False,
                      "texts": text_answers(campaign, row.item) if include_texts and row.item.kind == ItemKind.text
                      else None})
    dimensions = dimension_scores(items)
    today = local_today()
    rectifications = [{"id": r.id, "problem": r.problem, "due_date": r.due_date, "state": r.state.label,
                       "plan": r.plan, "outcome": r.outcome, "overdue": r.is_overdue(today),
                       "finished": r.published_at is not None}
                      for r in campaign.rectifications]
    return {
        "campaign": campaign,
        "result": {
            "electorate": result.electorate_size, "turnout": result.turnout,
            "turnout_rate": result.turnout / result.electorate_size if result.electorate_size else None,
            "quorum_required": result.quorum_required, "quorum_met": result.quorum_met,
            "overall_score": result.shown_overall_score, "grade": result.shown_grade,
            "breakdown_shown": shown, "withheld_reason": result.withheld_reason,
            "too_few_voters": result.too_few_voters, "min_group": min_group_size(), "digest": result.ballot_digest,
            "computed_at": result.computed_at, "published_at": campaign.published_at,
            "ballot_score": (result.ballot_score_mean, result.ballot_score_low, result.ballot_score_high)
            if shown and result.ballot_score_mean is not None else None,
            "alpha": result.alpha if shown else None,
            "comparison": result.comparison if shown else None,
            "flags": (result.flags or []) if shown else [],
            "rectify_below": float(campaign.questionnaire.rectify_below_rate),
        },
        "items": items,
        "dimensions": dimensions,
        "rectifications": rectifications,
    }


def dimension_scores(items):
    """Return [{"name", "score"}] per dimension (德能勤绩廉 order): the weighted mean of its scored items.

    Items whose figures are withheld (too few answers) have no score and count for nothing here.
    """
    totals = {}
    for item in items:
        if item["dimension"] and item["scored"] and item["score"] is not None:
            score_sum, weight_sum = totals.get(item["dimension"], (0.0, 0.0))
            totals[item["dimension"]] = (score_sum + item["score"] * item["weight"], weight_sum + item["weight"])
    return [{"name": name, "score": totals[name][0] / totals[name][1]} for name in DIMENSIONS if name in totals]
