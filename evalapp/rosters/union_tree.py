"""Importing the union tree from a file (工会组织架构表): plan in Python, apply with set-based SQL.

`plan_import` reads the file and the scope's unions and works out what would change; nothing is
written. `apply_plan` writes a plan without errors in the caller's transaction: new unions level by
level, renames, kinds, sectors and moves in bulk, then every materialised path of the scope
recomputed from the parent ids, so a move carries its whole subtree along.
"""
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.accounts.operations import appoint
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.text import has_control
from evalapp.core.timeutil import utcnow
from evalapp.rosters.checking import ErrorLog
from evalapp.rosters.parsing import find_header, open_table
from evalapp.unions.models import CHILD_KINDS, Member, Union, UnionKind, UnionSector
from evalapp.unions.operations import PHONE_PATTERN, code_error, normalise_code, normalise_text
from evalapp.unions.tree_file import (
    CHAIR_PHONE,
    CODE,
    COLUMNS,
    KIND,
    KINDS_BY_LABEL,
    NAME,
    PARENT_CODE,
    REQUIRED,
    SECTOR,
    SECTORS_BY_LABEL,
    column_of,
)

NAME_MAX = 200
COUNT_KEYS = ("rows", "new", "renamed", "moved", "retyped", "restored", "unchanged", "to_dissolve", "chairs",
              "chairs_later", "errors")


@dataclass
class TreeRow:
    row_no: int
    code: str
    name: str
    parent_code: str
    kind: UnionKind | None
    sector: object  # a UnionSector, or None to keep the union's own
    chair_phone: str | None


@dataclass
class TreePlan:
    root: Union | None
    rows: list = field(default_factory=list)
    errors: ErrorLog = field(default_factory=ErrorLog)
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    #: Existing unions by code (those of the file found in the scope).
    existing: dict = field(default_factory=dict)
    #: Every union with a code, by code.
    by_code: dict = field(default_factory=dict)
    dissolve_missing: bool = False
    to_dissolve: list = field(default_factory=list)
    #: (union code, account id) of the chairs to appoint.
    chairs: list = field(default_factory=list)


def read_rows(path, errors):
    """Return the file's rows as TreeRow, recording cell errors; refuse a file without its header."""
    rows, close = open_table(path)
    try:
        columns = _header(rows)
        width = max(columns.values()) + 1
        found = []
        for row_no, cells in rows:
            cells = cells + [""] * (width - len(cells))
            values = {column: cells[position].strip() for column, position in columns.items()}
            if any(values.values()):
                found.append(_row(row_no, values, errors))
        return found
    finally:
        close()


def _header(rows):
    _row_no, columns = find_header(rows, column_of, any, COLUMNS)
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise Refused(f"文件缺少必需的列：{'、'.join(missing)}。表头应包含：{'、'.join(COLUMNS)}。", 400)
    return columns


def _row(row_no, values, errors):
    code, parent_code = normalise_code(values[CODE]), normalise_code(values.get(PARENT_CODE, ""))
    name = values[NAME]
    if not code:
        errors.add(row_no, CODE, "工会代码为空。")
    elif message := code_error(code):
        errors.add(row_no, CODE, message)
    if parent_code and (message := code_error(parent_code)):
        errors.add(row_no, PARENT_CODE, "上级" + message)
    if not name:
        errors.add(row_no, NAME, "工会名称为空。")
    elif len(name) > NAME_MAX or has_control(name):
        errors.add(row_no, NAME, f"工会名称过长（最多 {NAME_MAX} 个字）或含有控制字符。")
    kind = KINDS_BY_LABEL.get(normalise_text(values[KIND]).replace("(", "（").replace(")", "）"))
    if kind is None:
        errors.add(row_no, KIND, f"类型“{values[KIND][:30]}”无法识别，应为：{'、'.join(KINDS_BY_LABEL)}。")
    sector = None
    if raw_sector := values.get(SECTOR, ""):
        sector = SECTORS_BY_LABEL.get(raw_sector.replace(" ", ""))
        if sector is None:
            errors.add(row_no, SECTOR, f"所属类型“{raw_sector[:30]}”无法识别，应为：{'、'.join(SECTORS_BY_LABEL)}。")
    phone = normalise_text(values.get(CHAIR_PHONE, "")) or None
    if phone is not None and not PHONE_PATTERN.match(phone):
        errors.add(row_no, CHAIR_PHONE, f"主席手机号“{phone[:20]}”格式不正确（应为 11 位手机号）。")
    return TreeRow(row_no, code, name, parent_code, kind, sector, phone)


def plan_import(path, root=None, dissolve_missing=False):
    """Return the TreePlan for the file at `path` below `root` (the whole federation when None)."""
    plan = TreePlan(root=root, dissolve_missing=dissolve_missing)
    plan.rows = read_rows(path, plan.errors)
    unions = {u.id: u for u in db.session.execute(
        select(Union.id, Union.code, Union.name, Union.kind, Union.sector, Union.parent_id, Union.path,
               Union.dissolved_at)).all()}
    by_code = plan.by_code = {u.code: u for u in unions.values() if u.code}
    in_scope = (lambda u: u.id != root.id and u.path.startswith(root.path)) if root else (lambda _u: True)
    file_rows = _unique_rows(plan)
    for row in plan.rows:
        union = by_code.get(row.code)
        if union is None:
            continue
        if in_scope(union):
            plan.existing[row.code] = union
        else:
            plan.errors.add(row.row_no, CODE, f"工会代码“{row.code}”已被本次导入范围以外的“{union.name}”使用。")
    for row in file_rows.values():
        _check_parent(plan, row, file_rows, unions, in_scope)
    _check_retyped(plan, file_rows, unions)
    _check_chairs(plan, file_rows)
    _count(plan, file_rows, unions, in_scope)
    plan.counts["errors"] = plan.errors.rows
    plan.counts["rows"] = len(plan.rows)
    return plan


def _unique_rows(plan):
    first = {}
    for row in plan.rows:
        if not row.code:
            continue
        if row.code in first:
            plan.errors.add(row.row_no, CODE, f"工会代码“{row.code}”在文件中重复出现（第 {first[row.code].row_no} 行已有）。")
        else:
            first[row.code] = row
    return first


def _parent_of(plan, row, file_rows):
    """Return ("row", TreeRow), ("union", union row), ("root", root or None) or None when unknown."""
    if not row.parent_code:
        return "root", plan.root
    if row.parent_code in file_rows:
        return "row", file_rows[row.parent_code]
    union = plan.by_code.get(row.parent_code)
    if union is not None and plan.root is not None and union.id == plan.root.id:
        return "root", plan.root
    return ("union", union) if union is not None else None


def _check_parent(plan, row, file_rows, unions, in_scope):
    parent = _parent_of(plan, row, file_rows)
    if parent is None or (parent[0] == "union" and not in_scope(parent[1])):
        plan.errors.add(row.row_no, PARENT_CODE, f"上级工会代码“{row.parent_code}”在文件和本次导入的范围内都找不到。")
        return
    if row.kind is not None:
        parent_kind = parent[1].kind if parent[1] is not None else None
        if parent_kind is None and row.kind != UnionKind.city:
            plan.errors.add(row.row_no, KIND, "只有市总工会可以没有上级工会（请填写上级工会代码）。")
        elif parent_kind is not None and row.kind not in CHILD_KINDS[parent_kind]:
            plan.errors.add(row.row_no, KIND, f"{parent_kind.label}下不能设立{row.kind.label}。")
    if _in_cycle(plan, row, file_rows, unions):
        plan.errors.add(row.row_no, PARENT_CODE, "上级工会关系形成循环（该工会成了自己的下级）。")


def _in_cycle(plan, row, file_rows, unions):
    """Whether following the parents (the file's, else the database's) from `row` runs in a circle."""
    seen, current = set(), row
    while True:
        if current.code in seen:
            return True
        seen.add(current.code)
        parent = _parent_of(plan, current, file_rows)
        if parent is None or parent[0] == "root":
            return False
        if parent[0] == "row":
            current = parent[1]
            continue
        union = parent[1]
        while union is not None and union.code not in file_rows:  # up through the unions not in the file
            if plan.root is not None and union.id == plan.root.id:
                return False
            union = unions.get(union.parent_id)
        if union is None:
            return False
        current = file_rows[union.code]


def _check_retyped(plan, file_rows, unions):
    """A union whose type changes must still take the unions below it that the file leaves where they are."""
    retyped = {union.id: file_rows[code] for code, union in plan.existing.items()
               if file_rows[code].kind is not None and file_rows[code].kind != union.kind}
    if not retyped:
        return
    for child in unions.values():
        row = retyped.get(child.parent_id)
        if row is not None and child.code not in file_rows and child.kind not in CHILD_KINDS[row.kind]:
            plan.errors.add(row.row_no, KIND, f"该工会下有{child.kind.label}“{child.name}”，不能改为{row.kind.label}。")


def _check_chairs(plan, file_rows):
    wanted = [row for row in file_rows.values() if row.chair_phone and PHONE_PATTERN.match(row.chair_phone)]
    if not wanted:
        return
    union_ids = {plan.existing[row.code].id for row in wanted if row.code in plan.existing}
    members = {}
    for union_id, phone, account_id in db.session.execute(
            select(Member.union_id, Member.phone, Member.account_id)
            .where(Member.union_id.in_(union_ids), Member.active.is_(True))):
        members[union_id, phone] = account_id
    for row in wanted:
        union = plan.existing.get(row.code)
        key = (union.id, row.chair_phone) if union is not None else None
        if union is None:
            # A new union has no roster yet: its chair is appointed when the same file is imported again,
            # after the rosters (and the chair's account).
            plan.counts["chairs_later"] += 1
        elif key not in members:
            plan.errors.add(row.row_no, CHAIR_PHONE, f"该工会的花名册上没有手机号为“{row.chair_phone}”的在册会员。")
        elif members[key] is None:
            plan.errors.add(row.row_no, CHAIR_PHONE, f"手机号为“{row.chair_phone}”的会员尚未开通账号，无法任命为主席。")
        else:
            plan.chairs.append((row.code, members[key]))
    chaired = set(db.session.execute(select(RoleGrant.union_id, RoleGrant.account_id).where(
        RoleGrant.role == Role.chair, RoleGrant.union_id.in_(union_ids))).all())
    plan.chairs = [(code, account_id) for code, account_id in plan.chairs
                   if (plan.existing[code].id, account_id) not in chaired]
    plan.counts["chairs"] = len(plan.chairs)


def _parent_id(plan, row, file_rows, ids):
    """The id of `row`'s parent: `ids` maps the file's codes to the unions' ids known so far."""
    kind, parent = _parent_of(plan, row, file_rows)
    if kind == "row":
        return ids.get(parent.code)
    return parent.id if parent is not None else None


def _count(plan, file_rows, unions, in_scope):
    counts = plan.counts
    ids = {code: union.id for code, union in plan.existing.items()}
    for row in file_rows.values():
        union = plan.existing.get(row.code)
        if union is None:
            counts["new"] += 1
            continue
        moved = _parent_id(plan, row, file_rows, ids) != union.parent_id
        changes = {"renamed": row.name != union.name, "moved": moved,
                   "retyped": row.kind != union.kind or (row.sector is not None and row.sector != union.sector),
                   "restored": union.dissolved_at is not None}
        for key, changed in changes.items():
            counts[key] += changed
        counts["unchanged"] += not any(changes.values())
    plan.to_dissolve = sorted(u.id for u in unions.values() if u.code and u.dissolved_at is None and in_scope(u)
                              and u.code not in file_rows)
    counts["to_dissolve"] = len(plan.to_dissolve)


def fingerprint(plan):
    """A digest of what applying `plan` would do to which unions: equal counts are not enough to tell
    that the tree is still as previewed (another union may be the one to dissolve)."""
    existing = sorted((code, u.id, u.name, u.kind.value, u.sector.value if u.sector else None, u.parent_id,
                       u.dissolved_at is None) for code, u in plan.existing.items())
    state = {"existing": existing, "dissolve": plan.to_dissolve, "chairs": sorted(plan.chairs),
             "root": plan.root.id if plan.root else None}
    return hashlib.sha256(json.dumps(state, ensure_ascii=False, default=str).encode()).hexdigest()


def changes_anything(plan):
    counts = plan.counts
    return any(counts[key] for key in ("new", "renamed", "moved", "retyped", "restored", "chairs")) or (
        plan.dissolve_missing and counts["to_dissolve"])


def apply_plan(plan, actor=None):
    """Write `plan` (refused if it has errors) in the caller's transaction; audit it once."""
    if plan.errors.rows:
        raise Refused(f"文件中有 {plan.errors.rows} 行有错误，请修改后重新导入。", 400)
    if not changes_anything(plan):
        return
    file_rows = {row.code: row for row in plan.rows}
    ids = {code: union.id for code, union in plan.existing.items()}
    _insert_new(plan, file_rows, ids)
    updates = []
    for code, union in plan.existing.items():
        row = file_rows[code]
        changed = {"name": row.name, "kind": row.kind, "parent_id": _parent_id(plan, row, file_rows, ids),
                   "dissolved_at": None}
        if row.sector is not None:
            changed["sector"] = row.sector
        if any(getattr(union, key) != value for key, value in changed.items()):
            updates.append({"id": union.id, **changed})
    if updates:
        db.session.execute(update(Union), updates)
    if plan.dissolve_missing and plan.to_dissolve:
        db.session.execute(update(Union).where(Union.id.in_(plan.to_dissolve)).values(dissolved_at=utcnow()))
    _recompute_paths(plan.root)
    db.session.expire_all()
    for code, account_id in plan.chairs:
        union, account = db.session.get(Union, ids[code]), db.session.get(Account, account_id)
        appoint(actor, union, account.username, Role.chair)
    subject = plan.root or db.session.get(Union, ids[plan.rows[0].code])
    audit.record("union_tree.imported", subject, actor=actor, **{key: plan.counts[key] for key in COUNT_KEYS},
                 dissolved=plan.to_dissolve if plan.dissolve_missing else [])


def _insert_new(plan, file_rows, ids):
    """Insert the new unions parents first, one statement per level of the file's tree."""
    pending = [row for row in file_rows.values() if row.code not in ids]
    while pending:
        level = [row for row in pending if row.parent_code not in file_rows or row.parent_code in ids]
        if not level:
            raise RuntimeError("the file's tree has a cycle the checks missed")
        values = [{"name": row.name, "kind": row.kind, "code": row.code, "sector": row.sector or UnionSector.other,
                   "parent_id": _parent_id(plan, row, file_rows, ids), "path": "", "depth": 0} for row in level]
        for union_id, code in db.session.execute(insert(Union).returning(Union.id, Union.code), values):
            ids[code] = union_id
        pending = [row for row in pending if row.code not in ids]


def _recompute_paths(root):
    """Set every path and depth of `root`'s subtree (the whole tree when None) from the parent ids."""
    condition = Union.subtree_filter(root) | (Union.path == "") if root is not None else db.true()
    rows = db.session.execute(select(Union.id, Union.parent_id, Union.path, Union.depth).where(condition)).all()
    children = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    current = {row.id: (row.path, row.depth) for row in rows}
    start = [(root.id, root.path)] if root is not None else [(None, "/")]
    updates = []
    while start:
        parent_id, parent_path = start.pop()
        for child in children.get(parent_id, ()):
            path = f"{parent_path}{child.id}/"
            depth = path.count("/") - 2
            if current[child.id] != (path, depth):
                updates.append({"id": child.id, "path": path, "depth": depth})
            start.append((child.id, path))
    if updates:
        db.session.execute(update(Union), updates)
