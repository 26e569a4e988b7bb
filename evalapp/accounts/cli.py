"""`flask accounts …`: what an operator does to an account from the server's command line."""
import click
from flask.cli import AppGroup

accounts_cli = AppGroup("accounts", help="Accounts.")


def _account(username):
    from evalapp.accounts.operations import find_account

    account = find_account(username)
    if account is None:
        raise click.ClickException(f"no account with the login name {username!r}")
    return account


@accounts_cli.command("sign-out")
@click.argument("username")
def sign_out(username):
    """End every session and remember-me cookie of USERNAME (a lost phone, a shared PC)."""
    from evalapp.accounts.operations import end_all_sessions
    from evalapp.core import audit
    from evalapp.core.db import db

    account = _account(username)
    end_all_sessions(account)
    audit.record("account.signed_out_everywhere", account, actor=None)
    db.session.commit()
    click.echo(f"{account.username}: every session ended")


@accounts_cli.command("deactivate")
@click.argument("username")
def deactivate(username):
    """Stop USERNAME from signing in; every session of the account ends."""
    from evalapp.accounts.operations import deactivate_account
    from evalapp.core.db import db

    account = _account(username)
    deactivate_account(None, account)
    db.session.commit()
    click.echo(f"{account.username}: deactivated, every session ended")
