"""Creating questionnaire templates, adding items, and freezing a copy for a campaign."""
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import select

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.text import check_line
from evalapp.questionnaires.models import (
    DIMENSIONS,
    MAX_SCALE_POINTS,
    MIN_SCALE_POINTS,
    SATISFACTION_OPTIONS,
    Item,
    ItemKind,
    Option,
    Questionnaire,
    scale_options,
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
    title = check_line((title or "").strip(), "测评表名称")
    if not title:
        raise Refused("测评表名称不能为空。", 400)
    questionnaire = Questionnaire(owner_union=owner_union, title=title, description=(description or "").strip(),
                                  **_check_rules(rules))
    db.session.add(questionnaire)
    db.session.flush()
    audit.record("questionnaire.created", questionnaire, actor=actor, title=title)
    return questionnaire


MAX_OPTIONS = 20


def add_item(questionnaire, kind: ItemKind, prompt, dimension=None, weight=1, actor=None, **details):
    """Append an item; see `_item_fields` for `details` (required, points, options, max_choices)."""
    _check_editable(questionnaire, actor)
    fields, options = _item_fields(kind, prompt, dimension, weight, **details)
    item = Item(position=len(questionnaire.items) + 1, options=options, **fields)
    questionnaire.items.append(item)
    db.session.flush()
    audit.record("questionnaire.item_added", questionnaire, actor=actor, item_id=item.id, prompt=item.prompt,
                 kind=kind.value)
    return item


def update_item(item, kind: ItemKind, prompt, dimension=None, weight=1, actor=None, **details):
    """Replace an item's content and options (a template's options are never referenced by ballots)."""
    _check_editable(item.questionnaire, actor)
    fields, options = _item_fields(kind, prompt, dimension, weight, **details)
    before = {"prompt": item.prompt, "kind": item.kind.value, "options": [o.label for o in item.options]}
    for key, value in fields.items():
        setattr(item, key, value)
    item.options = options
    db.session.flush()
    audit.record("questionnaire.item_changed", item.questionnaire, actor=actor, item_id=item.id, before=before,
                 after={"prompt": item.prompt, "kind": kind.value, "options": [o.label for o in options]})
    return item


def _item_fields(kind, prompt, dimension, weight, *, required=True, points=5, options=None, max_choices=None):
    """Return (column values, Option rows) for an item, refusing anything a ballot could not use.

    `options` are (label, score or None, counts as satisfied) triples; satisfaction and scale items
    get their standard options when none are given.
    """
    kind = ItemKind(kind)
    prompt = (prompt or "").strip()
    if not prompt:
        raise Refused("题目内容不能为空。", 400)
    if len(prompt) > 500:
        raise Refused("题目内容不能超过 500 字。", 400)
    check_line(prompt, "题目内容")
    if dimension and dimension not in DIMENSIONS:
        raise Refused("维度须为德、能、勤、绩、廉之一。", 400)
    try:
        weight = Decimal(str(weight))
    except InvalidOperation:
        raise Refused("权重须为数字。", 400) from None
    if not Decimal(0) < weight <= Decimal(100):
        raise Refused("权重须大于 0 且不超过 100。", 400)
    rows = _option_rows(kind, points, options)
    scored = kind.always_scored or (kind == ItemKind.single and all(score is not None for _l, score, _s in rows))
    if kind == ItemKind.multiple and max_choices is not None and not 1 <= int(max_choices) <= len(rows):
        raise Refused(f"最多可选项数须在 1 到 {len(rows)} 之间。", 400)
    fields = {"kind": kind, "prompt": prompt, "dimension": dimension or None, "weight": weight,
              "required": bool(required), "scored": scored,
              "max_choices": int(max_choices) if kind == ItemKind.multiple and max_choices else None}
    options = [Option(position=i, label=label, score=score if scored else 0, counts_satisfied=scored and satisfied)
               for i, (label, score, satisfied) in enumerate(rows, start=1)]
    return fields, options


def _option_rows(kind, points, options):
    if kind == ItemKind.text:
        return []
    if not options:
        if kind == ItemKind.satisfaction3:
            return SATISFACTION_OPTIONS
        if kind == ItemKind.scale:
            if not MIN_SCALE_POINTS <= int(points or 0) <= MAX_SCALE_POINTS:
                raise Refused(f"量表分制须在 {MIN_SCALE_POINTS} 到 {MAX_SCALE_POINTS} 之间。", 400)
            return scale_options(int(points))
        raise Refused("单选题和多选题至少需要两个选项。", 400)
    rows = []
    for label, score, satisfied in options:
        label = unicodedata.normalize("NFC", str(label or "")).strip()
        if not label:
            continue
        if len(label) > 100:
            raise Refused("选项文字不能超过 100 字。", 400)
        check_line(label, "选项文字")
        if score is not None:
            try:
                score = Decimal(str(score))
            except InvalidOperation:
                raise Refused(f"选项“{label}”的分值须为数字。", 400) from None
            if not score.is_finite() or not Decimal(-1000) <= score <= Decimal(1000):
                raise Refused(f"选项“{label}”的分值须在 -1000 到 1000 之间。", 400)
        rows.append((label, score, bool(satisfied)))
    if len(rows) < 2:
        raise Refused("至少需要两个选项。", 400)
    if len(rows) > MAX_OPTIONS:
        raise Refused(f"选项不能超过 {MAX_OPTIONS} 个。", 400)
    if len({label for label, _score, _s in rows}) != len(rows):
        raise Refused("选项文字不能重复。", 400)
    if kind.always_scored and any(score is None for _l, score, _s in rows):
        raise Refused("满意度题和量表题的每个选项都须有分值。", 400)
    if kind == ItemKind.single and len({score is None for _l, score, _s in rows}) > 1:
        raise Refused("单选题的分值须全部填写（计分）或全部留空（不计分）。", 400)
    return rows


def remove_item(item, actor=None):
    questionnaire = item.questionnaire
    _check_editable(questionnaire, actor)
    questionnaire.items.remove(item)
    _renumber(questionnaire)
    db.session.flush()
    audit.record("questionnaire.item_removed", questionnaire, actor=actor, prompt=item.prompt)


def move_item(item, offset, actor=None):
    """Move an item up (offset -1) or down (+1); moving past either end changes nothing."""
    questionnaire = item.questionnaire
    _check_editable(questionnaire, actor)
    items = list(questionnaire.items)
    index = items.index(item)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(items):
        return
    items[index], items[target] = items[target], items[index]
    # Positions go through a temporary negative value nowhere: they carry no unique constraint.
    for position, each in enumerate(items, start=1):
        each.position = position
    questionnaire.items.sort(key=lambda each: each.position)
    db.session.flush()
    audit.record("questionnaire.item_moved", questionnaire, actor=actor, item_id=item.id, position=item.position)


def _renumber(questionnaire):
    for position, remaining in enumerate(questionnaire.items, start=1):
        remaining.position = position


def update_rules(questionnaire, actor, title, description="", **rules):
    """Change a template's title, description and rules (quorum, grade lines, rectification threshold)."""
    _check_editable(questionnaire, actor)
    title = check_line((title or "").strip(), "测评表名称")
    if not title:
        raise Refused("测评表名称不能为空。", 400)
    values = _check_rules(rules)
    before = {key: str(getattr(questionnaire, key)) for key in values}
    questionnaire.title, questionnaire.description = title, (description or "").strip()
    for key, value in values.items():
        setattr(questionnaire, key, value)
    db.session.flush()
    audit.record("questionnaire.rules_changed", questionnaire, actor=actor, before=before,
                 after={key: str(value) for key, value in values.items()})


def copy_questionnaire(template, owner_union, actor):
    """Return an editable copy of `template` owned by `owner_union`, to adapt a superior union's form."""
    if not actor.manages(owner_union) or template.is_snapshot or template not in usable_templates(owner_union):
        raise Refused("无权复制该测评表。", 403)
    copy = _copy(template, owner_union_id=owner_union.id, title=f"{template.title}（副本）", is_snapshot=False)
    audit.record("questionnaire.copied", copy, actor=actor, source_id=template.id)
    return copy


def _check_editable(questionnaire, actor):
    if questionnaire.is_snapshot:
        raise Refused("评议已开始，该测评表已冻结，不能修改。")
    if actor is not None and not questionnaire.can_manage(actor):
        raise Refused("无权修改该测评表。", 403)


def freeze_copy(template):
    """Return a frozen copy of `template` for one campaign, so later edits never change it."""
    return _copy(template, owner_union_id=template.owner_union_id, title=template.title, is_snapshot=True)


def _copy(template, **overrides):
    copy = Questionnaire(description=template.description, **{key: getattr(template, key) for key in RULE_FIELDS},
                         **overrides)
    for item in template.items:
        copy.items.append(Item(position=item.position, kind=item.kind, prompt=item.prompt, dimension=item.dimension,
                               weight=item.weight, required=item.required, scored=item.scored,
                               max_choices=item.max_choices,
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


def inherited_templates(account):
    """Return templates of unions above the ones `account` manages: usable as they are, or copied."""
    from evalapp.unions.operations import visible_roots

    found = {}
    for root in visible_roots(account):
        for template in usable_templates(root):
            if template.owner_union_id != root.id:
                found[template.id] = template
    return list(found.values())
