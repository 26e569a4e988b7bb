from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.accounts.forms import LoginForm, PasswordForm
from evalapp.accounts.operations import authenticate, change_password, end_all_sessions, normalise_username
from evalapp.accounts.signals import signed_in_with_password
from evalapp.core.auth import REMEMBER_COOKIE, before_own_password, end_session, public, start_session
from evalapp.core.limits import (
    count_login_attempt,
    forget_login_attempts,
    limiter,
    lockout_ends,
    login_attempts_per_address,
    trust_device,
)
from evalapp.core.web import form_status, perform

bp = Blueprint("accounts", __name__)


def _safe_next(target):
    """Accept only a same-site path as the place to return to after login, else the home page."""
    home = url_for("campaigns.index")
    if not target or any(ord(char) < 0x20 or char == "\\" for char in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@bp.route("/login", methods=["GET", "POST"])
@public(counts_own_attempts=True)
@limiter.limit(login_attempts_per_address, methods=["POST"], error_message="登录尝试过于频繁，请稍后再试。")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("campaigns.index"))
    form = LoginForm()
    if form.validate_on_submit():
        name = normalise_username(form.username.data)
        if not count_login_attempt(name):
            return _locked_out(name)
        account = authenticate(name, form.password.data)
        if account is not None:
            forget_login_attempts(name)
            start_session(account, remember=form.remember.data)
            signed_in_with_password.send(account)
            return trust_device(redirect(_safe_next(request.args.get("next"))), name)
        flash("手机号/登录名或密码不正确。", "error")
    # A failed POST answers 400 so that clients (and tests) can tell it from a fresh form.
    return render_template("accounts/login.html", form=form), 400 if request.method == "POST" else 200


def _locked_out(name):
    until = lockout_ends(name)
    response = render_template("accounts/locked.html", until=until.replace(tzinfo=None),
                               this_device=g.get("login_device") is not None), 429
    seconds = max(int((until - datetime.now(UTC)).total_seconds()), 1)
    return response + ({"Retry-After": str(seconds)},)


@bp.route("/account/password", methods=["GET", "POST"])
@before_own_password
def password():
    form, outcome = PasswordForm(), None
    if form.validate_on_submit():
        account = current_user._get_current_object()
        outcome = perform(change_password, account, form.current.data, form.new.data,
                          success="密码已修改，其他设备上的登录已全部退出。")
        if outcome.ok:  # every session ended: this browser signs in anew
            start_session(account, remember=REMEMBER_COOKIE in request.cookies)
            return redirect(url_for("campaigns.index"))
    return render_template("accounts/password.html", form=form), form_status(form, outcome)


@bp.route("/logout", methods=["POST"])
@before_own_password
def logout():
    """Log out everywhere: every session and remember-me cookie of the account ends."""
    perform(end_all_sessions, current_user._get_current_object())
    end_session()
    flash("您已退出登录。您在其他设备上的登录也已一并退出。", "info")
    return redirect(url_for("accounts.login"))
