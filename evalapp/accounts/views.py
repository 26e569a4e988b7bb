from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.accounts.forms import ActivateForm, LoginForm, PasswordForm
from evalapp.accounts.invitations import activate
from evalapp.accounts.operations import authenticate, change_password, end_all_sessions, normalise_username
from evalapp.accounts.security import CREDENTIAL_KIND_VALUES, mark_seen, member_events, report_event, unseen_credential_events
from evalapp.core.auth import REMEMBER_COOKIE, end_session, start_session
from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.limits import (
    ACTIVATIONS_PER_ADDRESS,
    LOGIN_ATTEMPTS_PER_ADDRESS,
    count_login_attempt,
    forget_login_attempts,
    limiter,
    lockout_ends,
    trust_device,
)
from evalapp.core.web import form_status, get_or_404, perform
from evalapp.unions.events import MemberEvent

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
@limiter.limit(LOGIN_ATTEMPTS_PER_ADDRESS, methods=["POST"], error_message="登录尝试过于频繁，请稍后再试。")
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
            if unseen_credential_events(account):
                flash("您的账号最近有变动（例如工作人员为您重置了密码）。请打开“账号安全”查看；不是您本人申请的，可在那里报告上级工会。",
                      "warning")
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


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(ACTIVATIONS_PER_ADDRESS, methods=["POST"], error_message="尝试过于频繁，请稍后再试。")
def activate_view():
    """A member's first login: phone number, the code from the printed sheet, their own password."""
    form, outcome = ActivateForm(), None
    if form.validate_on_submit():
        outcome = perform(activate, form.phone.data, form.code.data, form.password.data, form.second_code.data,
                          success="账号已激活，欢迎使用。")
        if outcome.ok:
            start_session(outcome.value)
            return trust_device(redirect(url_for("campaigns.index")), outcome.value.username)
    return render_template("accounts/activate.html", form=form), form_status(form, outcome)


@bp.route("/account/password", methods=["GET", "POST"])
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
def logout():
    """Log out everywhere: every session and remember-me cookie of the account ends."""
    perform(end_all_sessions, current_user._get_current_object())
    end_session()
    flash("您已退出登录。您在其他设备上的登录也已一并退出。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/security")
def security():
    """The member's own roster and credential changes, who made them and when."""
    events = member_events(current_user)
    unseen = {event.id for event in events if event.seen_at is None}
    mark_seen(current_user)
    db.session.commit()
    return render_template("accounts/security.html", events=events, unseen=unseen, credential_kinds=CREDENTIAL_KIND_VALUES)


@bp.route("/account/security/<int:event_id>/report", methods=["POST"])
def report(event_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    event = get_or_404(MemberEvent, event_id)
    if current_user.member is None or event.member_id != current_user.member.id:
        abort(404)
    perform(report_event, current_user, event,
            success="已报告上级工会，他们会核查并与您联系。如需投票，请向工会工作人员重新索取激活码。")
    return redirect(url_for(".security"))
