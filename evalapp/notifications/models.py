"""Inbox notices, their copies sent by e-mail and SMS (deliveries), notices to many (broadcasts), settings."""
from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow


class Notification(db.Model):
    """One notice in one account's inbox. The inbox always gets it; other channels get deliveries."""

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
    #: The notice to many this one is a copy of.
    broadcast_id = db.Column(db.Integer, db.ForeignKey("broadcasts.id"), nullable=True, index=True)

    account = db.relationship("Account")
    deliveries = db.relationship("Delivery", back_populates="notification", order_by="Delivery.channel")


class Channel(LabelledEnum):
    email = "email", "邮件"
    sms = "sms", "短信"


class DeliveryState(LabelledEnum):
    #: Waiting for its time: now, after a failed attempt's back-off, or the end of the quiet hours.
    pending = "pending", "待发送"
    #: Claimed by one sender, which is sending it now.
    sending = "sending", "发送中"
    sent = "sent", "已发送"
    #: Given up after MAX_ATTEMPTS, or refused by the gateway; the notice is still in the inbox.
    failed = "failed", "发送失败"


class Delivery(db.Model):
    """A notice's copy by one channel outside the inbox, and how its sending went.

    Most copies are of an inbox notice. A broadcast also texts the people of its audience who have
    no account yet (members on a roster who never activated one): those copies belong to the
    broadcast, one per phone number, with the broadcast's text for them.
    """

    __tablename__ = "deliveries"
    __table_args__ = (db.UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
                      db.UniqueConstraint("broadcast_id", "address", name="uq_deliveries_broadcast_address"),
                      db.Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"))

    id = db.Column(db.Integer, primary_key=True)
    notification_id = db.Column(db.Integer, db.ForeignKey("notifications.id"), nullable=True)
    #: Set instead of `notification_id` for a text to someone without an account.
    broadcast_id = db.Column(db.Integer, db.ForeignKey("broadcasts.id"), nullable=True, index=True)
    channel = db.Column(db.Enum(Channel, native_enum=False, length=8), nullable=False)
    #: The address at the time of the notice, so that a later change does not redirect old messages.
    address = db.Column(db.String(254), nullable=False)
    state = db.Column(db.Enum(DeliveryState, native_enum=False, length=10), nullable=False,
                      default=DeliveryState.pending)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: The sender that holds it (a random token), and its heartbeat: a claim whose heartbeat stops
    #: for STALE_CLAIM belongs to a sender that died.
    claim = db.Column(db.String(32), nullable=True)
    claimed_at = db.Column(db.DateTime, nullable=True)
    sent_at = db.Column(db.DateTime, nullable=True)
    #: Not sent after this (a reminder to vote, once voting has closed): it fails as expired.
    expires_at = db.Column(db.DateTime, nullable=True)
    #: Why the last attempt failed, in a line (never the message itself).
    error = db.Column(db.String(200), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    notification = db.relationship("Notification", back_populates="deliveries")


class Broadcast(db.Model):
    """The same notice to a whole audience (every elector of a campaign), written out by a job.

    The row is written in the transaction of the step it reports, so it is never lost; the job that
    writes the inbox notices and deliveries marks it done in its own transaction, so it happens once.
    """

    __tablename__ = "broadcasts"

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(40), nullable=False)
    #: A name registered by the package that knows the audience (`audiences.register`), and its argument.
    audience = db.Column(db.String(40), nullable=False)
    subject_id = db.Column(db.Integer, nullable=False)
    text = db.Column(db.String(500), nullable=False)
    link = db.Column(db.String(300), nullable=True)
    #: One broadcast per key: e.g. "voting.opened:campaign:12".
    key = db.Column(db.String(120), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    fanned_out_at = db.Column(db.DateTime, nullable=True, index=True)
    #: How many inboxes it reached (set when written out).
    recipients = db.Column(db.Integer, nullable=True)
    #: What to text the audience's people without an account (None: they are not texted), where to send them.
    text_without_account = db.Column(db.String(500), nullable=True)
    link_without_account = db.Column(db.String(300), nullable=True)
    #: How many of them it texted (phone numbers), set when written out.
    texted_without_account = db.Column(db.Integer, nullable=True)
    #: Its copies are not sent after this (the end of voting, for a call to vote).
    expires_at = db.Column(db.DateTime, nullable=True)


class NotificationSettings(db.Model):
    """Per-account choice of channels: an e-mail address for copies, and SMS on or off."""

    __tablename__ = "notification_settings"

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, unique=True)
    email = db.Column(db.String(254), nullable=True)
    sms = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    #: A mobile number for SMS other than the roster's (staff without a roster entry give one here).
    phone = db.Column(db.String(20), nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
