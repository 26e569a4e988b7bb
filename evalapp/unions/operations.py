"""Building the union tree and its rosters."""
import hashlib
import hmac
import re
import unicodedata

from flask import current_app
from sqlalchemy import func, select

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.text import check_line
from evalapp.unions.events import MemberEventKind, record_member_event
from evalapp.unions.models import CHILD_KINDS, Member, Union, UnionKind, UnionSector

PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")
CODE_PATTERN = re.compile(r"[A-Z0-9-]{1,32}")
BAD_CODE = "工会代码只能由 1 至 32 位字母、数字和连字符（-）组成。"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def create_union(name, kind: UnionKind, parent=None, actor=None, sector: UnionSector = UnionSector.other):
    """Create a union under `parent`; only the city federation may have no parent."""
    name = name.strip()
    if not name:
        raise Refused("工会名称不能为空。", 400)
    check_line(name, "工会名称")
    if actor is not None and parent is not None and not actor.manages(parent):
        raise Refused("无权在该工会下设立下属工会。", 403)
    if parent is None and kind != UnionKind.city:
        raise Refused("只有市总工会可以没有上级工会。", 400)
    if parent is not None and kind not in CHILD_KINDS[parent.kind]:
        raise Refused(f"{parent.kind.label}下不能设立{kind.label}。", 400)
    union = Union(name=name, kind=kind, parent=parent, sector=UnionSector(sector))
    db.session.add(union)
    db.session.flush()
    union.path = (parent.path if parent else "/") + f"{union.id}/"
    union.depth = union.path.count("/") - 2
    audit.record("union.created", union, actor=actor, name=name, kind=kind.value,
                 parent_id=parent.id if parent else None, sector=union.sector.value)
    return union


def set_sector(union, sector: UnionSector, actor):
    """Change what kind of organisation `union` belongs to (所属类型)."""
    if not actor.manages(union):
        raise Refused("无权修改该工会的信息。", 403)
    before = union.sector
    if before == sector:
        return union
    union.sector = sector
    db.session.flush()
    audit.record("union.sector_changed", union, actor=actor, before=before.value, after=sector.value)
    return union


def normalise_code(raw):
    """Return a union code trimmed, upper-case, full-width characters folded ("" for an empty cell)."""
    return unicodedata.normalize("NFKC", raw or "").strip().upper()


def code_error(code):
    """Return why a normalised code is unusable, or None."""
    return None if CODE_PATTERN.fullmatch(code) else BAD_CODE


def set_code(union, raw, actor):
    """Give `union` its code (工会代码), or clear it with an empty value; officers above the union only."""
    if not (actor.manages(union.parent) if union.parent is not None else actor.is_admin):
        raise Refused("只有上级工会的工作人员可以修改工会代码。", 403)
    code = normalise_code(raw) or None
    if code is not None and (error := code_error(code)):
        raise Refused(error, 400)
    if code == union.code:
        return union
    holder = db.session.scalar(select(Union).where(Union.code == code)) if code else None
    if holder is not None:
        raise Refused(f"工会代码“{code}”已被“{holder.name}”使用。", 400)
    before, union.code = union.code, code
    db.session.flush()
    audit.record("union.code_changed", union, actor=actor, before=before, after=code)
    return union


def active_member_counts(union_ids):
    """Return {union id: active members on its own roster} for `union_ids` (a list or a select of ids).

    Unions without active members are absent from the answer.
    """
    return dict(db.session.execute(
        select(Member.union_id, func.count()).where(Member.union_id.in_(union_ids), Member.active.is_(True))
        .group_by(Member.union_id)).all())


def normalise_text(value):
    """Return `value` in NFKC form without spaces, so that full-width digits (１３８…) count as ASCII."""
    return unicodedata.normalize("NFKC", value or "").replace(" ", "").strip()


def valid_id_number(number):
    """Return whether `number` is an 18-character national ID with a correct GB 11643 check digit."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return False
    return id_check_char(number[:17]) == number[17]


def id_check_char(first17):
    """Return the GB 11643 check character for the first 17 digits of a national ID number."""
    return ID_CHECK_CHARS[sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS)) % 11]


def hash_id_number(number):
    key = (current_app.config.get("ID_HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def add_member(union, name, phone=None, id_number=None, actor=None, account=None):
    """Put a person on `union`'s roster after checking phone and national ID number."""
    name = (name or "").strip()
    if not name:
        raise Refused("姓名不能为空。", 400)
    check_line(name, "姓名")
    phone = normalise_text(phone) or None
    if phone is not None and not PHONE_PATTERN.match(phone):
        raise Refused(f"手机号“{phone}”格式不正确（应为 11 位手机号）。", 400)
    id_hash = last4 = None
    if id_number:
        id_number = normalise_text(id_number).upper()
        if not valid_id_number(id_number):
            raise Refused("身份证号码格式或校验位不正确。", 400)
        id_hash, last4 = hash_id_number(id_number), id_number[-4:]
        if db.session.scalar(select(Member.id).where(Member.id_number_hash == id_hash)):
            raise Refused("该身份证号码的会员已在花名册中。", 400)
    member = Member(union=union, name=name, phone=phone, account=account, id_number_hash=id_hash,
                    id_number_last4=last4)
    db.session.add(member)
    db.session.flush()
    if actor is not None:
        record_member_event(member, MemberEventKind.enrolled, actor)
        audit.record("member.added", member, actor=actor, union_id=union.id)
    return member


def visible_roots(account):
    """Return the unions at the top of what `account` manages (the root for an administrator)."""
    if account.is_admin:
        return list(db.session.scalars(select(Union).where(Union.parent_id.is_(None)).order_by(Union.id)))
    scopes = sorted(account.officer_unions, key=lambda u: len(u.path))
    roots = []
    for union in scopes:
        if not any(union.is_within(root) for root in roots):
            roots.append(union)
    return roots


def managed_condition(account):
    """SQL condition on Union: the unions `account` manages (`Account.manages`, for queries)."""
    if account.is_admin:
        return db.true()
    return db.or_(db.false(), *(Union.subtree_filter(root) for root in visible_roots(account)))


def managed_unions_query(account):
    """Return a select of every union `account` manages."""
    return select(Union).where(managed_condition(account))


def enrol_member(union, name, phone, id_number, actor, with_account=False, password=None):
    """Add a member and, if asked, an account whose login name is their phone number."""
    from evalapp.accounts.operations import create_account

    if actor is not None and not actor.manages(union):
        raise Refused("无权管理该工会的花名册。", 403)
    account = None
    if with_account:
        if not phone:
            raise Refused("开通账号需要填写手机号（作为登录名）。", 400)
        account = create_account(phone, name, password, actor=actor, must_change_password=True)
    member = add_member(union, name, phone, id_number, actor=actor, account=account)
    if account is not None:
        record_member_event(member, MemberEventKind.initial_password, actor)
    return member


#: A filter menu lists at most this many unions (those above the grassroots: a few hundred in a city).
FILTER_CHOICES_LIMIT = 300


def unions_to_filter_by(account, selected=None, with_chaired=False):
    """The unions above the grassroots that `account` manages (and, `with_chaired`, those it chairs),
    for a page's union filter; `selected` is kept in the list even when it falls outside."""
    query = (select(Union).where(managed_condition(account), Union.kind != UnionKind.grassroots,
                                 Union.dissolved_at.is_(None))
             .order_by(Union.path).limit(FILTER_CHOICES_LIMIT))
    unions = list(db.session.scalars(query)) + (account.chaired_unions if with_chaired else [])
    if selected is not None and selected not in unions:
        unions.append(selected)
    return unions


def roster_phones():
    """(account_id, phone) of every member with an account and a number in the roster."""
    return select(Member.account_id.label("account_id"), Member.phone.label("phone")).where(
        Member.account_id.is_not(None), Member.phone.is_not(None))


def create_top_union(actor, name, code=""):
    """A fresh install's first step: the administrator creates the city federation (the top union),
    below which the tree is then imported or set up union by union."""
    if not actor.is_admin:
        raise Refused("只有系统管理员可以创建市总工会。", 403)
    if db.session.scalar(select(Union.id).limit(1)) is not None:
        raise Refused("已经有工会了：最上级的工会只在首次使用时创建。", 400)
    union = create_union(name, UnionKind.city, actor=actor)
    if (code or "").strip():
        set_code(union, code, actor)
    return union


def tree_is_empty():
    return db.session.scalar(select(Union.id).limit(1)) is None
