"""Rate limits (Flask-Limiter): in memory by default, in Redis when REDIS_URL is configured.

If Redis becomes unreachable, counting goes on in each process's memory (Flask-Limiter's fallback
for the decorated limits, a local limiter for the login counters) until it is back: members can
still sign in and vote, and guessing stays limited per process.
"""
import hashlib
import hmac
import logging

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

logger = logging.getLogger(__name__)
limiter = Limiter(get_remote_address)
_local_counts = FixedWindowRateLimiter(MemoryStorage())

#: Login attempts for one name from one address, then that address is locked out of that name.
LOGIN_TRIES_PER_NAME_AND_ADDRESS = parse("5 per 15 minutes")
#: Login attempts for one name from anywhere: stops guessing spread over many addresses.
LOGIN_TRIES_PER_NAME = parse("20 per hour")
#: All login attempts allowed from one address, failed or not.
LOGIN_ATTEMPTS_PER_ADDRESS = "30 per minute"
#: Activation attempts per address: codes are short, guessing must be slow.
ACTIVATIONS_PER_ADDRESS = "10 per minute"
#: Ballot submissions allowed per account (a real voter needs one).
BALLOT_SUBMISSIONS = "10 per minute"


def count_login_attempt(name):
    """Count an attempt for login name `name` before its password is checked; False when locked out.

    Counting first (an atomic increment in the storage) means parallel guesses cannot slip past
    the limit; a successful login clears the count (`forget_login_attempts`).
    """
    address = get_remote_address()
    within_address = _counts("hit", LOGIN_TRIES_PER_NAME_AND_ADDRESS, _site(), "login", name, address)
    within_name = _counts("hit", LOGIN_TRIES_PER_NAME, _site(), "login", name)
    return within_address and within_name


def forget_login_attempts(name):
    _counts("clear", LOGIN_TRIES_PER_NAME_AND_ADDRESS, _site(), "login", name, get_remote_address())
    _counts("clear", LOGIN_TRIES_PER_NAME, _site(), "login", name)


def _counts(method, limit, *keys):
    if not limiter.enabled:  # RATELIMIT_ENABLED = False in the instance config: nothing is counted
        return True
    try:
        return getattr(limiter.limiter, method)(limit, *keys)
    except Exception:  # the shared storage is unreachable: count here rather than refuse every login
        logger.warning("rate-limit storage unreachable: counting logins in this process")
        return getattr(_local_counts, method)(limit, *keys)


def _site():
    # Counters kept outside Flask-Limiter's own decorators get the site's key prefix too, so that
    # two evalapp sites sharing one Redis never lock each other's users out.
    return current_app.config.get("RATELIMIT_KEY_PREFIX") or "evalapp"


def account_key():
    """The ballot limit's key: a keyed hash of the account, so the storage never names who is voting.

    Redis keeps the key for the limit's window (a minute after the ballot); in clear it would tell
    anyone who can read Redis who voted a moment ago. Anonymous posts are counted by address.
    """
    account_id = current_user.get_id() if current_user.is_authenticated else None
    if account_id is None:
        return f"address:{get_remote_address()}"
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    digest = hmac.new(secret, f"ballot-limit:{account_id}".encode(), hashlib.sha256).hexdigest()
    return f"account:{digest[:32]}"


def init_app(app):
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
