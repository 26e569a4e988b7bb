"""Suggestions written by members and answered by the chair."""
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow


class Suggestion(db.Model):
    __tablename__ = "suggestions"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, index=True)
    #: The author, so that they can find their suggestion and its answer; hidden from the chair
    #: unless `named` is set.
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), nullable=False, index=True)
    named = db.Column(db.Boolean, nullable=False, default=False)
    body = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    response = db.Column(db.Text, nullable=True)
    responded_at = db.Column(db.DateTime, nullable=True)
    responded_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)

    campaign = db.relationship("Campaign", backref=db.backref("suggestions", lazy="dynamic"))
    member = db.relationship("Member")

    @property
    def author_label(self):
        return self.member.name if self.named else "匿名会员"
