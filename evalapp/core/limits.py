"""Rate limits (Flask-Limiter): in memory by default, in Redis when REDIS_URL is configured."""
from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

limiter = Limiter(get_remote_address)

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
    within_address = limiter.limiter.hit(LOGIN_TRIES_PER_NAME_AND_ADDRESS, _site(), "login", name, address)
    within_name = limiter.limiter.hit(LOGIN_TRIES_PER_NAME, _site(), "login", name)
    return within_address and within_name


def forget_login_attempts(name):
    limiter.limiter.clear(LOGIN_TRIES_PER_NAME_AND_ADDRESS, _site(), "login", name, get_remote_address())
    limiter.limiter.clear(LOGIN_TRIES_PER_NAME, _site(), "login", name)


def _site():
    # Counters kept outside Flask-Limiter's own decorators get the site's key prefix too, so that
    # two evalapp sites sharing one Redis never lock each other's users out.
    return current_app.config.get("RATELIMIT_KEY_PREFIX") or "evalapp"


def account_key():
    return f"account:{current_user.get_id()}"


def init_app(app):
    limiter.init_app(app)
