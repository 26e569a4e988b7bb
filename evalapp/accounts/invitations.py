"""Invitation codes: how members get their first password without anyone else knowing it."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evalapp.accounts.models import Invitation
from evalapp.accounts.operations import check_password_policy, create_account, find_account, normalise_username
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.unions.models import Member
from evalapp.unions.operations import normalise_text

#: No 0/O, 1/I/L: codes are read off paper and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
VALID_FOR = timedelta(days=60)


def _hash(code):
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code):
    return normalise_text(code).replace("-", "").upper()


def _new_code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def may_reset(actor, account):
    """An officer may reset only accounts they fully oversee: never an administrator's, and never
    one that holds a role in a union outside the officer's subtree (that would be a takeover)."""
    if account is None or actor.is_admin:
        return True
    if account.is_admin or not account.active:
        return False
    return all(actor.manages(grant.union) for grant in account.grants)


def issue_invitations(union, actor, members=None):
    """Give members of `union` a new code; return [(member, code)] for the printed sheet.

    By default the sheet covers the active members with a phone who have not activated an account
    yet; pass `members` to reset particular members' passwords. The codes exist only in the return
    value.
    """
    if not actor.manages(union):
        raise Refused("无权为该工会会员发放激活码。", 403)
    if members is None:
        members = [member for member in db.session.scalars(select(Member).where(
            Member.union_id == union.id, Member.active.is_(True), Member.phone.is_not(None)).order_by(Member.id))
            if member.account is None or member.account.must_change_password]
    elif any(member.union_id != union.id or not member.phone or not member.active for member in members):
        raise Refused("只能为本工会登记了手机号的在册会员发放激活码。", 400)
    if any(not may_reset(actor, member.account) for member in members):
        raise Refused("该会员的账号兼任其他职务或已停用，须由上级工会或系统管理员重置。", 403)
    if not members:
        raise Refused("本工会没有登记了手机号的在册会员，无需打印激活单。", 400)
    now, issued = utcnow(), []
    existing = {inv.member_id: inv for inv in db.session.scalars(
        select(Invitation).where(Invitation.member_id.in_([m.id for m in members])))}
    for member in members:
        code = _new_code()
        invitation = existing.get(member.id) or Invitation(member_id=member.id)
        invitation.code_hash, invitation.issued_at, invitation.used_at = _hash(code), now, None
        invitation.expires_at, invitation.issued_by_id = now + VALID_FOR, actor.id
        db.session.add(invitation)
        issued.append((member, code))
    db.session.flush()
    audit.record("invitations.issued", union, actor=actor, member_ids=[member.id for member, _code in issued])
    return issued


def activate(phone, code, password):
    """Let the member whose phone and code match choose their password; return their account."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _hash(code)))
    member = invitation.member if invitation is not None else None
    if member is None or normalise_text(phone) != member.phone or not member.active:
        raise Refused("手机号或激活码不正确。", 400)
    if invitation.used_at is not None:
        raise Refused("该激活码已使用过。如忘记密码，请联系工会工作人员重新发放激活码。", 400)
    if invitation.expires_at < utcnow():
        raise Refused("该激活码已过期，请联系工会工作人员重新发放。", 400)
    check_password_policy(password, member.phone, name=member.name, phone=member.phone)
    account = member.account
    if account is None:
        if find_account(member.phone) is not None:
            raise Refused("该手机号已被其他账号使用，请联系工会工作人员。", 400)
        try:
            account = create_account(normalise_username(member.phone), member.name, password, actor=None)
        except IntegrityError:  # the same code submitted twice at once: the other request won
            db.session.rollback()
            raise Refused("该激活码已使用过。", 400) from None
        member.account = account
    elif not account.active:
        raise Refused("该账号已停用，请联系工会工作人员。", 400)
    else:
        account.set_password(password)
    account.must_change_password = False
    from evalapp.accounts.operations import end_all_sessions  # (local: keeps this change one hunk)
    end_all_sessions(account)  # a reset ends every session of whoever held the old password
    invitation.used_at = utcnow()
    db.session.flush()
    audit.record("account.activated", account, actor=account)
    return account


def mask_phone(phone):
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")

