"""Invitation codes: how members get their first password without anyone else knowing it.

An officer sees every code they print. So that no single officer can vote in a member's name, a
code that could put a ballot in a member's name (see `_needs_second_person`) works only with a
second person: an officer outside the reach of the issuer and of whoever appointed them (for an
administrator's code, another administrator), who confirms it and phones the member a second code
the issuer never sees. Every code and every password it sets is also told to the member.
"""
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.accounts.operations import (
    check_password_policy,
    create_account,
    end_all_sessions,
    find_account,
    normalise_username,
)
from evalapp.accounts.signals import member_campaigns
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import to_local, utcnow
from evalapp.notifications.operations import notify
from evalapp.unions.appointments import independence, reach_of, within_reach
from evalapp.unions.events import SECURITY_LINK, MemberEvent, MemberEventKind, record_member_event
from evalapp.unions.models import Invitation, Member
from evalapp.unions.operations import normalise_text

#: No 0/O, 1/I/L: codes are read off paper and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
VALID_FOR = timedelta(days=60)
HELD = ("您正在参加评议。为防止他人冒用您的账号投票，此激活码须经上级工会工作人员确认后才能使用。"
        "已通知上级工会工作人员；他们确认后会打电话告诉您 6 位确认码，届时请用同一激活码加确认码再试一次。")
NO_CONFIRMER = ("这些会员正在参加评议，激活码须由您及任命您的人管理范围以外的工作人员确认，但系统中没有这样的人"
                "（例如您是最上级工会的工作人员，或唯一的系统管理员）。请由下级工会（区、镇）的工作人员发放激活码，"
                "或由另一位系统管理员发放。")
SECOND_CODE_LENGTH = 6
RECENT_MOVE = timedelta(days=30)
MAX_SECOND_CODE_FAILURES = 3
SECOND_CODE_NEEDED = ("此激活码已由上级工会工作人员确认。请在“确认码”一栏填写他们电话告知您的 6 位确认码；"
                      "如未接到电话，请联系上级工会。")


@dataclass(frozen=True)
class IssuedCode:
    member: Member
    code: str
    #: True when the code needs a second person's confirmation before it works.
    held: bool


def _hash(code):
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code):
    return normalise_text(code).replace("-", "").upper()


def _new_code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def _when(moment):
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def second_persons(union, issuer):
    """Who may check `issuer`'s work for `union`: the nearest officers above the reach of the issuer and
    of their appointers, who are none of them; else the administrators who are none of them."""
    reach, appointers = independence(issuer) if issuer is not None else (set(), set())
    if "*" not in reach:
        for ancestor in reversed(union.ancestors + [union]):
            if within_reach(ancestor, reach):
                continue
            officers = [officer for officer in db.session.scalars(
                select(Account).join(RoleGrant, RoleGrant.account_id == Account.id).where(
                    RoleGrant.union_id == ancestor.id, RoleGrant.role == Role.officer, Account.active.is_(True)))
                if officer.id not in appointers]
            if officers:
                return officers
    return [admin for admin in db.session.scalars(select(Account).where(Account.is_admin.is_(True), Account.active.is_(True)))
            if admin.id not in appointers]


def issue_invitations(union, actor, members=None):
    """Give members of `union` a new code; return [IssuedCode] for the printed sheet.

    By default the sheet covers the active members with a phone who have not activated an account
    yet; pass `members` to reset particular members' passwords. The codes exist only in the return
    value. Members with an account are told of the reset at once.
    """
    if not actor.manages(union):
        raise Refused("无权为该工会会员发放激活码。", 403)
    if members is None:
        members = [member for member in db.session.scalars(select(Member).where(
            Member.union_id == union.id, Member.active.is_(True), Member.phone.is_not(None)).order_by(Member.id))
            if member.account is None or member.account.must_change_password]
    elif any(member.union_id != union.id or not member.phone or not member.active for member in members):
        raise Refused("只能为本工会登记了手机号的在册会员发放激活码。", 400)
    if any(member.account is not None and not member.account.can_reset(actor) for member in members):
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
        invitation.confirmed_by_id = invitation.confirmed_at = invitation.second_code_hash = None
        invitation.second_code_failures, invitation.issuer_reach = 0, json.dumps(reach_of(actor))
        db.session.add(invitation)
        resets = member.account is not None and not member.account.must_change_password
        record_member_event(member, MemberEventKind.reset_code if resets else MemberEventKind.activation_code, actor)
        if member.account is not None:
            what = "重置密码的激活码" if resets else "激活码（可用来开通账号、设置密码）"
            notify(member.account, "account.reset_code", f"{actor.display_name}于 {_when(now)} 为您的账号发放了{what}。"
                   "如果不是您本人申请的，请打开“账号安全”报告上级工会。", link=SECURITY_LINK)
        issued.append(IssuedCode(member, code, held=_needs_second_person(member)))
    db.session.flush()
    held = [entry.member for entry in issued if entry.held]
    if held:
        confirmers = second_persons(union, actor)
        if not confirmers:  # a slip nobody could ever confirm would only send the member away
            raise Refused(NO_CONFIRMER, 409)
        _ask_for_confirmation(confirmers, union, actor, len(held))
    audit.record("invitations.issued", union, actor=actor, member_ids=[entry.member.id for entry in issued],
                 held_member_ids=[member.id for member in held])
    return issued


def _ask_for_confirmation(confirmers, union, issuer, count, key=None):
    for officer in confirmers:
        notify(officer, "invitations.held",
               f"{issuer.display_name if issuer else '工作人员'}为{union.name}的 {count} 名正在参加评议的会员发放了激活码，"
               "须由您确认后才能使用（防止冒名投票）。", link="/confirmations", key=key and f"{key}:{officer.id}")


def _needs_second_person(member):
    """A first activation while the member's campaign is open; a reset once it is announced, or after
    a recent move between unions (which could take the member out of an announced campaign's scope).

    Activation sheets are normally handed out when a campaign is announced, so first activations
    are held only once voting is open; a code for an existing account is rare and is what an
    official who wants a member's vote would do before opening, so it is held earlier.
    """
    # An account opened from an officer's initial password counts too: that officer knows it.
    resets = member.account is not None
    if any(is_open or resets for _title, is_open in member_campaigns(member)):
        return True
    return resets and db.session.scalar(select(MemberEvent.id).where(
        MemberEvent.member_id == member.id, MemberEvent.kind == MemberEventKind.moved_in.value,
        MemberEvent.at >= utcnow() - RECENT_MOVE).limit(1)) is not None


def _check_second_code(invitation, second_code):
    if second_code and invitation.second_code_hash and hmac.compare_digest(_hash(second_code), invitation.second_code_hash):
        return
    if not second_code:
        raise Refused(SECOND_CODE_NEEDED, 400)
    # Counted in the database, so that guesses sent in parallel all count. Each confirmation allows
    # three tries; another needs the independent officer again, so guessing cannot go on alone.
    failures = db.session.execute(update(Invitation).where(Invitation.id == invitation.id)
                                  .values(second_code_failures=Invitation.second_code_failures + 1)
                                  .returning(Invitation.second_code_failures)).scalar_one()
    if failures >= MAX_SECOND_CODE_FAILURES:
        db.session.execute(update(Invitation).where(Invitation.id == invitation.id)
                           .values(confirmed_by_id=None, confirmed_at=None, second_code_hash=None))
    db.session.commit()  # the failure counts, though the activation is refused
    if failures >= MAX_SECOND_CODE_FAILURES:
        raise Refused("确认码错误次数过多，确认已作废。请联系上级工会工作人员重新确认。", 403)
    raise Refused("确认码不正确。请核对上级工会工作人员电话告知您的 6 位确认码。", 400)


def pending_confirmation(invitation):
    """Whether the code may not be used yet: it needs a second person and nobody else confirmed it."""
    return invitation.confirmed_at is None and _needs_second_person(invitation.member)


def confirm_invitations(actor, invitations):
    """Confirm codes as the second person; return [(invitation, second code)].

    The second code is shown only to the confirming officer, who tells it to the member (by phone,
    at the number on the roster): the issuer holds the printed code, the confirmer the second one,
    and only the member gets both.
    """
    if not invitations:
        raise Refused("没有需要确认的激活码（可能已被发放人重新打印，请刷新后再看）。", 400)
    if not all(invitation.can_confirm(actor) for invitation in invitations):
        raise Refused("只能由发放人及其任命人的管理范围以外的上级工会工作人员确认激活码"
                      "（系统管理员发放的，由另一位系统管理员确认）。", 403)
    now, confirmed = utcnow(), []
    for invitation in invitations:
        second = "".join(secrets.choice("0123456789") for _ in range(SECOND_CODE_LENGTH))
        invitation.confirmed_by_id, invitation.confirmed_at = actor.id, now
        invitation.second_code_hash, invitation.second_code_failures = _hash(second), 0
        record_member_event(invitation.member, MemberEventKind.code_confirmed, actor)
        confirmed.append((invitation, second))
    db.session.flush()
    audit.record("invitations.confirmed", actor, actor=actor, member_ids=[inv.member_id for inv in invitations])
    return confirmed


def activate(phone, code, password, second_code=None):
    """Let the member whose phone and code match choose their password; return their account.

    A code that needs a second person also needs the second code that person told the member.
    """
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _hash(code)))
    member = invitation.member if invitation is not None else None
    if member is None or normalise_text(phone) != member.phone or not member.active:
        raise Refused("手机号或激活码不正确。", 400)
    if invitation.used_at is not None:
        raise Refused("该激活码已使用过。如忘记密码，请联系工会工作人员重新发放激活码。", 400)
    if invitation.expires_at < utcnow():
        raise Refused("该激活码已过期，请联系工会工作人员重新发放。", 400)
    check_password_policy(password, member.phone, name=member.name, phone=member.phone)
    if _needs_second_person(member):
        if invitation.confirmed_at is None:
            _ask_for_confirmation(second_persons(member.union, invitation.issued_by), member.union,
                                  invitation.issued_by, 1, key=f"held:{invitation.id}:{invitation.issued_at:%Y%m%d%H%M%S}")
            db.session.commit()  # the request for confirmation stays, though the activation is refused
            raise Refused(HELD, 403)
        _check_second_code(invitation, second_code)
    account, resets = member.account, False
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
        resets = not account.must_change_password
        account.set_password(password)
    account.must_change_password = False
    end_all_sessions(account)  # a reset ends every session of whoever held the old password
    now = invitation.used_at = utcnow()
    record_member_event(member, MemberEventKind.password_reset if resets else MemberEventKind.activated,
                        invitation.issued_by)
    if resets:
        notify(account, "account.password_reset",
               f"您的密码已于 {_when(now)} 用{invitation.issued_by.display_name if invitation.issued_by else '工作人员'}"
               "发放的激活码重新设置。如果不是您本人操作的，请打开“账号安全”报告上级工会。", link=SECURITY_LINK)
    db.session.flush()
    audit.record("account.activated", account, actor=account)
    return account


def mask_phone(phone):
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")
