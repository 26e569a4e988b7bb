"""What administrators see of the deliveries: how many are sent, waiting, failed, and why.

Recipients are shown masked, and not at all for the notices whose mere receipt says something about
a person's vote (the reminder that goes only to electors who have not voted).
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.notifications.delivery import MAX_ATTEMPTS, counts_by_channel_and_state, retry_failed
from evalapp.notifications.models import Broadcast, Channel, Delivery, DeliveryState, Notification

#: Notices whose recipients nobody but the recipient may learn.
UNLISTED_KINDS = frozenset({"voting.closing"})
RECENT = 50


@dataclass
class Attempted:
    delivery_id: int
    kind: str
    channel: Channel
    recipient: str | None
    state: DeliveryState
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


def masked(channel, address):
    if channel == Channel.sms:
        return address[:3] + "****" + address[-4:] if len(address) >= 8 else "****"
    name, _, domain = address.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def overview(now):
    counts = counts_by_channel_and_state()
    waiting = dict(db.session.execute(
        select(Delivery.channel, func.count()).where(Delivery.state == DeliveryState.pending,
                                                     Delivery.attempts > 0).group_by(Delivery.channel)).all())
    troubled = db.session.execute(
        select(Delivery, func.coalesce(Notification.kind, Broadcast.kind))
        .outerjoin(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where((Delivery.state == DeliveryState.failed)
               | ((Delivery.state == DeliveryState.pending) & (Delivery.attempts > 0)))
        .order_by(Delivery.id.desc()).limit(RECENT)).all()
    listed = [Attempted(d.id, kind, d.channel, None if kind in UNLISTED_KINDS else masked(d.channel, d.address),
                        d.state, d.attempts, d.error, d.next_attempt_at if d.state == DeliveryState.pending else None,
                        d.created_at) for d, kind in troubled]
    broadcasts = db.session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(20)).all()
    failed = sum(count for (_channel, state), count in counts.items() if state == DeliveryState.failed)
    return {"counts": counts, "failed": failed, "channels": list(Channel), "states": list(DeliveryState), "retrying": waiting,
            "troubled": listed, "broadcasts": broadcasts, "max_attempts": MAX_ATTEMPTS}


def retry_failed_deliveries(actor):
    if not actor.is_admin:
        raise Refused("只有系统管理员可以重发消息。", 403)
    count = retry_failed()
    # The log's object is the administrator who asked: the deliveries are many, and named by the count.
    audit.record("deliveries.retried", actor, actor=actor, count=count)
    return count
