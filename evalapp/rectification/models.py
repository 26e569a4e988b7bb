"""Rectification items opened by a result, with the chair's plan and outcome."""
import enum

from evalapp.core.db import db


class RectificationState(enum.StrEnum):
    awaiting_plan = "awaiting_plan"
    plan_submitted = "plan_submitted"
    completed = "completed"

    @property
    def label(self):
        return {"awaiting_plan": "待提交整改方案", "plan_submitted": "整改中", "completed": "已完成整改"}[self.value]


class Rectification(db.Model):
    __tablename__ = "rectifications"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=True)
    problem = db.Column(db.Text, nullable=False)
    #: Calendar date (Asia/Shanghai) by which the plan is due.
    due_date = db.Column(db.Date, nullable=False, index=True)
    state = db.Column(db.Enum(RectificationState, native_enum=False, length=24), nullable=False,
                      default=RectificationState.awaiting_plan)
    plan = db.Column(db.Text, nullable=True)
    plan_submitted_at = db.Column(db.DateTime, nullable=True)
    outcome = db.Column(db.Text, nullable=True)
    completed_at = db.Column(db.DateTime, nullable=True)

    campaign = db.relationship("Campaign", backref=db.backref("rectifications", order_by="Rectification.id"))
    item = db.relationship("Item")

    def is_overdue(self, today):
        return self.state == RectificationState.awaiting_plan and today > self.due_date
