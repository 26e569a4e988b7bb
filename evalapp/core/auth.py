"""Flask-Login wiring: every page needs a login except those marked public."""
from flask import flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user, user_logged_in

from evalapp.core.db import db

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"
REMEMBER_COOKIE = "remember_token"  # Flask-Login's default name (REMEMBER_COOKIE_NAME is not set)

#: Endpoints that anonymous visitors may reach.
PUBLIC_ENDPOINTS = {"accounts.login", "accounts.activate_view", "static", "health.healthz"}
#: Endpoints open to an account that must first choose its own password.
PASSWORD_CHANGE_ENDPOINTS = {"accounts.password", "accounts.logout", "static"}


@login_manager.user_loader
def _load_account(session_id):
    """The active account a session or remember-me cookie names, if its session token is still current."""
    from evalapp.accounts.models import Account

    account_id, token, signed_in_at = ((session_id or "").split(":") + ["", ""])[:3]
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() and len(account_id) < 10 else None
    if account is None or not account.active or not account.holds_session(token, signed_in_at):
        return None
    return account


def start_session(account, remember=False):
    """Sign `account` in on a fresh session.

    Nothing of the session before the login survives (a cookie planted in the browser beforehand,
    its CSRF token) except the messages waiting to be shown.
    """
    flashes = session.get("_flashes")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy: the next form gets a new token
    if flashes:
        session["_flashes"] = flashes
    login_user(account, remember=remember, fresh=True)
    if not remember and request.cookies.get(REMEMBER_COOKIE):
        session["_remember"] = "clear"  # someone else's (or an older) remember-me cookie must not linger


def end_session():
    """Sign out of this browser: drop the session and the remember-me cookie."""
    logout_user()
    remember = session.get("_remember")
    session.clear()
    g.pop("csrf_token", None)
    if remember:
        session["_remember"] = remember  # tells Flask-Login to delete the remember-me cookie


@user_logged_in.connect
def _expire_when_idle(_app, **_extra):
    # A permanent session ends PERMANENT_SESSION_LIFETIME after the last request (checked on the
    # server from the signed cookie's timestamp), not only when the browser closes.
    session.permanent = True


def init_app(app):
    login_manager.init_app(app)

    @app.before_request
    def _require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            flash("您的初始密码由工作人员设置，请先设置您自己的密码。", "info")
            return redirect(url_for("accounts.password"))
        return None
