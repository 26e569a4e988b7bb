"""SMS through the federation's gateway: one signed JSON POST per message (docs/notifications.md).

evalapp speaks one small protocol and the federation puts its SMS provider, or its WeChat message
service, behind it. Each POST carries:

- `Idempotency-Key`: the same for every attempt at one message, so a gateway that saw the first
  attempt (its answer lost to a timeout, or the sender killed before it could record it) sends once;
- `X-Evalapp-Timestamp` (Unix seconds) and `X-Evalapp-Signature: sha256=<hex>`, the HMAC-SHA256 of
  "<timestamp>.<body>" under SMS_GATEWAY_SECRET, so the gateway can refuse anything evalapp did not
  send, and old captured requests.

A 2xx answer whose JSON body echoes the message's `id` means accepted (409 too: a key the gateway
accepted before). A 2xx without it (a captive portal, a proxy's page), 408, 425, 429, 5xx and
network errors are tried again later (`Retry-After` is honoured); a redirect or any other answer is
final. Only the first MAX_ANSWER_BYTES of an answer are read, and never copied into the delivery's
error: a gateway may echo the number, which must not show who got a reminder.
"""
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import cache

from flask import current_app

TIMEOUT_SECONDS = 10
MAX_ANSWER_BYTES = 4096
RETRIED_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
#: The longest wait a gateway's Retry-After may ask for.
MAX_RETRY_AFTER_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Outcome:
    sent: bool
    #: Worth another try later (the gateway or the network failed, not the message).
    retry: bool = False
    error: str | None = None
    #: Seconds the gateway asked us to wait (Retry-After), if any.
    wait: int | None = None


def gateway_configured(config=None):
    config = config or current_app.config
    return bool(config.get("SMS_GATEWAY_URL") and config.get("SMS_GATEWAY_SECRET"))


def signature(secret, timestamp, body):
    """The signature header's value for `body` (bytes) sent at `timestamp` (an int)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


@cache
def _pool(concurrency):
    import urllib3

    # Keep-alive connections, one per concurrent sender, reused across messages.
    return urllib3.PoolManager(num_pools=4, maxsize=concurrency, block=True, retries=False,
                               timeout=urllib3.Timeout(connect=5, read=TIMEOUT_SECONDS))


def post(config, key, message):
    """POST `message` (a dict) with idempotency key `key`; return an Outcome. Never raises."""
    import urllib3

    body = json.dumps({"id": key, **message}, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key,
               "X-Evalapp-Timestamp": str(timestamp),
               "X-Evalapp-Signature": signature(config["SMS_GATEWAY_SECRET"], timestamp, body),
               "User-Agent": "evalapp-sms/1"}
    try:
        response = _pool(max(1, int(config.get("SMS_CONCURRENCY") or 1))).request(
            "POST", config["SMS_GATEWAY_URL"], body=body, headers=headers, redirect=False, preload_content=False)
        try:
            answer = response.read(MAX_ANSWER_BYTES + 1)
        except BaseException:
            response.close()
            raise
        if len(answer) > MAX_ANSWER_BYTES:
            response.close()  # a longer answer is not read to its end: the connection cannot be reused
        else:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        return Outcome(False, retry=True, error=f"网关无法连接：{type(error).__name__}")
    status = response.status
    if 200 <= status < 300:
        if _echoes(answer, key):
            return Outcome(True)
        return Outcome(False, retry=True, error=f"网关返回 {status}，但应答中没有本消息的 id（不是 evalapp 的短信网关？）")
    if status == 409:
        return Outcome(True)
    if 300 <= status < 400:
        return Outcome(False, error=f"网关要求跳转（{status}），请检查 SMS_GATEWAY_URL")
    if status in RETRIED_STATUSES:
        return Outcome(False, retry=True, error=f"网关返回 {status}", wait=_retry_after(response.headers.get("Retry-After")))
    return Outcome(False, error=f"网关返回 {status}")


def _echoes(answer, key):
    """Whether the gateway's answer is a JSON object naming the message: {"id": key, …}."""
    try:
        parsed = json.loads(answer[:MAX_ANSWER_BYTES])
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and parsed.get("id") == key


def _retry_after(value):
    if value and value.strip().isdigit():
        return min(int(value.strip()), MAX_RETRY_AFTER_SECONDS)
    return None
