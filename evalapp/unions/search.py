"""Finding one person in a union's subtree: by name, phone number, or the last four characters of the ID number."""
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from evalapp.core.db import db
from evalapp.unions.models import Member, Union

#: A search returns at most this many people; more means the words are too common: add to them.
LIMIT = 50
ID_TAIL = re.compile(r"\d{3}[\dX]")


@dataclass
class MemberSearch:
    text: str
    members: list
    #: What the text was taken for, in the officer's words ("姓名包含", "手机号包含", …); None before a search.
    taken_as: str | None = None
    more: bool = False
    message: str | None = None


def search_members(root, text):
    """The members of `root`'s subtree whose name contains `text`, whose phone contains its digits, or
    whose ID number ends with it (four characters); in-roster people first, then by name."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return MemberSearch("", [])
    digits = re.sub(r"[\s-]", "", text).upper()
    if ID_TAIL.fullmatch(digits):
        condition = or_(Member.id_number_last4 == digits, Member.phone.endswith(digits))
        taken_as = "身份证后四位或手机号后四位为"
    elif digits.isdigit() and len(digits) >= 5:
        condition, taken_as = Member.phone.contains(digits, autoescape=True), "手机号包含"
    elif len(text) > 50:
        return MemberSearch(text, [], message="请输入姓名、手机号或身份证后四位，最多 50 个字。")
    else:
        condition, taken_as = Member.name.contains(text, autoescape=True), "姓名包含"
    found = db.session.scalars(
        select(Member).join(Union, Union.id == Member.union_id).options(joinedload(Member.union))
        .where(Union.subtree_filter(root), condition)
        .order_by(Member.active.desc(), Member.name, Member.id).limit(LIMIT + 1)).all()
    return MemberSearch(text, found[:LIMIT], taken_as, more=len(found) > LIMIT)
