"""Writing notices into inboxes (with their e-mail and SMS copies), reading them, and the channels."""
import re
import unicodedata

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.notifications.broadcasts import one_line, phone_book, write_deliveries
from evalapp.notifications.delivery import deliver_after_commit
from evalapp.notifications.models import Notification, NotificationSettings

# Deliberately plain: one @, a dot in the domain, none of the characters that would make the To
# header name several mailboxes ("root,me@example.cn"). The mail server has the last word.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>\"()\[\]\\]{1,64}@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\.]{2,}$")
PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


def settings_of(account):
    return db.session.scalar(select(NotificationSettings).where(NotificationSettings.account_id == account.id))


def email_of(account):
    return db.session.scalar(select(NotificationSettings.email).where(NotificationSettings.account_id == account.id))


def roster_phone_of(account):
    book = phone_book()
    if book is None:
        return None
    return db.session.scalar(select(book.c.phone).where(book.c.account_id == account.id))


def notify(account, kind, text, link=None, key=None, deliver_after=True):
    """Put a notice in `account`'s inbox, with copies by the channels the account chose; return it.

    With `key`, a notice with the same key is never written twice (reminders): None is returned
    when it already exists, even if another process wrote it a moment ago. The copies are sent once
    the transaction commits; a caller that sends them by itself afterwards (a command, whose process
    may end before a background job does) passes `deliver_after=False`.
    """
    if account is None or not account.active:
        return None
    if key is not None and db.session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
        return None
    now = utcnow()
    notification = Notification(account_id=account.id, kind=kind, text=one_line(text), link=link,
                                dedupe_key=key, created_at=now)
    if key is None:
        db.session.add(notification)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(notification)
        except IntegrityError:  # a concurrent run wrote the same reminder first
            return None
    if write_deliveries(Notification.id == notification.id, now) and deliver_after:
        deliver_after_commit()
    return notification


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


def set_channels(account, email, sms, phone):
    """Set the e-mail address for copies (empty: none), whether to get SMS, and a number for them
    other than the roster's (empty: the roster's)."""
    # Full-width digits (１３８…) typed on a phone become ASCII; anything else that is not a digit is refused.
    email = (email or "").strip()
    phone = unicodedata.normalize("NFKC", phone or "").strip().replace(" ", "").replace("-", "")
    if len(email) > 254 or (email and not EMAIL_PATTERN.match(email)):
        raise Refused("邮箱地址格式不正确。", 400)
    if phone and not PHONE_PATTERN.match(phone):
        raise Refused("手机号格式不正确，请填写 11 位手机号。", 400)
    settings = settings_of(account)
    before = (settings.email, settings.sms, settings.phone) if settings else (None, True, None)
    after = (email or None, bool(sms), phone or None)
    if before == after:
        return settings
    if settings is None:
        settings = NotificationSettings(account_id=account.id)
        db.session.add(settings)
    settings.email, settings.sms, settings.phone = after
    settings.updated_at = utcnow()
    db.session.flush()
    # Addresses are personal data: the log records what changed, not the addresses.
    audit.record("notification_settings.changed", settings, actor=account,
                 had_address=bool(before[0]), has_address=bool(email), sms=bool(sms),
                 own_phone=bool(phone), phone_changed=before[2] != after[2])
    return settings
