"""One-time values: handed from one request to the next of the same browser, never through its cookie.

`put` keeps a value on the server under a random token and returns the token (the browser carries
only the token, in its session); `take` returns the value once and deletes it. Values live in Redis
when REDIS_URL is set (shared by every app process), else in this process's memory (the embedded
default runs one process), and expire unread after `ttl` seconds. Used for the voter's receipt
code: the session cookie is signed, not encrypted, so whatever it carries is readable next to the
account id by anyone who gets hold of the cookie.
"""
import json
import logging
import secrets
import threading
import time

from flask import current_app

logger = logging.getLogger(__name__)

#: How long a value waits to be taken (the receipt page normally follows within a second).
DEFAULT_TTL_SECONDS = 600

_memory = {}
_memory_lock = threading.Lock()


def put(kind, value, ttl=DEFAULT_TTL_SECONDS):
    """Keep `value` (JSON-serialisable) for one `take`; return its random token."""
    token = secrets.token_urlsafe(24)
    data = json.dumps(value)
    redis = _redis()
    if redis is not None:
        try:
            redis.set(_key(kind, token), data, ex=ttl)
            return token
        except Exception:  # Redis is away: this process keeps it (the next request usually comes back here)
            logger.warning("one-time store unreachable: keeping a value in this process")
    now = time.monotonic()
    with _memory_lock:
        for stale in [key for key, (expires, _) in _memory.items() if expires <= now]:
            del _memory[stale]
        _memory[_key(kind, token)] = (now + ttl, data)
    return token


def take(kind, token):
    """Return the value kept under `token` and forget it; None if unknown, expired or already taken."""
    if not token or not isinstance(token, str):
        return None
    key = _key(kind, token)
    with _memory_lock:
        expires, data = _memory.pop(key, (0, None))
    if data is not None and expires > time.monotonic():
        return json.loads(data)
    redis = _redis()
    if redis is None:
        return None
    try:
        with redis.pipeline(transaction=True) as pipe:
            data, _ = pipe.get(key).delete(key).execute()
    except Exception:
        logger.warning("one-time store unreachable: a value could not be taken")
        return None
    return json.loads(data) if data is not None else None


def _key(kind, token):
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "evalapp"
    return f"{prefix}:{kind}:{token}"


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from evalapp.core.jobs import redis_connection

    return redis_connection(url)
