"""Writing notices into inboxes, reading them, and the e-mail address for copies."""
import re

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.notifications.mail import mail_configured, queue_after_commit
from evalapp.notifications.models import MailState, Notification, NotificationSettings

MAX_TEXT_LENGTH = 500
# Deliberately plain: one @, no spaces, a dot in the domain. The mail server has the last word.
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def email_of(account):
    return db.session.scalar(select(NotificationSettings.email).where(NotificationSettings.account_id == account.id))


def _one_line(text):
    """A notice is one line (it is also a mail's subject): whatever someone typed, line breaks become spaces."""
    return " ".join(text.split())[:MAX_TEXT_LENGTH]


def notify(account, kind, text, link=None, key=None, mail_after_commit=True):
    """Put a notice in `account`'s inbox, with an e-mail copy when possible; return it.

    With `key`, a notice with the same key is never written twice (reminders): None is returned
    when it already exists, even if another process wrote it a moment ago. The copy is mailed once
    the transaction commits; a caller that mails by itself afterwards (a command, whose process may
    end before a background job does) passes `mail_after_commit=False`.
    """
    if account is None or not account.active:
        return None
    if key is not None and db.session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
        return None
    notification = Notification(account_id=account.id, kind=kind, text=_one_line(text), link=link,
                                dedupe_key=key, created_at=utcnow())
    address = email_of(account) if mail_configured() else None
    if address:
        notification.mail_state, notification.mail_to = MailState.pending, address
    if key is None:
        db.session.add(notification)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(notification)
        except IntegrityError:  # a concurrent run wrote the same reminder first
            return None
    if address and mail_after_commit:
        queue_after_commit([notification.id])
    return notification


def notify_many(account_ids_query, kind, text, link=None):
    """Put the same notice in many inboxes with one INSERT … SELECT (no e-mail: too many at once).

    `account_ids_query` is a select of account ids.
    """
    rows = select(account_ids_query.subquery().c[0], db.literal(kind), db.literal(_one_line(text)),
                  db.literal(link), db.literal(utcnow()), db.literal(MailState.none.value), db.literal(0))
    db.session.execute(insert(Notification).from_select(
        ["account_id", "kind", "text", "link", "created_at", "mail_state", "mail_attempts"], rows))


def unread_count(account):
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == account.id, Notification.read_at.is_(None)))


def inbox_query(account):
    return (select(Notification).where(Notification.account_id == account.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def mark_read(notification, account):
    if notification.account_id != account.id:
        raise Refused("找不到该消息。", 404)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(account):
    db.session.execute(update(Notification).where(Notification.account_id == account.id, Notification.read_at.is_(None))
                       .values(read_at=utcnow()).execution_options(synchronize_session=False))


def set_email(account, email):
    """Set or (with an empty value) remove the address to which copies of notices are mailed."""
    email = (email or "").strip()
    if len(email) > 254 or (email and not EMAIL_PATTERN.match(email)):
        raise Refused("邮箱地址格式不正确。", 400)
    settings = db.session.scalar(select(NotificationSettings).where(NotificationSettings.account_id == account.id))
    before = settings.email if settings else None
    if (before or "") == email:
        return settings
    if settings is None:
        settings = NotificationSettings(account_id=account.id)
        db.session.add(settings)
    settings.email, settings.updated_at = email or None, utcnow()
    db.session.flush()
    # The address itself is personal data: the log records that it changed, not what it is.
    audit.record("notification_settings.email_changed", settings, actor=account,
                 had_address=bool(before), has_address=bool(email))
    return settings
