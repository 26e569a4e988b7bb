"""Accounts, login and roles."""


def init_app(app):
    from evalapp.accounts import cli, views
    from evalapp.accounts.operations import account_for_session
    from evalapp.core import auth

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.accounts_cli)
    app.cli.add_command(cli.admin_cli)
    auth.configure(login_view="accounts.login", load_account=account_for_session,
                   password_view="accounts.password")  # nosec B106 (the password page's endpoint, not a password)
