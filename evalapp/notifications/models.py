"""Inbox notifications and the e-mail address an account gives for copies of them."""
import enum

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow


class MailState(enum.StrEnum):
    #: No copy by e-mail (SMTP not configured, no address, or a notice sent to many at once).
    none = "none"
    pending = "pending"
    sent = "sent"
    #: Gave up after MAX_MAIL_ATTEMPTS; the notice is still in the inbox.
    failed = "failed"


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (db.Index("ix_notifications_account_id_read_at", "account_id", "read_at"),)

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    #: What the notice is about, e.g. "suggestion.responded", "rectification.reminder".
    kind = db.Column(db.String(40), nullable=False)
    text = db.Column(db.String(500), nullable=False)
    #: A same-site path to open from the inbox (never a full URL).
    link = db.Column(db.String(300), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime, nullable=True)
    #: Set for notices that must never be sent twice (reminders); the unique index enforces it even
    #: when two reminder runs overlap.
    dedupe_key = db.Column(db.String(120), nullable=True, unique=True)
    mail_state = db.Column(db.Enum(MailState, native_enum=False, length=16), nullable=False,
                           default=MailState.none, server_default=MailState.none.value, index=True)
    #: The address at the time of the notice, so that a later change does not redirect old mail.
    mail_to = db.Column(db.String(254), nullable=True)
    mail_attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    mailed_at = db.Column(db.DateTime, nullable=True)

    account = db.relationship("Account")


class NotificationSettings(db.Model):
    """Per-account settings of the inbox; for now only the optional e-mail address for copies."""

    __tablename__ = "notification_settings"

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, unique=True)
    email = db.Column(db.String(254), nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
