"""Notices to many (every elector of a campaign), and where their copies go.

Notifications sit below the packages that know who is in an audience or what a member's phone is,
so those packages register them here in their `init_app`:

- `register_audience(app, name, query, phones_without_account=None, textable=None)`: `query(subject_id)`
  returns a select of the ids of the active accounts to tell (e.g. "campaign.electors"); the optional
  `phones_without_account(subject_id)` a select of the phone numbers of the audience's people who
  have no account yet, whom a broadcast with a text for them reaches by SMS only; the optional
  `textable(subject_id)` a select of the accounts that may also get the SMS copy (the others get the
  inbox notice only);
- `register_phone_book(app, query)`: `query()` returns a select of (account_id, phone) pairs, the
  number an account is texted at unless its settings give another.

`announce` writes a broadcast in the caller's transaction; a job writes the inbox notices and
deliveries for the whole audience with two or three INSERT … SELECT statements once it commits, so
300,000 electors never pass through Python and the step that announced (opening the vote) is not
held up.
"""
import logging

from flask import current_app
from sqlalchemy import and_, event, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from evalapp.core.db import db, final_commit
from evalapp.core.jobs import run_in_background
from evalapp.core.timeutil import utcnow
from evalapp.notifications.delivery import deliver_after_commit
from evalapp.notifications.mail import mail_configured
from evalapp.notifications.models import Broadcast, Channel, Delivery, DeliveryState, Notification, NotificationSettings
from evalapp.notifications.sms import gateway_configured

logger = logging.getLogger(__name__)
_QUEUED = "evalapp.notifications.broadcasts_queued"
MAX_TEXT_LENGTH = 500


def register_audience(app, name, query, phones_without_account=None, textable=None):
    app.extensions.setdefault("evalapp.audiences", {})[name] = (query, phones_without_account, textable)


def register_phone_book(app, query):
    app.extensions["evalapp.phone_book"] = query


def phone_book():
    """A subquery of (account_id, phone), or None when no package keeps phone numbers."""
    query = current_app.extensions.get("evalapp.phone_book")
    return query().subquery("phone_book") if query else None


def one_line(text):
    """A notice is one line (it is also a mail's subject): whatever someone typed, line breaks become spaces."""
    return " ".join(text.split())[:MAX_TEXT_LENGTH]


def announce(kind, audience, subject_id, text, link=None, key=None, text_without_account=None,
             link_without_account=None, expires_at=None):
    """Tell the whole `audience` of `subject_id`, once per `key`; return the broadcast, or None if the
    key was used before. With `text_without_account`, its people without an account are texted that
    (and `link_without_account`), when the audience knows their phones and SMS is configured. Copies
    not sent by `expires_at` are not sent at all."""
    if audience not in current_app.extensions.get("evalapp.audiences", {}):
        raise LookupError(f"no audience named {audience!r} is registered")
    key = key or f"{kind}:{subject_id}"
    if db.session.scalar(select(Broadcast.id).where(Broadcast.key == key)):
        return None
    broadcast = Broadcast(kind=kind, audience=audience, subject_id=subject_id, text=one_line(text), link=link,
                          key=key, created_at=utcnow(), link_without_account=link_without_account, expires_at=expires_at,
                          text_without_account=one_line(text_without_account) if text_without_account else None)
    try:
        with db.session.begin_nested():
            db.session.add(broadcast)
    except IntegrityError:  # announced a moment ago by another process
        return None
    db.session.info.setdefault(_QUEUED, set()).add(broadcast.id)
    return broadcast


@event.listens_for(db.session, "after_commit")
def _fan_out_queued(session):
    ids = session.info.pop(_QUEUED, None) if final_commit(session) else None
    if ids:
        run_in_background(current_app._get_current_object(), fan_out_job, sorted(ids))


@event.listens_for(db.session, "after_transaction_end")
def _forget_queued(session, transaction):
    if transaction.parent is None:  # rolled back (after a commit the queue is already empty)
        session.info.pop(_QUEUED, None)


def fan_out_job(ids):
    try:
        for broadcast_id in ids:
            fan_out(broadcast_id)
    finally:
        db.session.remove()


def fan_out(broadcast_id):
    """Write the broadcast's notices and deliveries, once; return how many inboxes it reached (None if
    it was written out before)."""
    now = utcnow()
    # The claim and the rows commit together: a second writer waits for the first (row lock, or
    # SQLite's single writer) and then finds the broadcast taken.
    taken = db.session.execute(update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.fanned_out_at.is_(None))
                               .values(fanned_out_at=now).execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        db.session.rollback()
        return None
    broadcast = db.session.get(Broadcast, broadcast_id)
    accounts_of, phones_of, textable = current_app.extensions["evalapp.audiences"][broadcast.audience]
    audience = accounts_of(broadcast.subject_id).subquery()
    rows = select(audience.c[0], literal(broadcast.kind), literal(broadcast.text), literal(broadcast.link),
                  literal(now), literal(broadcast.id))
    db.session.execute(insert(Notification).from_select(
        ["account_id", "kind", "text", "link", "created_at", "broadcast_id"], rows))
    reached = db.session.scalar(select(func.count()).select_from(Notification)
                                .where(Notification.broadcast_id == broadcast.id))
    broadcast.recipients = reached
    if write_deliveries(Notification.broadcast_id == broadcast.id, now, broadcast.expires_at,
                        textable(broadcast.subject_id) if textable else None):
        deliver_after_commit()
    if broadcast.text_without_account and phones_of is not None and gateway_configured():
        broadcast.texted_without_account = _text_those_without_account(broadcast, phones_of, now)
    db.session.commit()
    return reached


def _text_those_without_account(broadcast, phones_of, now):
    """SMS deliveries to the audience's phone numbers without an account, one per number; return how many."""
    phones = phones_of(broadcast.subject_id).subquery()
    db.session.execute(insert(Delivery).from_select(
        ["broadcast_id", "channel", "address", "state", "attempts", "next_attempt_at", "created_at", "expires_at"],
        select(literal(broadcast.id), literal(Channel.sms.value), phones.c[0], literal(DeliveryState.pending.value),
               literal(0), literal(now), literal(now), literal(broadcast.expires_at, type_=Delivery.expires_at.type))
        .where(phones.c[0].is_not(None), phones.c[0] != "").distinct()))
    deliver_after_commit()
    return db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.broadcast_id == broadcast.id))


def write_deliveries(notices, now, expires_at=None, textable=None):
    """Write the e-mail and SMS deliveries of the notices matching `notices` (a condition on
    Notification) per their accounts' settings, SMS only to the accounts of `textable` (a select of
    ids) when given; return whether any channel is configured."""
    settings = NotificationSettings
    wrote = False
    columns = ["notification_id", "channel", "address", "state", "attempts", "next_attempt_at", "created_at",
               "expires_at"]
    if mail_configured():
        db.session.execute(insert(Delivery).from_select(columns, select(
            Notification.id, literal(Channel.email.value), settings.email, literal(DeliveryState.pending.value),
            literal(0), literal(now), literal(now), literal(expires_at, type_=Delivery.expires_at.type))
            .join(settings, settings.account_id == Notification.account_id)
            .where(notices, settings.email.is_not(None))))
        wrote = True
    if gateway_configured():
        book = phone_book()
        phone = settings.phone if book is None else func.coalesce(settings.phone, book.c.phone)
        query = (select(Notification.id, literal(Channel.sms.value), phone, literal(DeliveryState.pending.value),
                        literal(0), literal(now), literal(now), literal(expires_at, type_=Delivery.expires_at.type))
                 .outerjoin(settings, settings.account_id == Notification.account_id))
        if book is not None:
            query = query.outerjoin(book, book.c.account_id == Notification.account_id)
        query = query.where(notices, func.coalesce(settings.sms, True), phone.is_not(None), phone != "")
        if textable is not None:
            query = query.where(Notification.account_id.in_(textable))
        db.session.execute(insert(Delivery).from_select(columns, query))
        wrote = True
    return wrote


def fan_out_pending():
    """Write out the broadcasts whose job never ran (a crash, Redis away); the clock runs this."""
    for broadcast_id in db.session.scalars(select(Broadcast.id).where(Broadcast.fanned_out_at.is_(None))
                                           .order_by(Broadcast.id)).all():
        try:
            fan_out(broadcast_id)
        except Exception:
            db.session.rollback()
            logger.exception("broadcast %s could not be written out", broadcast_id)


def recipients_of(kind, subject_id):
    """How many people the latest broadcast of `kind` about `subject_id` reached (inboxes, and texts to
    people without an account), and when it went out; (0, None) if there is none."""
    latest = db.session.execute(
        select(Broadcast.recipients, Broadcast.texted_without_account, Broadcast.fanned_out_at)
        .where(and_(Broadcast.kind == kind, Broadcast.subject_id == subject_id))
        .order_by(Broadcast.id.desc()).limit(1)).first()
    if latest is None:
        return 0, None
    return (latest.recipients or 0) + (latest.texted_without_account or 0), latest.fanned_out_at
