"""What a member sees of the changes to their own account, and "this was not me"."""
from flask import flash
from sqlalchemy import select, update

from evalapp.accounts.models import Account
from evalapp.accounts.signals import initial_password_replaced, signed_in_with_password
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import to_local, utcnow
from evalapp.notifications.operations import notify
from evalapp.unions.events import CREDENTIAL_KINDS, SECURITY_LINK, MemberEvent, MemberEventKind, record_member_event
from evalapp.unions.invitations import second_persons

CREDENTIAL_KIND_VALUES = [kind.value for kind in CREDENTIAL_KINDS]


def member_events(account):
    """Every recorded change to the account holder's roster entry and credentials, newest first."""
    if account.member is None:
        return []
    return list(db.session.scalars(select(MemberEvent).where(MemberEvent.member_id == account.member.id)
                                   .order_by(MemberEvent.at.desc(), MemberEvent.id.desc())))


def unseen_credential_events(account):
    if account.member is None:
        return 0
    return len(db.session.scalars(select(MemberEvent.id).where(
        MemberEvent.member_id == account.member.id, MemberEvent.kind.in_(CREDENTIAL_KIND_VALUES),
        MemberEvent.seen_at.is_(None))).all())


def mark_seen(account):
    if account.member is not None:
        db.session.execute(update(MemberEvent).where(MemberEvent.member_id == account.member.id,
                                                     MemberEvent.seen_at.is_(None)).values(seen_at=utcnow()))


def _report_recipients(union, actor):
    """The officers above whoever made the change (for an administrator's change, the union's
    superiors), and every administrator but the one who made it."""
    if actor is not None and not actor.is_admin:
        recipients = second_persons(union, actor)
    else:
        parent = union.parent if union.parent_id is not None else None
        recipients = second_persons(parent, None) if parent is not None else second_persons(union, actor)
    admins = db.session.scalars(select(Account).where(Account.is_admin.is_(True), Account.active.is_(True)))
    return list({account.id: account for account in [*recipients, *admins]
                 if actor is None or account.id != actor.id}.values())


def report_event(account, event):
    """The member says they did not ask for this change: tell the officers above whoever made it."""
    if account.member is None or event.member_id != account.member.id:
        raise Refused("找不到该记录。", 404)
    if event.kind not in CREDENTIAL_KIND_VALUES:
        raise Refused("这项变动不涉及您的账号密码，无需报告。", 400)
    if event.reported_at is not None:
        raise Refused("这项变动已经报告过了，上级工会会跟进。", 400)
    member, now = account.member, utcnow()
    event.reported_at = now
    who = event.actor.display_name if event.actor is not None else "未知人员"
    for officer in _report_recipients(member.union, event.actor):
        notify(officer, "account.reported",
               f"会员{member.name}（{member.union.name}）报告：{to_local(event.at):%Y-%m-%d %H:%M} "
               f"由{who}进行的“{event.kind_label}”不是本人申请或操作的，请核查。")
    db.session.flush()
    audit.record("member_event.reported", event, actor=account, member_id=member.id, kind=event.kind,
                 event_actor_id=event.actor_id)


@initial_password_replaced.connect
def _record_initial_takeover(account):
    """Opening an account from an officer's initial password is an activation, by that officer's credential."""
    member = account.member
    enrolled_by = db.session.scalar(select(MemberEvent).where(
        MemberEvent.member_id == member.id, MemberEvent.kind == MemberEventKind.initial_password.value)
        .order_by(MemberEvent.at.desc()).limit(1))
    officer = enrolled_by.actor if enrolled_by is not None else None
    record_member_event(member, MemberEventKind.activated, officer)
    notify(account, "account.activated", f"您的账号已用{officer.display_name if officer else '工作人员'}设置的初始密码开通，"
           "并设置了新密码。如果不是您本人操作的，请打开“账号安全”报告上级工会。", link=SECURITY_LINK)


@signed_in_with_password.connect
def _warn_of_unseen_changes(account):
    if unseen_credential_events(account):
        flash("您的账号最近有变动（例如工作人员为您重置了密码）。请打开“账号安全”查看；不是您本人申请的，可在那里报告上级工会。",
              "warning")
