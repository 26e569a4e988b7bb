"""Flask-Login wiring: every page needs a login except those marked public."""
from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user, user_logged_in

login_manager = LoginManager()
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"
REMEMBER_COOKIE = "remember_token"  # Flask-Login's default name (REMEMBER_COOKIE_NAME is not set)


def public(view=None, *, counts_own_attempts=False):
    """Mark a view that anonymous visitors may reach.

    `counts_own_attempts`: the view limits an anonymous visitor's attempts itself (sign-in,
    activation), so the general limit on anonymous posts leaves it alone.
    """

    def mark(fn):
        fn.is_public = True
        fn.counts_own_attempts = counts_own_attempts
        return fn

    return mark(view) if view is not None else mark


def before_own_password(view):
    """Mark a view open to an account that must first replace the password an officer gave it."""
    view.before_own_password = True
    return view


def _view_marked(attribute):
    if request.endpoint == "static":
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, attribute, False))


def counts_own_attempts():
    """True when the requested view limits an anonymous visitor's attempts itself."""
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "counts_own_attempts", False))


def configure(*, login_view, password_view, load_account):
    """Set where sign-in and the password change live, and how a session finds its account.

    `load_account(session_id)` returns the active account a session or remember-me cookie names,
    or None; the accounts package provides all three.
    """
    login_manager.login_view = login_view
    login_manager.password_view = password_view
    login_manager.user_loader(load_account)


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
        if request.endpoint is None or _view_marked("is_public"):
            return None
        if not current_user.is_authenticated:
            return redirect(url_for(login_manager.login_view, next=request.full_path.rstrip("?")))
        if current_user.must_change_password and not _view_marked("before_own_password"):
            flash("您的初始密码由工作人员设置，请先设置您自己的密码。", "info")
            return redirect(url_for(login_manager.password_view))
        return None
