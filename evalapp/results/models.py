"""The frozen result of a published campaign."""
from evalapp.core.db import db


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
