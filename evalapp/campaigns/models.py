"""Campaigns, their electorate snapshot and the chair's duty report."""
from sqlalchemy import false

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow


class CampaignState(LabelledEnum):
    draft = "draft", "草稿"
    reporting = "reporting", "述职中"
    open = "open", "评议中"
    closed = "closed", "已截止"
    published = "published", "已公布"
    archived = "archived", "已归档"


#: States in which the campaign's result is published (and frozen).
RESULT_STATES = (CampaignState.published, CampaignState.archived)
#: States in which members of the electorate may write suggestions.
OPEN_FOR_SUGGESTIONS = (CampaignState.open, CampaignState.closed, CampaignState.published)


class SubjectKind(LabelledEnum):
    chair = "chair", "工会主席述职评议"
    organisation = "organisation", "对单位/部门的评议"
    none = "none", "问卷调查"


class ElectorateScope(LabelledEnum):
    union = "union", "本工会会员"
    subtree = "subtree", "本工会及下属工会全体会员"


#: The rectification period the seeds ask for: a plan within one month of the result.
RECTIFICATION_MONTHS = 1


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
    #: Months the chair has for a rectification plan after publication (the due date itself:
    #: evalapp.rectification.operations.plan_due_date).
    rectification_months = db.Column(db.Integer, nullable=False, default=RECTIFICATION_MONTHS)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    opened_at = db.Column(db.DateTime, nullable=True)
    closed_at = db.Column(db.DateTime, nullable=True)
    published_at = db.Column(db.DateTime, nullable=True)
    #: Size of the electorate snapshot taken when voting opened.
    electorate_size = db.Column(db.Integer, nullable=True)
    #: The batch this campaign was created in, if any.
    batch_id = db.Column(db.Integer, db.ForeignKey("campaign_batches.id"), nullable=True, index=True)

    union = db.relationship("Union")
    template = db.relationship("Questionnaire", foreign_keys=[template_id])
    questionnaire = db.relationship("Questionnaire", foreign_keys=[questionnaire_id])
    report = db.relationship("DutyReport", uselist=False, back_populates="campaign")
    batch = db.relationship("CampaignBatch", back_populates="campaigns")

    def __repr__(self):
        return f"<Campaign {self.id} {self.state}>"

    @property
    def active_questionnaire(self):
        """Return the frozen copy once voting has opened, the template before."""
        return self.questionnaire or self.template

    @property
    def has_report(self):
        return self.subject_kind == SubjectKind.chair

    def in_electorate(self, member):
        """Return whether `member` may vote: in the snapshot once open, else by roster scope."""
        if member is None:
            return False
        if self.electorate_size is not None:
            # The snapshot never changes once taken: remember the answer for this object's request
            # (the identity map keeps a found entry only while someone holds it, so asking again,
            # as the visibility check, the vote page and cast_ballot each do, would query again).
            known = self.__dict__.setdefault("_electorate_answers", {})
            if member.id not in known:
                known[member.id] = db.session.get(ElectorateEntry, (self.id, member.id)) is not None
            return known[member.id]
        if not member.active:
            return False
        if self.electorate_scope == ElectorateScope.subtree:
            return member.union.is_within(self.union)
        return member.union_id == self.union_id

    @classmethod
    def chaired_condition(cls, account):
        """SQL: the campaigns in which `account` is the chair being evaluated (`is_chaired_by`, for queries)."""
        chaired = [union.id for union in account.chaired_unions]
        return cls.union_id.in_(chaired) & (cls.subject_kind == SubjectKind.chair) if chaired else false()

    # --- Who may do what (the vocabulary: CONTRIBUTING.md, "Permissions") -----------------------

    def is_chaired_by(self, account):
        """The chair being evaluated (only a chair campaign has one)."""
        return self.subject_kind == SubjectKind.chair and account.chairs(self.union)

    def can_view(self, account):
        """Staff, the chair and the electorate see the campaign (members only once it is out of draft)."""
        # The electorate first: it is who asks most (every voter), and one lookup answers it.
        if self.state != CampaignState.draft and self.in_electorate(account.member):
            return True
        return self.can_see_internals(account)

    def can_manage(self, account):
        """Officers of the campaign's union or of any union above it, and administrators."""
        return account.manages(self.union)

    def can_see_internals(self, account):
        """Those who run the campaign and the chair being evaluated: who voted and who did not, every
        suggestion, the report's earlier versions, the full result and its downloads."""
        return self.can_manage(account) or self.is_chaired_by(account)

    def can_answer_for(self, account):
        """Who answers for the evaluated side (responds to suggestions, carries out rectification): the
        chair being evaluated; in a campaign without a chair, the officers who run it."""
        return self.is_chaired_by(account) if self.subject_kind == SubjectKind.chair else self.can_manage(account)

    def can_supervise(self, account):
        """Officers of a union above the campaign's union, and administrators (they review rectification
        and moderate suggestions); never the chair being evaluated. Not the officers of the campaign's
        own union, who work beside its chair and, in a campaign without a chair, answer for it."""
        superior = self.union.parent
        allowed = account.is_admin or (superior is not None and account.manages(superior))
        return allowed and not self.is_chaired_by(account)

    def can_edit_report(self, account):
        """The chair being evaluated writes the duty report (whether it is still open is the report's business)."""
        return self.has_report and self.is_chaired_by(account)

    def can_suggest(self, account):
        """Members of the electorate write suggestions while voting is open, while the result is
        counted, and after publication: not before voting (nothing to react to yet), nor once archived."""
        return self.state in OPEN_FOR_SUGGESTIONS and self.in_electorate(account.member)


def published_within(low, high):
    """SQL on Campaign: its result was published at a UTC time in [low, high)."""
    return Campaign.state.in_(RESULT_STATES) & (Campaign.published_at >= low) & (Campaign.published_at < high)


class BatchRule(LabelledEnum):
    """How a batch picks its unions within the root union's subtree."""

    kind = "kind", "某一类型的全部工会"
    sector = "sector", "某一所属类型、会员达到一定人数的全部工会"
    picked = "picked", "手工选择直属下级工会"


#: A batch evaluates each union's chair, or runs the same survey in each union.
BATCH_SUBJECT_KINDS = (SubjectKind.chair, SubjectKind.none)


class CampaignBatch(db.Model):
    """Many campaigns created at once from one template, one per selected union, with one schedule."""

    __tablename__ = "campaign_batches"

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    #: The union whose officers created the batch; every campaign's union lies in its subtree.
    root_union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    template_id = db.Column(db.Integer, db.ForeignKey("questionnaires.id"), nullable=False)
    rule = db.Column(db.Enum(BatchRule, native_enum=False, length=16), nullable=False)
    #: The rule's parameters as chosen: {"kind": …}, {"sector": …, "min_members": …} or {"union_ids": […]}.
    rule_params = db.Column(db.JSON, nullable=False)
    subject_kind = db.Column(db.Enum(SubjectKind, native_enum=False, length=16), nullable=False)
    electorate_scope = db.Column(db.Enum(ElectorateScope, native_enum=False, length=16), nullable=False)
    #: Campaign titles, with "{工会}" standing for each union's name.
    title_pattern = db.Column(db.String(200), nullable=False)
    opens_at = db.Column(db.DateTime, nullable=True)
    closes_at = db.Column(db.DateTime, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    #: Random token of the preview that was confirmed: submitting it twice creates one batch.
    request_token = db.Column(db.String(32), nullable=False, unique=True)

    root_union = db.relationship("Union")
    template = db.relationship("Questionnaire")
    created_by = db.relationship("Account")
    campaigns = db.relationship("Campaign", back_populates="batch", order_by="Campaign.id")

    def __repr__(self):
        return f"<CampaignBatch {self.id} {self.title}>"

    def can_manage(self, account):
        return account.manages(self.root_union)


class ElectorateEntry(db.Model):
    """Who may vote in a campaign, fixed when voting opens, with the union each voter was on then.

    Deliberately without foreign keys: the rows are written only by the one INSERT…SELECT in
    `open_voting`, from member rows and the campaign row as they are in that same transaction, and
    never change afterwards (members and campaigns are never deleted). On PostgreSQL the per-row
    foreign-key checks made a 300,000-member snapshot four times slower (8 s instead of 2 s).
    """

    __tablename__ = "electorate_entries"
    __table_args__ = (
        # Turnout by union and the non-voter lists read this index only (300,000-member electorates).
        db.Index("ix_electorate_entries_campaign_union", "campaign_id", "union_id", "member_id"),
    )

    campaign_id = db.Column(db.Integer, primary_key=True)
    #: Indexed on its own for a member's campaign list, which looks campaigns up by member.
    member_id = db.Column(db.Integer, primary_key=True, index=True)
    #: The member's union when voting opened; a later move does not change where they are counted.
    union_id = db.Column(db.Integer, nullable=False)
