"""Campaigns, their electorate snapshot and the chair's duty report."""
import enum

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow


class CampaignState(enum.StrEnum):
    draft = "draft"
    reporting = "reporting"
    open = "open"
    closed = "closed"
    published = "published"
    archived = "archived"

    @property
    def label(self):
        return {"draft": "草稿", "reporting": "述职中", "open": "评议中", "closed": "已截止",
                "published": "已公布", "archived": "已归档"}[self.value]


class SubjectKind(enum.StrEnum):
    chair = "chair"
    organisation = "organisation"
    none = "none"

    @property
    def label(self):
        return {"chair": "工会主席述职评议", "organisation": "对单位/部门的评议", "none": "问卷调查"}[self.value]


class ElectorateScope(enum.StrEnum):
    union = "union"
    subtree = "subtree"

    @property
    def label(self):
        return {"union": "本工会会员", "subtree": "本工会及下属工会全体会员"}[self.value]


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    #: The union whose members vote (with its subtree when the scope says so) and whose chair reports.
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    subject_kind = db.Column(db.Enum(SubjectKind, native_enum=False, length=16), nullable=False)
    #: What is evaluated, as shown to members, e.g. "江门市某某公司工会主席 张三".
    subject_name = db.Column(db.String(200), nullable=False, default="")
    electorate_scope = db.Column(db.Enum(ElectorateScope, native_enum=False, length=16), nullable=False,
                                 default=ElectorateScope.union)
    #: The template chosen by the officer; copied into `questionnaire_id` when voting opens.
    template_id = db.Column(db.Integer, db.ForeignKey("questionnaires.id"), nullable=False)
    questionnaire_id = db.Column(db.Integer, db.ForeignKey("questionnaires.id"), nullable=True)
    state = db.Column(db.Enum(CampaignState, native_enum=False, length=16), nullable=False,
                      default=CampaignState.draft, index=True)
    #: Planned voting window (naive UTC); voting is refused after `closes_at`.
    opens_at = db.Column(db.DateTime, nullable=True)
    closes_at = db.Column(db.DateTime, nullable=True)
    #: Months the chair has for a rectification plan after publication.
    rectification_months = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    opened_at = db.Column(db.DateTime, nullable=True)
    closed_at = db.Column(db.DateTime, nullable=True)
    published_at = db.Column(db.DateTime, nullable=True)
    #: Size of the electorate snapshot taken when voting opened.
    electorate_size = db.Column(db.Integer, nullable=True)

    union = db.relationship("Union")
    template = db.relationship("Questionnaire", foreign_keys=[template_id])
    questionnaire = db.relationship("Questionnaire", foreign_keys=[questionnaire_id])
    report = db.relationship("DutyReport", uselist=False, back_populates="campaign")

    def __repr__(self):
        return f"<Campaign {self.id} {self.state}>"

    @property
    def active_questionnaire(self):
        """Return the frozen copy once voting has opened, the template before."""
        return self.questionnaire or self.template

    @property
    def has_report(self):
        return self.subject_kind == SubjectKind.chair

    def can_manage(self, account):
        return account.manages(self.union)

    def is_chaired_by(self, account):
        return self.subject_kind == SubjectKind.chair and account.chairs(self.union)

    def in_electorate(self, member):
        """Return whether `member` may vote: in the snapshot once open, else by roster scope."""
        if member is None:
            return False
        if self.electorate_size is not None:
            return db.session.get(ElectorateEntry, (self.id, member.id)) is not None
        if not member.active:
            return False
        if self.electorate_scope == ElectorateScope.subtree:
            return member.union.is_within(self.union)
        return member.union_id == self.union_id

    def can_view(self, account):
        """Staff, the chair and the electorate see the campaign (members only once it is out of draft)."""
        if self.can_manage(account) or self.is_chaired_by(account):
            return True
        return self.state != CampaignState.draft and self.in_electorate(account.member)


class ElectorateEntry(db.Model):
    """Who may vote in a campaign, fixed when voting opens."""

    __tablename__ = "electorate_entries"

    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), primary_key=True)


class DutyReport(db.Model):
    __tablename__ = "duty_reports"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, unique=True)
    body = db.Column(db.Text, nullable=False, default="")
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)

    campaign = db.relationship("Campaign", back_populates="report")
