"""Flask-Login wiring: every page needs a login except those marked public."""
from flask import flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, user_logged_in

from evalapp.core.db import db

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"

#: Endpoints that anonymous visitors may reach.
PUBLIC_ENDPOINTS = {"accounts.login", "accounts.activate_view", "static", "health.healthz"}
#: Endpoints open to an account that must first choose its own password.
PASSWORD_CHANGE_ENDPOINTS = {"accounts.password", "accounts.logout", "static"}


@login_manager.user_loader
def _load_account(account_id):
    from evalapp.accounts.models import Account

    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    return account if account is not None and account.active else None


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
