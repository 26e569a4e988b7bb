"""Rate limits (Flask-Limiter): in memory by default, in Redis when REDIS_URL is configured."""
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

limiter = Limiter(get_remote_address)

#: Failed logins allowed per login name before it is locked out for the rest of the window.
LOGIN_FAILURES = "5 per 15 minutes"
#: All login attempts allowed from one address, failed or not.
LOGIN_ATTEMPTS_PER_ADDRESS = "30 per minute"
#: Activation attempts per address: codes are short, guessing must be slow.
ACTIVATIONS_PER_ADDRESS = "10 per minute"
#: Ballot submissions allowed per account (a real voter needs one).
BALLOT_SUBMISSIONS = "10 per minute"


def login_name_key():
    from evalapp.accounts.operations import normalise_username

    return "login:" + normalise_username(request.form.get("username", ""))


def account_key():
    return f"account:{current_user.get_id()}"


def failed_login(response):
    """Only failed logins count against a login name (a failed login answers 400)."""
    return response.status_code == 400


def init_app(app):
    limiter.init_app(app)
