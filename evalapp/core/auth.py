"""Flask-Login wiring: every page needs a login except those marked public."""
from flask import redirect, request, url_for
from flask_login import LoginManager, current_user

from evalapp.core.db import db

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"

#: Endpoints that anonymous visitors may reach.
PUBLIC_ENDPOINTS = {"accounts.login", "static"}


@login_manager.user_loader
def _load_account(account_id):
    from evalapp.accounts.models import Account

    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    return account if account is not None and account.active else None


def init_app(app):
    login_manager.init_app(app)

    @app.before_request
    def _require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        return None
