"""Sending the e-mail and SMS copies of notices (deliveries), after the step that made them commits.

A delivery is written as `pending` in the transaction of the step it reports, so a refused step
tells nobody and a slow gateway never slows the step. Once that transaction commits, a job sends
what is due (`deliver_due`); the clock runs it every minute as well, for retries and for SMS held
back by the quiet hours.

Never twice: a sender first claims a batch (pending → sending, attempts + 1) in a transaction of its
own, so two senders never hold the same delivery; on PostgreSQL the claim skips rows another sender
has locked. A sender killed between sending and recording leaves its claim behind; after
STALE_CLAIM the delivery is tried again under the same idempotency key (SMS) or Message-ID (mail),
by which the gateway and mail clients recognise the copy. A sender records each outcome as it
comes and keeps a heartbeat on the rest of its batch, so a slow batch is never taken for a dead one.
"""
import logging
import secrets
import smtplib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, func, or_, select, update

from evalapp.core.db import db, final_commit
from evalapp.core.jobs import run_in_background
from evalapp.core.timeutil import from_local, hours_window, to_local, utcnow
from evalapp.notifications import mail, sms
from evalapp.notifications.models import Broadcast, Channel, Delivery, DeliveryState, Notification

logger = logging.getLogger(__name__)
BATCH_SIZE = 200
MAX_ATTEMPTS = 5
#: The wait after the 1st, 2nd, 3rd and 4th failed attempt.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
#: A claim older than this belongs to a sender that died: the delivery is tried again.
STALE_CLAIM = timedelta(minutes=15)
_QUEUED = "evalapp.notifications.deliveries_queued"


def deliver_after_commit():
    """Have the deliveries written in this transaction sent once it commits."""
    db.session.info[_QUEUED] = True


@event.listens_for(db.session, "after_commit")
def _send_queued(session):
    if final_commit(session) and session.info.pop(_QUEUED, None):
        run_in_background(current_app._get_current_object(), deliver_job)


@event.listens_for(db.session, "after_transaction_end")
def _forget_queued(session, transaction):
    if transaction.parent is None:  # rolled back (after a commit the queue is already empty)
        session.info.pop(_QUEUED, None)


def deliver_job():
    try:
        deliver_due()
    finally:
        db.session.remove()


# --- Quiet hours ----------------------------------------------------------------------------------

def _quiet_window():
    """The configured quiet hours as (start, end) local times, or None (checked when the app starts)."""
    return hours_window(current_app.config.get("SMS_QUIET_HOURS"))


def in_quiet_hours(now):
    window = _quiet_window()
    if window is None:
        return False
    start, end = window
    local = to_local(now).time()
    return (local >= start or local < end) if start > end else start <= local < end


def quiet_hours_end(now):
    """When the quiet hours that hold `now` end (naive UTC), or None outside them."""
    if not in_quiet_hours(now):
        return None
    end = _quiet_window()[1]
    local = to_local(now)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return from_local(datetime.combine(day, end))


def open_channels(now):
    """The channels that may send at `now`: configured ones, SMS outside the quiet hours."""
    channels = []
    if mail.mail_configured():
        channels.append(Channel.email)
    if sms.gateway_configured() and not in_quiet_hours(now):
        channels.append(Channel.sms)
    return channels


# --- Sending --------------------------------------------------------------------------------------

def recover_stale_claims(now):
    """Put deliveries whose sender died back in the queue (or give up on those out of attempts), and
    fail those that expired unsent."""
    stale = (Delivery.state == DeliveryState.sending) & (Delivery.claimed_at < now - STALE_CLAIM)
    for condition, state in (((Delivery.attempts >= MAX_ATTEMPTS), DeliveryState.failed),
                             ((Delivery.attempts < MAX_ATTEMPTS), DeliveryState.pending)):
        db.session.execute(update(Delivery).where(stale & condition)
                           .values(state=state, claim=None, claimed_at=None, next_attempt_at=now,
                                   error="发送中断（发送进程停止），已重新排队")
                           .execution_options(synchronize_session=False))
    db.session.execute(update(Delivery).where(Delivery.state == DeliveryState.pending, Delivery.expires_at <= now)
                       .values(state=DeliveryState.failed, error="已过期，未发送（例如投票已经截止）")
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _claim(channels, now, limit, token):
    """Claim up to `limit` due deliveries on `channels` for the sender `token`; return their ids."""
    due = (select(Delivery.id).where(Delivery.state == DeliveryState.pending, Delivery.next_attempt_at <= now,
                                     Delivery.channel.in_(channels),
                                     or_(Delivery.expires_at.is_(None), Delivery.expires_at > now))
           .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit).with_for_update(skip_locked=True))
    claimed = db.session.scalars(
        update(Delivery).where(Delivery.id.in_(due.scalar_subquery()), Delivery.state == DeliveryState.pending)
        .values(state=DeliveryState.sending, claim=token, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    return claimed


def _idempotency_key(delivery_id, created_at):
    return f"evalapp-{delivery_id}-{created_at:%Y%m%d%H%M%S}"


def _send_email(row):
    try:
        mail.send_mail(row.address, row.text, mail.body(row.text, row.link),
                       key=_idempotency_key(row.id, row.created_at))
    except Exception as error:
        # Whatever failed (the server, or a message that cannot be built), the attempt counts: the
        # delivery gives up in time and never keeps the ones after it from being sent. The log names
        # the error's type only: an SMTP refusal quotes the address, which says who got the notice.
        if isinstance(error, (OSError, smtplib.SMTPException)):
            logger.warning("mail of delivery %s failed: %s", row.id, type(error).__name__)
            return sms.Outcome(False, retry=True, error=f"邮件服务器：{type(error).__name__}")
        logger.error("mail of delivery %s could not be sent: %s", row.id, type(error).__name__)
        return sms.Outcome(False, retry=True, error=f"邮件无法生成：{type(error).__name__}")
    return sms.Outcome(True)


def sms_content(text, link):
    """What the phone shows: the notice, and the address to open (from PUBLIC_URL only)."""
    url = mail.public_link(link)
    return f"{text} 详情：{url}" if url else f"{text} 请登录工会述职评议平台查看。"


def _send_all_sms(rows, config, pool):
    messages = [(_idempotency_key(row.id, row.created_at),
                 {"to": row.address, "content": sms_content(row.text, row.link), "text": row.text,
                  "link": mail.public_link(row.link), "kind": row.kind,
                  "created_at": row.created_at.isoformat(timespec="seconds") + "Z"}) for row in rows]
    return list(pool.map(lambda item: sms.post(config, *item), messages))


def _record(rows, outcomes, token, now):
    """Write each attempt's outcome, only where the claim is still `token`'s."""
    ours = (Delivery.state == DeliveryState.sending) & (Delivery.claim == token)
    sent = [row.id for row, outcome in zip(rows, outcomes) if outcome.sent]
    if sent:
        db.session.execute(update(Delivery).where(Delivery.id.in_(sent), ours)
                           .values(state=DeliveryState.sent, sent_at=now, error=None, claim=None, claimed_at=None)
                           .execution_options(synchronize_session=False))
    for row, outcome in zip(rows, outcomes):
        if outcome.sent:
            continue
        values = {"error": (outcome.error or "发送失败")[:200], "claim": None, "claimed_at": None}
        if outcome.retry and row.attempts < MAX_ATTEMPTS:
            wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
            if outcome.wait:
                wait = max(wait, timedelta(seconds=outcome.wait))
            values.update(state=DeliveryState.pending, next_attempt_at=now + wait)
        else:
            values.update(state=DeliveryState.failed)
        db.session.execute(update(Delivery).where(Delivery.id == row.id, ours).values(**values)
                           .execution_options(synchronize_session=False))
    # The heartbeat of the rest of the batch: still being sent, by a sender that is alive.
    db.session.execute(update(Delivery).where(ours).values(claimed_at=now).execution_options(synchronize_session=False))
    db.session.commit()


def _batch_rows(ids):
    rows = db.session.execute(
        select(Delivery.id, Delivery.channel, Delivery.address, Delivery.attempts, Delivery.created_at,
               func.coalesce(Notification.text, Broadcast.text_without_account).label("text"),
               func.coalesce(Notification.link, Broadcast.link_without_account).label("link"),
               func.coalesce(Notification.kind, Broadcast.kind).label("kind"))
        .outerjoin(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(Delivery.id.in_(ids)).order_by(Delivery.id)).all()
    db.session.rollback()  # hold no transaction (nor, on SQLite, a lock) while the network is slow
    return rows


def deliver_due(now=None, max_batches=None):
    """Send every delivery that is due; return (sent, failed attempts). Safe to run concurrently.

    `now` stands for the clock (tests); batches go on until nothing is due, or `max_batches`. Each
    outcome is recorded as soon as its group (one mail, or one round of concurrent SMS) is done, with
    a heartbeat for the rest of the batch, so a slow batch is never taken for a dead one.
    """
    clock = (lambda: now) if now is not None else utcnow
    recover_stale_claims(clock())
    config = {key: current_app.config.get(key) for key in ("SMS_GATEWAY_URL", "SMS_GATEWAY_SECRET", "SMS_CONCURRENCY")}
    concurrency = max(1, int(config["SMS_CONCURRENCY"] or 1))
    sent = failed = batches = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sms") as pool:
        while max_batches is None or batches < max_batches:
            moment = clock()
            channels = open_channels(moment)
            if not channels:
                break
            token = secrets.token_hex(16)
            ids = _claim(channels, moment, BATCH_SIZE, token)
            if not ids:
                break
            batches += 1
            rows = _batch_rows(ids)
            groups = [[row] for row in rows if row.channel == Channel.email]
            texts = [row for row in rows if row.channel == Channel.sms]
            groups += [texts[i:i + concurrency] for i in range(0, len(texts), concurrency)]
            for group in groups:
                outcomes = (_send_all_sms(group, config, pool) if group[0].channel == Channel.sms
                            else [_send_email(group[0])])
                _record(group, outcomes, token, clock())
                sent += sum(outcome.sent for outcome in outcomes)
                failed += sum(not outcome.sent for outcome in outcomes)
    return sent, failed


def retry_failed(ids=None, now=None):
    """Give failed deliveries (of `ids`, or all) a fresh set of attempts; return how many."""
    query = update(Delivery).where(Delivery.state == DeliveryState.failed,
                                   or_(Delivery.expires_at.is_(None), Delivery.expires_at > (now or utcnow())))
    if ids is not None:
        query = query.where(Delivery.id.in_(ids))
    return db.session.execute(query.values(state=DeliveryState.pending, attempts=0, next_attempt_at=now or utcnow())
                              .execution_options(synchronize_session=False)).rowcount


def counts_by_channel_and_state():
    return {(channel, state): count for channel, state, count in db.session.execute(
        select(Delivery.channel, Delivery.state, func.count()).group_by(Delivery.channel, Delivery.state))}
