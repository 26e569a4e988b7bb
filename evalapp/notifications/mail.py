"""E-mail copies of inbox notices over SMTP (sent by notifications.delivery).

Links in mail always start from the configured PUBLIC_URL, never from the address of the request
that caused the notice (its Host header is whatever the sender's browser, or a forger, put there);
without PUBLIC_URL the mail carries no link and asks the reader to log in.
"""
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app

SMTP_TIMEOUT = 15
SUBJECT_PREFIX = "【工会评议】"


def mail_configured():
    return bool(current_app.config.get("MAIL_SERVER") and current_app.config.get("MAIL_FROM"))


def public_link(link):
    """The full address of a same-site `link`, or None without PUBLIC_URL."""
    base_url = current_app.config.get("PUBLIC_URL")
    return base_url.rstrip("/") + link if link and base_url else None


def body(text, link):
    url = public_link(link)
    lines = [text, ""]
    if url:
        lines += ["查看详情：" + url, ""]
    else:
        lines += ["请登录工会述职评议平台，在“消息”中查看详情。", ""]
    lines.append("此邮件由系统自动发送，请勿直接回复。如不想再收到邮件，可在平台的“消息 › 通知设置”中删除邮箱地址。")
    return "\n".join(lines)


def send_mail(to, subject, body, key=None):
    """Send one plain-text message through the configured SMTP server; raise on failure.

    With `key`, every attempt at the same message has the same Message-ID, by which mail servers and
    clients recognise a copy sent again after a lost answer.
    """
    config = current_app.config
    message = EmailMessage()
    # A header is one line: a line break typed into, say, a hide reason must not break the message.
    message["Subject"] = SUBJECT_PREFIX + " ".join(subject.split())
    message["From"] = formataddr(("工会述职评议平台", config["MAIL_FROM"]))
    message["To"] = to
    domain = config["MAIL_FROM"].rpartition("@")[2] or None
    message["Message-ID"] = f"<{key}@{domain}>" if key and domain else make_msgid(domain=domain)
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=SMTP_TIMEOUT) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message, to_addrs=[to])
