"""Opening rectification items from a result; the chair's plan and completion."""
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import add_months, local_today, utcnow
from evalapp.rectification.models import Rectification, RectificationState
from evalapp.results.statistics import MIN_GROUP_SIZE

MAX_TEXT_LENGTH = 10_000


def open_rectifications(campaign, result):
    """Open one item per question whose satisfaction rate is under the rule's threshold."""
    if not result.quorum_met:
        return []
    threshold = float(campaign.questionnaire.rectify_below_rate)
    due = add_months(local_today(campaign.published_at), campaign.rectification_months)
    opened = []
    for row in result.items:
        if row.rate is not None and row.rate < threshold:
            figure = f"满意率为 {row.rate * 100:.1f}%，" if row.answered >= MIN_GROUP_SIZE else "满意率"
            problem = f"“{row.item.prompt}”{figure}低于 {threshold * 100:.0f}% 的要求，须制定整改方案。"
            rectification = Rectification(campaign=campaign, item=row.item, problem=problem, due_date=due)
            db.session.add(rectification)
            opened.append(rectification)
    db.session.flush()
    for rectification in opened:
        audit.record("rectification.opened", rectification, due_date=rectification.due_date.isoformat())
    return opened


def _check_chair(rectification, actor):
    if not rectification.campaign.is_chaired_by(actor):
        raise Refused("只有被评议的工会主席可以办理整改。", 403)


def _clean_text(text, what):
    text = (text or "").strip()
    if not text:
        raise Refused(f"{what}不能为空。", 400)
    if len(text) > MAX_TEXT_LENGTH:
        raise Refused(f"{what}不能超过 {MAX_TEXT_LENGTH} 字。", 400)
    return text


def submit_plan(rectification, actor, plan):
    _check_chair(rectification, actor)
    if rectification.state != RectificationState.awaiting_plan:
        raise Refused("整改方案已提交，不能重复提交。")
    rectification.plan = _clean_text(plan, "整改方案")
    rectification.plan_submitted_at = utcnow()
    rectification.state = RectificationState.plan_submitted
    db.session.flush()
    audit.record("rectification.plan_submitted", rectification, actor=actor,
                 before=RectificationState.awaiting_plan.value, after=rectification.state.value)


def complete(rectification, actor, outcome):
    _check_chair(rectification, actor)
    if rectification.state != RectificationState.plan_submitted:
        raise Refused("须先提交整改方案，才能标记整改完成。" if rectification.state == RectificationState.awaiting_plan
                      else "该整改事项已完成。")
    rectification.outcome = _clean_text(outcome, "整改结果")
    rectification.completed_at = utcnow()
    rectification.state = RectificationState.completed
    db.session.flush()
    audit.record("rectification.completed", rectification, actor=actor,
                 before=RectificationState.plan_submitted.value, after=rectification.state.value)
