"""Suggestions written by members, answered by the chair, moderated by officers of superior unions."""
from sqlalchemy import case

from evalapp.campaigns.models import RESULT_STATES
from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow


class SuggestionState(LabelledEnum):
    unanswered = "unanswered", "待回应"
    answered = "answered", "已回应"
    hidden = "hidden", "已隐藏"


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
    #: Set when an officer of a superior union hid an abusive suggestion. It is never deleted: the
    #: author and the officers still read it; the chair no longer sees its text.
    hidden_at = db.Column(db.DateTime, nullable=True)
    hidden_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    hidden_reason = db.Column(db.String(500), nullable=True)

    campaign = db.relationship("Campaign", backref=db.backref("suggestions", lazy="dynamic"))
    member = db.relationship("Member")

    @property
    def author_label(self):
        return self.member.name if self.named else "匿名会员"

    @property
    def is_hidden(self):
        return self.hidden_at is not None

    @property
    def can_be_flagged(self):
        """Whether it can still become a rectification item: shown, not one yet, the result published."""
        return not self.is_hidden and self.rectification is None and self.campaign.state in RESULT_STATES

    # --- Who may do what (the vocabulary: CONTRIBUTING.md, "Permissions") -----------------------

    def is_written_by(self, account):
        member = account.member
        return member is not None and self.member_id == member.id

    def can_view(self, account):
        """The author, and those who see the campaign's internals (the chair, the officers running it)."""
        return self.is_written_by(account) or self.campaign.can_see_internals(account)

    def can_see_text(self, account):
        """The author and the officers above always read the text; the chair (and their union's officers) not once hidden."""
        return not self.is_hidden or self.is_written_by(account) or self.can_moderate(account)

    def can_respond(self, account):
        """The chair answers; where no chair is evaluated, the officers who run the campaign."""
        return self.campaign.can_answer_for(account)

    def can_moderate(self, account):
        """Officers of a union above the campaign's (and administrators) hide and show suggestions again."""
        return self.campaign.can_supervise(account)

    def can_flag(self, account):
        """Officers above, and whoever answers the suggestion, may turn it into a rectification item."""
        return self.can_moderate(account) or self.can_respond(account)

    @property
    def state(self):
        if self.is_hidden:
            return SuggestionState.hidden
        return SuggestionState.answered if self.response is not None else SuggestionState.unanswered

    @classmethod
    def state_condition(cls, state):
        return {
            SuggestionState.hidden: cls.hidden_at.is_not(None),
            SuggestionState.answered: cls.hidden_at.is_(None) & cls.response.is_not(None),
            SuggestionState.unanswered: cls.hidden_at.is_(None) & cls.response.is_(None),
        }[state]

    @classmethod
    def unanswered_first(cls):
        """Order: waiting for an answer, then answered, then hidden; newest first within each."""
        rank = case((cls.hidden_at.is_not(None), 2), (cls.response.is_(None), 0), else_=1)
        return rank, cls.created_at.desc(), cls.id.desc()
