"""Rate limits (Flask-Limiter): in memory by default, in Redis when REDIS_URL is configured.

Login names are phone numbers, so anyone can lock a member out by guessing. Device cookies
(OWASP's "slow brute force" defence) keep the lock-out from stopping the member: a successful
login leaves a signed cookie naming the account in that browser, and attempts that present one
for the name typed are counted against that browser only, not against the name. Every other
client stays under the per-name lock-out.

If Redis becomes unreachable, counting goes on in each process's memory (Flask-Limiter's fallback
for the decorated limits, a local limiter for the login counters) until it is back: members can
still sign in and vote, and guessing stays limited per process.
"""
import hashlib
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
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
#: Login attempts for one name from one browser holding a device cookie for it (instead of the two above).
LOGIN_TRIES_PER_DEVICE = parse("5 per 15 minutes")
#: A browser in which an account signed in stays trusted for it this long after its latest login there.
DEVICE_COOKIE = "device"
DEVICE_COOKIE_LIFETIME = timedelta(days=365)
#: Accounts one device cookie vouches for (a family phone, an office PC): the most recent ones.
DEVICE_COOKIE_NAMES = 5
def login_attempts_per_address():
    """All login attempts allowed from one address, failed or not (LOGIN_LIMIT_PER_ADDRESS).

    A members' meeting behind one factory Wi-Fi shares an address: the federation raises the limit
    for it, at the price of letting one address try more names (each name keeps its own lock-out).
    """
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def activations_per_address():
    """Activation attempts per address (ACTIVATION_LIMIT_PER_ADDRESS): codes are short, guessing must be slow."""
    return current_app.config["ACTIVATION_LIMIT_PER_ADDRESS"]
#: POSTs an anonymous visitor may send from one address (the sign-in forms have limits of their own).
ANONYMOUS_POSTS_PER_ADDRESS = parse("30 per minute")
#: Ballot submissions allowed per account (a real voter needs one).
BALLOT_SUBMISSIONS = "10 per minute"


def count_login_attempt(name):
    """Count an attempt for login name `name` before its password is checked; False when locked out.

    Counting first (an atomic increment in the storage) means parallel guesses cannot slip past
    the limit; a successful login clears the count of this client (`forget_login_attempts`).
    """
    device = g.login_device = _trusted_device(name)
    if device is not None:
        return _counts("hit", LOGIN_TRIES_PER_DEVICE, *_device_keys(device, name))
    within_address = _counts("hit", LOGIN_TRIES_PER_NAME_AND_ADDRESS, *_address_keys(name))
    within_name = _counts("hit", LOGIN_TRIES_PER_NAME, *_name_keys(name))
    return within_address and within_name


def count_anonymous_post():
    """Count an anonymous POST from this address; False once the address is over its limit."""
    return _counts("hit", ANONYMOUS_POSTS_PER_ADDRESS, _site(), "anonymous-post", get_remote_address())


def forget_login_attempts(name):
    """After a successful login: clear the counts this client ran up for `name`.

    From a trusted browser only that browser's count is cleared: the member signing in there must
    not hand a guesser elsewhere a fresh allowance for the name.
    """
    device = g.get("login_device")
    if device is not None:
        _counts("clear", LOGIN_TRIES_PER_DEVICE, *_device_keys(device, name))
        return
    _counts("clear", LOGIN_TRIES_PER_NAME_AND_ADDRESS, *_address_keys(name))
    _counts("clear", LOGIN_TRIES_PER_NAME, *_name_keys(name))


def lockout_ends(name):
    """When (aware UTC) the lock-out of `name` for this client ends, at the latest."""
    device = g.get("login_device")
    if device is not None:
        windows = [(LOGIN_TRIES_PER_DEVICE, _device_keys(device, name))]
    else:
        windows = [(LOGIN_TRIES_PER_NAME_AND_ADDRESS, _address_keys(name)), (LOGIN_TRIES_PER_NAME, _name_keys(name))]
    ends = []
    for limit, keys in windows:
        try:
            reset_at, remaining = limiter.limiter.get_window_stats(limit, *keys)
        except Exception:  # storage unreachable: the longest window is the honest answer
            reset_at, remaining = time.time() + limit.get_expiry(), 0
        if remaining <= 0:
            ends.append(reset_at)
    latest = max(ends, default=time.time() + LOGIN_TRIES_PER_NAME.get_expiry())
    return datetime.fromtimestamp(latest, UTC)


def trust_device(response, name):
    """After a successful login as `name`: (re)issue this browser's device cookie, vouching for `name`.

    The cookie is signed with the secret key and holds a random device id and a keyed hash of each
    login name (never the phone number itself); every login issues a new device id.
    """
    names = [_name_tag(name)] + [tag for tag in _device_payload().get("names", []) if tag != _name_tag(name)]
    value = _device_serializer().dumps({"device": secrets.token_urlsafe(16), "names": names[:DEVICE_COOKIE_NAMES]})
    response.set_cookie(DEVICE_COOKIE, value, max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()), httponly=True,
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False), samesite="Lax")
    return response


def _trusted_device(name):
    """This browser's device id if its device cookie is valid and vouches for `name`, else None."""
    payload = _device_payload()
    if _name_tag(name) in payload.get("names", []) and isinstance(payload.get("device"), str):
        return payload["device"]
    return None


def _device_payload():
    value = request.cookies.get(DEVICE_COOKIE)
    if not value or len(value) > 1024:
        return {}
    try:
        payload = _device_serializer().loads(value, max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()))
    except BadSignature:
        return {}
    return payload if isinstance(payload, dict) else {}


def _device_serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="evalapp.device-cookie")


def _name_tag(name):
    key = hashlib.sha256(f"evalapp.device-name:{current_app.secret_key}".encode()).digest()
    return hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:24]


# Counters name a login (a phone number) only by its keyed hash: the storage must not list who tried to sign in.
def _address_keys(name):
    return _site(), "login", _name_tag(name), get_remote_address()


def _name_keys(name):
    return _site(), "login", _name_tag(name)


def _device_keys(device, name):
    return _site(), "login-device", device, _name_tag(name)


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
    The account's id only goes into the hash: `get_id()` also holds its session token.
    """
    if not current_user.is_authenticated:
        return f"address:{get_remote_address()}"
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    digest = hmac.new(secret, f"ballot-limit:{current_user.id}".encode(), hashlib.sha256).hexdigest()
    return f"account:{digest[:32]}"


def init_app(app):
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
