"""Questionnaire templates, their items and options, and the rules that grade a result."""
import math
from decimal import Decimal
from fractions import Fraction

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum


class ItemKind(LabelledEnum):
    satisfaction3 = "satisfaction3", "三级满意度（满意/基本满意/不满意）"
    scale = "scale", "量表打分（n 分制）"
    single = "single", "单选题"
    multiple = "multiple", "多选题"
    text = "text", "填空/意见题"

    @property
    def has_options(self):
        return self != ItemKind.text

    @property
    def always_scored(self):
        """Satisfaction and scale items always count towards the score; single choice only if given scores."""
        return self in (ItemKind.satisfaction3, ItemKind.scale)


SATISFACTION_OPTIONS = [("满意", 100, True), ("基本满意", 60, True), ("不满意", 0, False)]
MIN_SCALE_POINTS, MAX_SCALE_POINTS = 2, 10


def scale_options(points):
    """Return (label, score, counts as satisfied) for an n-point scale, best first.

    The top 30% of the scale counts as satisfied (4 and 5 of 5, 7 to 10 of 10), matching the
    usual reading of a five-point satisfaction scale.
    """
    lowest_satisfied = math.ceil(0.7 * points)
    return [(f"{score}分", score, score >= lowest_satisfied) for score in range(points, 0, -1)]

#: The five classic dimensions of a cadre evaluation.
DIMENSIONS = ["德", "能", "勤", "绩", "廉"]


class Questionnaire(db.Model):
    __tablename__ = "questionnaires"

    id = db.Column(db.Integer, primary_key=True)
    owner_union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    title = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    #: A frozen copy made for one campaign when its voting opened; never edited again.
    is_snapshot = db.Column(db.Boolean, nullable=False, default=False)
    #: Share of the electorate that must vote for a valid result, as an exact fraction ("2/3", "0.8").
    quorum_ratio = db.Column(db.String(16), nullable=False, default="2/3")
    #: Minimum overall score (0–100) for the grades 优秀, 良好 and 合格.
    grade_excellent = db.Column(db.Numeric(5, 2), nullable=False, default=Decimal("90"))
    grade_good = db.Column(db.Numeric(5, 2), nullable=False, default=Decimal("80"))
    grade_pass = db.Column(db.Numeric(5, 2), nullable=False, default=Decimal("60"))
    #: An item whose satisfaction rate is below this opens a rectification item.
    rectify_below_rate = db.Column(db.Numeric(5, 4), nullable=False, default=Decimal("0.8"))

    owner_union = db.relationship("Union")
    items = db.relationship("Item", back_populates="questionnaire", order_by="Item.position",
                            cascade="all, delete-orphan")

    @property
    def quorum_fraction(self):
        return Fraction(self.quorum_ratio)

    def quorum_required(self, electorate):
        """Voters needed for a valid result: the ratio of the electorate, rounded up (as the result counts it)."""
        return math.ceil(electorate * self.quorum_fraction)

    def grade_for(self, score):
        """Return the grade label for an overall score on the 0–100 scale."""
        for threshold, grade in ((self.grade_excellent, "优秀"), (self.grade_good, "良好"), (self.grade_pass, "合格")):
            if score >= float(threshold):
                return grade
        return "不合格"

    def can_manage(self, account):
        """Officers of the owning union or of any union above it, and administrators."""
        return account.manages(self.owner_union)


class Item(db.Model):
    __tablename__ = "items"

    id = db.Column(db.Integer, primary_key=True)
    questionnaire_id = db.Column(db.Integer, db.ForeignKey("questionnaires.id"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False)
    kind = db.Column(db.Enum(ItemKind, native_enum=False, length=24), nullable=False)
    prompt = db.Column(db.String(500), nullable=False)
    dimension = db.Column(db.String(16), nullable=True)
    weight = db.Column(db.Numeric(6, 2), nullable=False, default=Decimal("1"))
    #: A member may leave an optional item unanswered.
    required = db.Column(db.Boolean, nullable=False, default=True)
    #: Whether the item's option scores count towards the overall score and its satisfaction rate.
    scored = db.Column(db.Boolean, nullable=False, default=True)
    #: Most options a member may tick on a multiple-choice item; None: no limit.
    max_choices = db.Column(db.Integer, nullable=True)

    questionnaire = db.relationship("Questionnaire", back_populates="items")
    options = db.relationship("Option", back_populates="item", order_by="Option.position",
                              cascade="all, delete-orphan")


class Option(db.Model):
    __tablename__ = "options"

    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False)
    label = db.Column(db.String(100), nullable=False)
    score = db.Column(db.Numeric(8, 2), nullable=False)
    counts_satisfied = db.Column(db.Boolean, nullable=False)

    item = db.relationship("Item", back_populates="options")
