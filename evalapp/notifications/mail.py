"""E-mail copies of inbox notices over SMTP, sent after the transaction that created them commits.

A notice with a copy to send is stored as `pending` in the same transaction as the step it reports.
Only after that transaction commits is the mail sent (in a background job), so a refused or failed
step never mails anyone and a slow or unreachable mail server never delays or breaks the step. Mail
that could not be sent stays `pending` and is retried by `flask rectification remind` (run from cron),
up to MAX_MAIL_ATTEMPTS times; one message that cannot be sent never holds up the others.

Links in mail always start from the configured PUBLIC_URL, never from the address of the request
that caused the notice (its Host header is whatever the sender's browser, or a forger, put there);
without PUBLIC_URL the mail carries no link and asks the reader to log in.
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from sqlalchemy import event, select, update

from evalapp.core.db import db
from evalapp.core.jobs import run_in_background
from evalapp.core.timeutil import utcnow
from evalapp.notifications.models import MailState, Notification

logger = logging.getLogger(__name__)
MAX_MAIL_ATTEMPTS = 5
SMTP_TIMEOUT = 15
SUBJECT_PREFIX = "【工会评议】"
_QUEUED = "evalapp.notifications.mail_queued"


def mail_configured():
    return bool(current_app.config.get("MAIL_SERVER") and current_app.config.get("MAIL_FROM"))


def queue_after_commit(notification_ids):
    """Remember ids whose mail should go out once the current transaction commits."""
    db.session.info.setdefault(_QUEUED, set()).update(notification_ids)


@event.listens_for(db.session, "after_commit")
def _send_queued(session):
    ids = session.info.pop(_QUEUED, None)
    if ids:
        app = current_app._get_current_object()
        run_in_background(app, _deliver_job, sorted(ids))


@event.listens_for(db.session, "after_rollback")
def _forget_queued(session):
    session.info.pop(_QUEUED, None)


def _deliver_job(ids):
    try:
        deliver_pending(ids)
    finally:
        db.session.remove()


def deliver_pending(ids=None):
    """Send the pending mail (of `ids`, or all); return (sent, failed). Safe to run concurrently."""
    if not mail_configured():
        return 0, 0
    query = select(Notification.id, Notification.mail_attempts).where(Notification.mail_state == MailState.pending)
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    sent = failed = 0
    for notification_id, attempts in db.session.execute(query.order_by(Notification.id)).all():
        # Claim the notice: of two senders that read the same row, only one raises the count.
        claimed = db.session.execute(
            update(Notification).where(Notification.id == notification_id, Notification.mail_attempts == attempts,
                                       Notification.mail_state == MailState.pending)
            .values(mail_attempts=attempts + 1).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if claimed != 1:
            continue
        notification = db.session.get(Notification, notification_id)
        try:
            send_mail(notification.mail_to, notification.text, _body(notification))
        except Exception as error:
            # Whatever failed (the server, or a message that cannot be built), the attempt counts: the
            # notice gives up in time and never keeps the ones after it from being sent.
            if isinstance(error, (OSError, smtplib.SMTPException)):
                logger.warning("mail for notification %s to %s failed: %s", notification_id, notification.mail_to,
                               error)
            else:
                logger.exception("mail for notification %s could not be sent", notification_id)
            if attempts + 1 >= MAX_MAIL_ATTEMPTS:
                notification.mail_state = MailState.failed
            failed += 1
        else:
            notification.mail_state, notification.mailed_at = MailState.sent, utcnow()
            sent += 1
        db.session.commit()
    return sent, failed


def _body(notification):
    base_url = current_app.config.get("PUBLIC_URL")
    lines = [notification.text, ""]
    if notification.link and base_url:
        lines += ["查看详情：" + base_url.rstrip("/") + notification.link, ""]
    else:
        lines += ["请登录工会述职评议平台，在“消息”中查看详情。", ""]
    lines.append("此邮件由系统自动发送，请勿直接回复。如不想再收到邮件，可在平台的“消息 › 通知设置”中删除邮箱地址。")
    return "\n".join(lines)


def send_mail(to, subject, body):
    """Send one plain-text message through the configured SMTP server; raise on failure."""
    config = current_app.config
    message = EmailMessage()
    # A header is one line: a line break typed into, say, a hide reason must not break the message.
    message["Subject"] = SUBJECT_PREFIX + " ".join(subject.split())
    message["From"] = formataddr(("工会述职评议平台", config["MAIL_FROM"]))
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=SMTP_TIMEOUT) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
