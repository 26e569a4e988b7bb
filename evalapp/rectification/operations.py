"""Rectification items: opened by a result or a flagged suggestion, followed to a published outcome.

Who does what (asked of the item: `Rectification.can_work_on`, `can_review`, `can_approve`, `can_publish`):
- the *owner* draws up the plan, reports progress and completion: the chair of the evaluated union
  (for an evaluation without a chair, the officers who run it);
- a *reviewer* approves or returns plan and outcome and moves deadlines: an officer of a union above
  the campaign's union (an administrator too), never an officer of that union itself nor the chair
  whose work is being reviewed; where the officers own the item (no chair), the one who submitted a
  plan or an outcome does not approve it;
- the outcome is published to the electorate by the owner or a reviewer, once approved.
Every step goes through a compare-and-set on the state, so a double click or two officers acting at
once change the item exactly once, and every step is written to the audit log and the item's history.
"""
from datetime import date

from evalapp.campaigns.models import CampaignState
from evalapp.campaigns.people import owner_accounts, supervisors
from evalapp.core import audit, uploads
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import add_months, local_today, utcnow
from evalapp.core.transitions import compare_and_set, move_state
from evalapp.core.uploads import Kind
from evalapp.notifications.broadcasts import announce
from evalapp.notifications.operations import notify
from evalapp.rectification.models import (
    PLAN_DUE_STATES,
    PLAN_PHASE_STATES,
    PLAN_REVIEW_STATES,
    EventKind,
    Evidence,
    EvidenceKind,
    Rectification,
    RectificationEvent,
    RectificationState,
)

MAX_TEXT_LENGTH = 10_000
MAX_COMMENT_LENGTH = 2_000
MAX_RESPONSIBLE_LENGTH = 100
LATEST_DATE = date(2099, 12, 31)
MAX_EVIDENCE_FILES = 5
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_MAX_PIXELS = 40_000_000
UNRECOGNISED_EVIDENCE = "无法识别的文件。证明材料只接受图片（JPEG、PNG、WebP、GIF）和 PDF、Word（.docx）文件。"


# --- Who is told ------------------------------------------------------------------------------------

def link_for(rectification):
    # Built by hand: reminders are written by a command, outside any request, where url_for cannot work.
    return f"/rectifications/{rectification.id}"


def headline(rectification):
    """What notices call the item: the question's wording for an item opened by the result (its
    problem text quotes figures computed from ballots, which no message carries), else the problem."""
    if rectification.item is not None:
        return f"“{shorten(rectification.item.prompt, 24)}”一项"
    return f"“{shorten(rectification.problem)}”"


def shorten(text, length=30):
    """One line of at most `length` characters, without closing punctuation (the notice adds its own)."""
    text = " ".join(text.split()).rstrip("。．.；;，,")
    return text if len(text) <= length else text[:length] + "…"


def _tell(accounts, rectification, text):
    for account in accounts:
        notify(account, "rectification", text, link_for(rectification))


def _tell_owners(rectification, text):
    _tell(owner_accounts(rectification.campaign), rectification, text)


def _tell_reviewers(rectification, actor, text):
    """Tell the nearest officers above the campaign's union, except the one who acted (an owner, too)."""
    superior = rectification.campaign.union.parent
    if superior is not None:
        _tell(supervisors(superior, excluding=actor), rectification, text)


# --- Opening items ---------------------------------------------------------------------------------

def plan_due_date(published_at, months, opened_at=None):
    """The plan is due `months` after publication, counted on Shanghai calendar dates, month-end aware.

    An item opened later (a suggestion flagged after publication) counts from the day it was opened,
    so that it is never overdue at birth.
    """
    start = local_today(published_at)
    if opened_at is not None:
        start = max(start, local_today(opened_at))
    return add_months(start, months)


def _open(campaign, problem, actor=None, item=None, suggestion=None, opened_at=None):
    due = plan_due_date(campaign.published_at, campaign.rectification_months, opened_at)
    rectification = Rectification(campaign=campaign, item=item, suggestion=suggestion, problem=problem, due_date=due)
    db.session.add(rectification)
    db.session.flush()
    audit.record("rectification.opened", rectification, actor=actor, campaign_id=campaign.id,
                 due_date=due.isoformat(), source="suggestion" if suggestion else "result",
                 suggestion_id=suggestion.id if suggestion else None)
    _event(rectification, EventKind.opened, actor, body=problem)
    _tell_owners(rectification, f"新的整改事项（{campaign.title}）：{headline(rectification)}。整改方案须在 {due} 前提交。")
    return rectification


def open_rectifications(campaign, result):
    """Open one item per question whose satisfaction rate is under the rule's threshold.

    Only from figures that are shown (Result.figures_shown, ResultItem.figures_shown): an item opened
    from a void or small result, or from an item too few answered, would tell how those few voted.
    """
    if not result.figures_shown:
        return []
    threshold = float(campaign.questionnaire.rectify_below_rate)
    opened = []
    for row in result.items:
        if row.figures_shown and row.rate is not None and row.rate < threshold:
            problem = f"“{row.item.prompt}”满意率为 {row.rate * 100:.1f}%，低于 {threshold * 100:.0f}% 的要求，须制定整改方案。"
            opened.append(_open(campaign, problem, item=row.item))
    return opened


def open_from_suggestion(suggestion, actor, problem):
    """Flag `suggestion` as a rectification item (called from suggestions.operations.flag)."""
    campaign = suggestion.campaign
    if campaign.state not in (CampaignState.published, CampaignState.archived):
        raise Refused("评议结果公布后，才能将意见建议列为整改事项。")
    problem = _clean(problem, "整改问题", MAX_TEXT_LENGTH)
    return _open(campaign, problem, actor=actor, suggestion=suggestion, opened_at=utcnow())


# --- Steps -----------------------------------------------------------------------------------------

def _clean(text, what, limit):
    text = (text or "").strip()
    if not text:
        raise Refused(f"{what}不能为空。", 400)
    if len(text) > limit:
        raise Refused(f"{what}不能超过 {limit} 字。", 400)
    return text


def _event(rectification, kind, actor, body=None, old_date=None, new_date=None):
    event = RectificationEvent(rectification=rectification, kind=kind, actor_id=actor.id if actor else None,
                               at=utcnow(), body=body, old_date=old_date, new_date=new_date)
    db.session.add(event)
    db.session.flush()
    return event


def _transition(rectification, actor, allowed, target, action, what):
    move_state(rectification, allowed, target, action=action, actor=actor,
               refusal=lambda current: f"该整改事项当前为“{current.label}”，不能{what}。")


def _require_owner(rectification, actor):
    if not rectification.can_work_on(actor):
        raise Refused("只有被评议的工会主席可以办理整改。", 403)


def _require_reviewer(rectification, actor):
    if not rectification.can_review(actor):
        raise Refused("只有上级工会的工作人员可以审核整改事项。", 403)


def submit_plan(rectification, actor, measures, responsible, target_date):
    """Submit the plan (measures, person responsible, target date), or resubmit a returned one."""
    _require_owner(rectification, actor)
    if rectification.state in PLAN_REVIEW_STATES:
        raise Refused("整改方案已提交，正在等待上级工会审核，不能重复提交。")
    if rectification.state not in PLAN_DUE_STATES:
        raise Refused("整改方案已审核通过，不能再修改。")
    measures = _clean(measures, "整改措施", MAX_TEXT_LENGTH)
    responsible = _clean(responsible, "责任人", MAX_RESPONSIBLE_LENGTH)
    if target_date is None:
        raise Refused("请填写完成时限。", 400)
    if target_date < local_today():
        raise Refused("完成时限不能早于今天。", 400)
    if target_date > LATEST_DATE:
        raise Refused("完成时限不能晚于 2099 年。", 400)
    resubmission = rectification.state == RectificationState.returned
    target = RectificationState.resubmitted if resubmission else RectificationState.plan_submitted
    _transition(rectification, actor,
                (RectificationState.returned,) if resubmission else (RectificationState.awaiting_plan,), target,
                "rectification.plan_resubmitted" if resubmission else "rectification.plan_submitted",
                "提交整改方案")
    rectification.plan, rectification.plan_responsible, rectification.plan_target_date = measures, responsible, target_date
    rectification.plan_submitted_at = utcnow()
    _event(rectification, EventKind.plan_resubmitted if resubmission else EventKind.plan_submitted, actor,
           body=f"{measures}\n\n责任人：{responsible}\n完成时限：{target_date.isoformat()}")
    _tell_reviewers(rectification, actor, f"{rectification.campaign.union.name}{'重新' if resubmission else ''}提交了整改方案，"
                                          f"请审核：{headline(rectification)}")


def _require_approver(rectification, actor):
    _require_reviewer(rectification, actor)
    if rectification.was_submitted_by(actor):
        raise Refused("您提交的内容须由上级工会的其他工作人员审核通过。", 403)


def approve_plan(rectification, actor):
    _require_approver(rectification, actor)
    _transition(rectification, actor, PLAN_REVIEW_STATES, RectificationState.in_progress,
                "rectification.plan_approved", "审核整改方案")
    rectification.plan_approved_at = utcnow()
    _event(rectification, EventKind.plan_approved, actor)
    _tell_owners(rectification, f"整改方案已审核通过，请按方案在 {rectification.plan_target_date} 前完成整改："
                                f"{headline(rectification)}")


def return_plan(rectification, actor, comment):
    _require_reviewer(rectification, actor)
    comment = _clean(comment, "退回意见", MAX_COMMENT_LENGTH)
    _transition(rectification, actor, PLAN_REVIEW_STATES, RectificationState.returned,
                "rectification.plan_returned", "退回整改方案")
    _event(rectification, EventKind.plan_returned, actor, body=comment)
    _tell_owners(rectification, f"整改方案被上级工会退回，请修改后重新提交（期限 {rectification.due_date}）："
                                f"{shorten(comment, 60)}")


def add_progress(rectification, actor, text, files=()):
    """Report progress while the work is under way, with evidence: `files` are (stream, file name) pairs.

    Every file is checked by its content (images decoded and re-encoded without metadata, PDF and
    DOCX recognised by structure) before anything is stored; stored bytes go if the step rolls back.
    """
    _require_owner(rectification, actor)
    if rectification.state != RectificationState.in_progress:
        raise Refused(f"该整改事项当前为“{rectification.state.label}”，整改方案审核通过后才能报告进展。")
    text = _clean(text, "整改进展", MAX_TEXT_LENGTH)
    files = [(stream, name) for stream, name in files if stream is not None]
    if len(files) > MAX_EVIDENCE_FILES:
        raise Refused(f"每次最多上传 {MAX_EVIDENCE_FILES} 个证明材料。", 400)
    accepted = [uploads.accept(stream, name, (Kind.image, Kind.document), max_bytes=EVIDENCE_MAX_BYTES,
                               max_pixels=EVIDENCE_MAX_PIXELS, unrecognised=UNRECOGNISED_EVIDENCE)
                for stream, name in files]
    event = _event(rectification, EventKind.progress, actor, body=text)
    for file in accepted:
        db.session.add(Evidence(event=event, kind=EvidenceKind(file.kind), key=file.store(), mimetype=file.mimetype,
                                size=file.size, original_name=file.name, created_at=utcnow()))
    db.session.flush()
    audit.record("rectification.progress", rectification, actor=actor, event_id=event.id, length=len(text),
                 evidence=[{"id": e.id, "kind": e.kind.value, "mimetype": e.mimetype, "size": e.size,
                            "name": e.original_name} for e in event.evidence])
    return event


def complete(rectification, actor, outcome):
    _require_owner(rectification, actor)
    outcome = _clean(outcome, "整改结果", MAX_TEXT_LENGTH)
    if rectification.state in PLAN_PHASE_STATES:
        raise Refused("须先提交整改方案并经上级工会审核通过，才能报告整改完成。")
    _transition(rectification, actor, (RectificationState.in_progress,), RectificationState.completed,
                "rectification.completed", "报告整改完成")
    rectification.outcome, rectification.completed_at = outcome, utcnow()
    _event(rectification, EventKind.completed, actor, body=outcome)
    _tell_reviewers(rectification, actor, f"{rectification.campaign.union.name}报告整改完成，请审核整改结果："
                                          f"{headline(rectification)}")


def approve_outcome(rectification, actor):
    _require_approver(rectification, actor)
    _transition(rectification, actor, (RectificationState.completed,), RectificationState.reviewed,
                "rectification.outcome_approved", "审核整改结果")
    rectification.outcome_reviewed_at = utcnow()
    _event(rectification, EventKind.outcome_approved, actor)
    _tell_owners(rectification, f"整改结果已审核通过，可以向会员公开：{headline(rectification)}")


def return_outcome(rectification, actor, comment):
    _require_reviewer(rectification, actor)
    comment = _clean(comment, "退回意见", MAX_COMMENT_LENGTH)
    _transition(rectification, actor, (RectificationState.completed,), RectificationState.in_progress,
                "rectification.outcome_returned", "退回整改结果")
    _event(rectification, EventKind.outcome_returned, actor, body=comment)
    _tell_owners(rectification, f"整改结果被上级工会退回，请继续整改后再报告：{shorten(comment, 60)}")


def publish_outcome(rectification, actor):
    """Show plan, progress and outcome to the members of the electorate, and tell them."""
    if not rectification.can_publish(actor):
        raise Refused("无权公开该整改结果。", 403)
    _transition(rectification, actor, (RectificationState.reviewed,), RectificationState.published,
                "rectification.published", "公开整改结果")
    rectification.published_at = utcnow()
    _event(rectification, EventKind.published, actor)
    campaign = rectification.campaign
    announce("rectification.published", "campaign.electors", campaign.id,
             f"“{campaign.title}”的整改结果已公开：{headline(rectification)}", link_for(rectification),
             key=f"rectification.published:{rectification.id}")


def move_deadline(rectification, actor, new_date, reason):
    """A reviewer's decision to move the deadline that runs now (plan due date, or the plan's target date)."""
    _require_reviewer(rectification, actor)
    reason = _clean(reason, "调整理由", MAX_COMMENT_LENGTH)
    if new_date is None:
        raise Refused("请填写新的期限。", 400)
    if new_date < local_today():
        raise Refused("新的期限不能早于今天。", 400)
    if new_date > LATEST_DATE:
        raise Refused("新的期限不能晚于 2099 年。", 400)
    if rectification.state in PLAN_PHASE_STATES:
        field, what = "due_date", "整改方案提交期限"
    elif rectification.state == RectificationState.in_progress:
        field, what = "plan_target_date", "整改完成时限"
    else:
        raise Refused(f"该整改事项当前为“{rectification.state.label}”，没有可调整的期限。")
    old_date = getattr(rectification, field)
    if new_date == old_date:
        raise Refused("新的期限与原期限相同。", 400)
    # Compare-and-set on the old date too: two officers deciding at once do not silently overwrite each other.
    if not compare_and_set(rectification, Rectification.state == rectification.state.value,
                           getattr(Rectification, field) == old_date, **{field: new_date}):
        raise Refused("该整改事项刚刚被他人修改，请刷新后再试。")
    audit.record("rectification.deadline_moved", rectification, actor=actor, field=field,
                 before=old_date.isoformat(), after=new_date.isoformat(), reason=reason)
    _event(rectification, EventKind.deadline_moved, actor, body=reason, old_date=old_date, new_date=new_date)
    _tell_owners(rectification, f"上级工会将{what}由 {old_date} 调整为 {new_date}：{headline(rectification)}")


#: The reviewer's and owner's steps by name, as the views post them: name → (operation, label).
REVIEW_STEPS = {
    "approve_plan": (approve_plan, "审核通过整改方案"),
    "approve_outcome": (approve_outcome, "审核通过整改结果"),
    "publish": (publish_outcome, "向会员公开整改结果"),
}
RETURN_STEPS = {
    "return_plan": (return_plan, "退回整改方案"),
    "return_outcome": (return_outcome, "退回整改结果"),
}


def owes_plan(rectification):
    return rectification.state in PLAN_DUE_STATES
