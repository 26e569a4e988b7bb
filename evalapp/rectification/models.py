"""Rectification items, from a result's rules or a flagged suggestion, followed to a published outcome.

States (DESIGN.md §3):
    awaiting_plan → plan_submitted → (returned ↔ resubmitted) → in_progress → completed → reviewed → published
with "completed" going back to "in_progress" when the superior union returns the outcome.
"""
from sqlalchemy import case
from sqlalchemy.ext.hybrid import hybrid_property

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow


class RectificationState(LabelledEnum):
    awaiting_plan = "awaiting_plan", "待提交整改方案"
    plan_submitted = "plan_submitted", "方案待审核"
    returned = "returned", "方案已退回"
    resubmitted = "resubmitted", "方案已重新提交"
    in_progress = "in_progress", "整改中"
    completed = "completed", "整改完成待审核"
    reviewed = "reviewed", "整改结果已审核"
    published = "published", "整改结果已公开"

#: The chair owes a plan: the plan's due date runs.
PLAN_DUE_STATES = (RectificationState.awaiting_plan, RectificationState.returned)
#: A plan waits for the superior union's review.
PLAN_REVIEW_STATES = (RectificationState.plan_submitted, RectificationState.resubmitted)
#: States in which the plan's due date is the deadline that matters (shown and movable).
PLAN_PHASE_STATES = PLAN_DUE_STATES + PLAN_REVIEW_STATES
#: States in which the chair must act before a deadline (plan due date, or the plan's target date).
CHAIR_TURN_STATES = PLAN_DUE_STATES + (RectificationState.in_progress,)
#: From here on the members of the electorate see the approved plan and the progress updates.
PLAN_PUBLIC_STATES = (RectificationState.in_progress, RectificationState.completed, RectificationState.reviewed,
                      RectificationState.published)
OPEN_STATES = tuple(state for state in RectificationState if state != RectificationState.published)


class Rectification(db.Model):
    __tablename__ = "rectifications"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=True)
    #: The suggestion an officer or the chair flagged as a rectification item, if it came from one.
    suggestion_id = db.Column(db.Integer, db.ForeignKey("suggestions.id"), nullable=True, unique=True)
    problem = db.Column(db.Text, nullable=False)
    #: Calendar date (Asia/Shanghai) by which the plan is due.
    due_date = db.Column(db.Date, nullable=False, index=True)
    state = db.Column(db.Enum(RectificationState, native_enum=False, length=24), nullable=False,
                      default=RectificationState.awaiting_plan, index=True)
    #: The plan: measures, the person responsible, and the date by which the work will be done.
    plan = db.Column(db.Text, nullable=True)
    plan_responsible = db.Column(db.String(100), nullable=True)
    plan_target_date = db.Column(db.Date, nullable=True, index=True)
    plan_submitted_at = db.Column(db.DateTime, nullable=True)
    plan_approved_at = db.Column(db.DateTime, nullable=True)
    outcome = db.Column(db.Text, nullable=True)
    completed_at = db.Column(db.DateTime, nullable=True)
    outcome_reviewed_at = db.Column(db.DateTime, nullable=True)
    published_at = db.Column(db.DateTime, nullable=True)

    campaign = db.relationship("Campaign", backref=db.backref("rectifications", order_by="Rectification.id"))
    item = db.relationship("Item")
    suggestion = db.relationship("Suggestion", backref=db.backref("rectification", uselist=False))
    events = db.relationship("RectificationEvent", back_populates="rectification",
                             order_by="RectificationEvent.id")

    @hybrid_property
    def deadline(self):
        """The date the chair is working against now: the plan's due date, then the plan's target date."""
        if self.state in PLAN_DUE_STATES:
            return self.due_date
        if self.state == RectificationState.in_progress:
            return self.plan_target_date
        return None

    @deadline.inplace.expression
    @classmethod
    def _deadline_expression(cls):
        return case((cls.state.in_([s.value for s in PLAN_DUE_STATES]), cls.due_date),
                    (cls.state == RectificationState.in_progress.value, cls.plan_target_date), else_=None)

    @classmethod
    def overdue_condition(cls, today):
        """SQL: the chair's deadline has passed (a plan under review is not the chair's delay)."""
        return cls.deadline < today

    def is_overdue(self, today):
        return self.deadline is not None and today > self.deadline

    def days_left(self, today):
        return None if self.deadline is None else (self.deadline - today).days

    def is_due_soon(self, today, within=7):
        left = self.days_left(today)
        return left is not None and 0 <= left <= within

    @property
    def plan_is_public(self):
        return self.state in PLAN_PUBLIC_STATES

    @property
    def pending_review(self):
        """The review decision the item waits for: "plan", "outcome" or None."""
        if self.state in PLAN_REVIEW_STATES:
            return "plan"
        if self.state == RectificationState.completed:
            return "outcome"
        return None

    def was_submitted_by(self, account):
        """Whether `account` submitted what now waits for review (the plan, or the outcome)."""
        kinds = {"plan": (EventKind.plan_submitted, EventKind.plan_resubmitted),
                 "outcome": (EventKind.completed,)}.get(self.pending_review)
        if kinds is None:
            return False
        last = next((e for e in reversed(self.events) if e.kind in kinds), None)
        return last is not None and last.actor_id == account.id

    # --- Who may do what (the vocabulary: CONTRIBUTING.md, "Permissions") -----------------------

    def can_view(self, account):
        return self.campaign.can_view(account)

    def can_see_internals(self, account):
        """Plans under review, the superior union's comments, deadline decisions: the owner and the
        officers running the campaign; the electorate sees the rest."""
        return self.campaign.can_see_internals(account)

    def can_work_on(self, account):
        """The owner draws up the plan and reports progress and completion: the chair being evaluated
        (in a campaign without a chair, the officers who run it)."""
        return self.campaign.can_answer_for(account)

    def can_review(self, account):
        """Approve or return plan and outcome, move deadlines: officers of a union above the campaign's."""
        return self.campaign.can_supervise(account)

    def can_approve(self, account):
        """A reviewer, but not the officer who submitted the plan or outcome (where officers own the item)."""
        return self.can_review(account) and not self.was_submitted_by(account)

    def can_publish(self, account):
        """Show the approved outcome to the electorate: the owner or a reviewer."""
        return self.can_work_on(account) or self.can_review(account)


class EventKind(LabelledEnum):
    opened = "opened", "立项"
    plan_submitted = "plan_submitted", "提交整改方案"
    plan_resubmitted = "plan_resubmitted", "重新提交整改方案"
    plan_approved = "plan_approved", "审核通过整改方案"
    plan_returned = "plan_returned", "退回整改方案"
    progress = "progress", "整改进展"
    completed = "completed", "报告整改完成"
    outcome_approved = "outcome_approved", "审核通过整改结果"
    outcome_returned = "outcome_returned", "退回整改结果"
    published = "published", "向会员公开整改结果"
    deadline_moved = "deadline_moved", "调整期限"


#: What the members of the electorate see of the history; the rest (plans under review, the superior
#: union's comments, deadline decisions) stays between the chair and the officers.
MEMBER_VISIBLE_EVENTS = (EventKind.opened, EventKind.plan_approved, EventKind.progress, EventKind.published)


class RectificationEvent(db.Model):
    """One step in an item's history, shown on its page; the audit log holds the same facts, chained."""

    __tablename__ = "rectification_events"

    id = db.Column(db.Integer, primary_key=True)
    rectification_id = db.Column(db.Integer, db.ForeignKey("rectifications.id"), nullable=False, index=True)
    kind = db.Column(db.Enum(EventKind, native_enum=False, length=24), nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: The plan as submitted, a comment, a progress report, the outcome, or a deadline's reason.
    body = db.Column(db.Text, nullable=True)
    old_date = db.Column(db.Date, nullable=True)
    new_date = db.Column(db.Date, nullable=True)

    rectification = db.relationship("Rectification", back_populates="events")
    actor = db.relationship("Account")
    evidence = db.relationship("Evidence", back_populates="event", order_by="Evidence.id")


class EvidenceKind(LabelledEnum):
    image = "image", "图片"
    document = "document", "文件"


class Evidence(db.Model):
    """A picture or document attached to a progress update; the bytes are in core.storage under `key`."""

    __tablename__ = "rectification_evidence"

    id = db.Column(db.Integer, primary_key=True)
    event_id = db.Column(db.Integer, db.ForeignKey("rectification_events.id"), nullable=False, index=True)
    kind = db.Column(db.Enum(EvidenceKind, native_enum=False, length=16), nullable=False)
    key = db.Column(db.String(32), nullable=False, unique=True)
    #: Decided by the server from the content, never taken from the upload.
    mimetype = db.Column(db.String(100), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    #: The uploader's file name, cleaned; used as the download name.
    original_name = db.Column(db.String(200), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    event = db.relationship("RectificationEvent", back_populates="evidence")

    @property
    def download_name(self):
        return self.original_name or f"证明材料{self.id}"

    def can_read(self, account):
        """Those who read the progress update it belongs to: the item's internals, or its public plan."""
        rectification = self.event.rectification
        return rectification.can_view(account) and (
            rectification.can_see_internals(account) or rectification.plan_is_public)
