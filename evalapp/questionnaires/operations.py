"""Creating questionnaire templates, adding items, and freezing a copy for a campaign."""
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import select

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.questionnaires.models import (
    DEFAULT_OPTIONS,
    DIMENSIONS,
    Item,
    ItemKind,
    Option,
    Questionnaire,
)
from evalapp.unions.models import Union

#: A fraction of small whole numbers, a decimal with up to four places, or a percentage.
QUORUM_PATTERN = re.compile(r"[0-9]{1,3}/[0-9]{1,3}|[01](\.[0-9]{1,4})?|[0-9]{1,3}(\.[0-9]{1,2})?%")
RULE_FIELDS = ("quorum_ratio", "grade_excellent", "grade_good", "grade_pass", "rectify_below_rate")


def parse_quorum(text):
    """Return the quorum as an exact Fraction from "2/3", "0.8" or "80%"; refuse anything else."""
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if not QUORUM_PATTERN.fullmatch(text):
        raise Refused("法定参评比例格式不正确，可填 2/3、0.8 或 80%。", 400)
    try:
        value = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise Refused("法定参评比例格式不正确，可填 2/3、0.8 或 80%。", 400) from None
    if not Fraction(1, 100) <= value <= 1:
        raise Refused("法定参评比例须在 1% 到 100% 之间。", 400)
    return value


def _check_rules(rules):
    values = {}
    if rules.get("quorum_ratio") is not None:
        quorum = parse_quorum(rules["quorum_ratio"])
        values["quorum_ratio"] = f"{quorum.numerator}/{quorum.denominator}"
    try:
        values.update({key: Decimal(str(rules[key])) for key in RULE_FIELDS[1:] if rules.get(key) is not None})
    except InvalidOperation:
        raise Refused("规则数值格式不正确。", 400) from None
    if "rectify_below_rate" in values and not Decimal(0) < values["rectify_below_rate"] <= Decimal(1):
        raise Refused("整改阈值须在 0 到 1 之间。", 400)
    grades = [values.get(k) for k in ("grade_excellent", "grade_good", "grade_pass")]
    if all(g is not None for g in grades) and not (100 >= grades[0] >= grades[1] >= grades[2] >= 0):
        raise Refused("等次分数线须满足 100 ≥ 优秀 ≥ 良好 ≥ 合格 ≥ 0。", 400)
    return values


def create_questionnaire(owner_union, title, description="", actor=None, **rules):
    if actor is not None and not actor.manages(owner_union):
        raise Refused("无权为该工会创建测评表。", 403)
    title = (title or "").strip()
    if not title:
        raise Refused("测评表名称不能为空。", 400)
    questionnaire = Questionnaire(owner_union=owner_union, title=title, description=(description or "").strip(),
                                  **_check_rules(rules))
    db.session.add(questionnaire)
    db.session.flush()
    audit.record("questionnaire.created", questionnaire, actor=actor, title=title)
    return questionnaire


def add_item(questionnaire, kind: ItemKind, prompt, dimension=None, weight=1, actor=None):
    """Append an item with the default options of its kind."""
    _check_editable(questionnaire, actor)
    prompt = (prompt or "").strip()
    if not prompt:
        raise Refused("题目内容不能为空。", 400)
    if dimension and dimension not in DIMENSIONS:
        raise Refused("维度须为德、能、勤、绩、廉之一。", 400)
    weight = Decimal(str(weight))
    if not Decimal(0) < weight <= Decimal(100):
        raise Refused("权重须大于 0 且不超过 100。", 400)
    item = Item(kind=kind, prompt=prompt, dimension=dimension or None, weight=weight,
                position=len(questionnaire.items) + 1)
    item.options = [Option(position=i, label=label, score=score, counts_satisfied=satisfied)
                    for i, (label, score, satisfied) in enumerate(DEFAULT_OPTIONS[kind], start=1)]
    questionnaire.items.append(item)
    db.session.flush()
    audit.record("questionnaire.item_added", questionnaire, actor=actor, item_id=item.id, prompt=prompt)
    return item


def remove_item(item, actor=None):
    questionnaire = item.questionnaire
    _check_editable(questionnaire, actor)
    questionnaire.items.remove(item)
    for position, remaining in enumerate(questionnaire.items, start=1):
        remaining.position = position
    db.session.flush()
    audit.record("questionnaire.item_removed", questionnaire, actor=actor, prompt=item.prompt)


def _check_editable(questionnaire, actor):
    if questionnaire.is_snapshot:
        raise Refused("评议已开始，该测评表已冻结，不能修改。")
    if actor is not None and not actor.manages(questionnaire.owner_union):
        raise Refused("无权修改该测评表。", 403)


def freeze_copy(template):
    """Return a frozen copy of `template` for one campaign, so later edits never change it."""
    copy = Questionnaire(owner_union_id=template.owner_union_id, title=template.title,
                         description=template.description, is_snapshot=True,
                         **{key: getattr(template, key) for key in RULE_FIELDS})
    for item in template.items:
        copy.items.append(Item(position=item.position, kind=item.kind, prompt=item.prompt,
                               dimension=item.dimension, weight=item.weight,
                               options=[Option(position=o.position, label=o.label, score=o.score,
                                               counts_satisfied=o.counts_satisfied) for o in item.options]))
    db.session.add(copy)
    db.session.flush()
    return copy


def usable_templates(union):
    """Return the templates owned by `union` or any union above it."""
    ancestor_ids = union.lineage_ids
    return list(db.session.scalars(
        select(Questionnaire).join(Union, Questionnaire.owner_union_id == Union.id)
        .where(Questionnaire.is_snapshot.is_(False), Questionnaire.owner_union_id.in_(ancestor_ids))
        .order_by(Union.depth, Questionnaire.title)))


def managed_templates(account):
    """Return the editable templates of every union `account` manages."""
    from evalapp.unions.operations import managed_unions_query

    union_ids = managed_unions_query(account).with_only_columns(Union.id)
    return list(db.session.scalars(select(Questionnaire).where(
        Questionnaire.is_snapshot.is_(False), Questionnaire.owner_union_id.in_(union_ids)).order_by(Questionnaire.id)))
