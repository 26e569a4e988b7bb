"""The frozen result of a published campaign, and the background job that publishes a large one."""
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_
from sqlalchemy.ext.hybrid import hybrid_property

from evalapp.core.db import db
from evalapp.core.job_records import Job, JobStage, JobState
from evalapp.questionnaires.models import ItemKind
from evalapp.results.statistics import MIN_GROUP_SIZE


def min_group_size():
    """The fewest voters (and answers to an item) whose figures may be shown: MIN_GROUP_SIZE in the
    configuration, never below statistics.MIN_GROUP_SIZE (5)."""
    configured = current_app.config.get("MIN_GROUP_SIZE") if has_app_context() else None
    return max(MIN_GROUP_SIZE, int(configured or MIN_GROUP_SIZE))


class Result(db.Model):
    __tablename__ = "results"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, unique=True)
    electorate_size = db.Column(db.Integer, nullable=False)
    turnout = db.Column(db.Integer, nullable=False)
    quorum_required = db.Column(db.Integer, nullable=False)
    quorum_met = db.Column(db.Boolean, nullable=False)
    #: Weighted mean of the items' normalised mean scores, 0–100; None without ballots.
    overall_score = db.Column(db.Float, nullable=True)
    #: 优秀/良好/合格/不合格, or None when the quorum was not met.
    grade = db.Column(db.String(8), nullable=True)
    #: Mean of the ballots' own scores (0–100) with its t interval (FPC): the batch ranking uses the lower bound.
    ballot_score_mean = db.Column(db.Float, nullable=True)
    ballot_score_low = db.Column(db.Float, nullable=True)
    ballot_score_high = db.Column(db.Float, nullable=True)
    #: Cronbach's alpha of the scored items; None when it cannot be computed (see docs/statistics.md).
    alpha = db.Column(db.Float, nullable=True)
    #: Ballots that answered every scored item with the option in the same position.
    uniform_ballots = db.Column(db.Integer, nullable=False, default=0)
    #: Change against the union's previous published campaign, as computed at freezing.
    comparison = db.Column(db.JSON, nullable=True)
    #: Warnings for the officers: [{"kind": …, "message": …}].
    flags = db.Column(db.JSON, nullable=False, default=list)
    #: SHA-256 over the canonical listing of the ballots counted.
    ballot_digest = db.Column(db.String(64), nullable=False)
    computed_at = db.Column(db.DateTime, nullable=False)

    campaign = db.relationship("Campaign", backref=db.backref("result", uselist=False))
    items = db.relationship("ResultItem", back_populates="result", order_by="ResultItem.position",
                            cascade="all, delete-orphan")

    # --- Small-group protection: the one rule every page, PDF, export, ranking, review, comparison and
    # rectification rule asks. Below min_group_size() voters a "result" is little more than the
    # ballots themselves (one voter's is their ballot), so nothing derived from the ballots is shown:
    # no score, grade, rate, count per option, chart, comparison, ranking, warning or rectification
    # item opened by a rule. A void result (quorum not met) shows nothing either. The stored columns
    # keep what was computed at freezing; only turnout figures (who voted, not how) are shown.

    @property
    def too_few_voters(self):
        return self.turnout < min_group_size()

    @hybrid_property
    def figures_shown(self):
        """True when figures derived from the ballots may be shown: the quorum is met and enough voted."""
        return bool(self.quorum_met) and not self.too_few_voters

    @figures_shown.inplace.expression
    @classmethod
    def _figures_shown_expression(cls):
        return and_(cls.quorum_met.is_(True), cls.turnout >= min_group_size())

    @property
    def withheld_reason(self):
        """Why no figure is shown, in plain words; None when they are."""
        if self.too_few_voters:
            return f"参评人数不足 {min_group_size()} 人，为保护投票秘密，不公布任何统计结果。"
        if not self.quorum_met:
            return "参评人数未达法定人数，评议无效，不公布统计结果。"
        return None

    @property
    def shown_overall_score(self):
        return self.overall_score if self.figures_shown else None

    @property
    def shown_grade(self):
        return self.grade if self.figures_shown else None

    @property
    def grade_label(self):
        """The grade as listings print it: the grade, "无效" without quorum, "不公布" for a small group."""
        if not self.quorum_met:
            return "无效（未达法定人数）"
        if self.too_few_voters:
            return f"不公布（参评不足 {min_group_size()} 人）"
        return self.grade or "—"


class ResultItem(db.Model):
    __tablename__ = "result_items"

    id = db.Column(db.Integer, primary_key=True)
    result_id = db.Column(db.Integer, db.ForeignKey("results.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    position = db.Column(db.Integer, nullable=False)
    answered = db.Column(db.Integer, nullable=False)
    satisfied = db.Column(db.Integer, nullable=False)
    rate = db.Column(db.Float, nullable=True)
    rate_low = db.Column(db.Float, nullable=True)
    rate_high = db.Column(db.Float, nullable=True)
    mean_score = db.Column(db.Float, nullable=True)
    #: t interval of the mean score (on the options' own scale), finite-population corrected.
    mean_low = db.Column(db.Float, nullable=True)
    mean_high = db.Column(db.Float, nullable=True)
    #: Normalised mean score on 0–100 (lowest option 0, highest 100).
    normalised_score = db.Column(db.Float, nullable=True)
    #: Count per option id, as {"<option id>": count}.
    option_counts = db.Column(db.JSON, nullable=False)

    result = db.relationship("Result", back_populates="items")
    item = db.relationship("Item")

    @property
    def figures_shown(self):
        """The same rule for one item: its result's figures are shown and enough ballots answered it
        (an optional item answered by one member of a large electorate would show that answer).

        Free-text answers are kept apart from the ballots and shown as written to those who run the
        campaign, so a few of them tell nothing more about anyone's ballot: only a small result hides them.
        """
        return self.result.figures_shown and (self.item.kind == ItemKind.text or self.answered >= min_group_size())


class PublicationStage(JobStage):
    queued = "queued", "排队中", JobState.queued
    counting = "counting", "正在统计结果", JobState.running
    counted = "counted", "已统计", JobState.done
    published = "published", "已公布", JobState.done  # jobs that counted and published at once, before review
    failed = "failed", "失败", JobState.failed


class PublicationJob(Job):
    """Counting a large result in the background (results.publication); its subject is the campaign.

    `created_by` is the officer who asked last: the result is counted in their name. No table of
    its own: the `jobs` row says it all.
    """

    __mapper_args__ = {"polymorphic_identity": "publication"}
    stages = PublicationStage
    #: A million ballots take about 16 s; half an hour without an outcome means the worker died.
    stalled_after = timedelta(minutes=30)
