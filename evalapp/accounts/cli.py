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


admin_cli = AppGroup("admin", help="Administrators.")


@admin_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", help="The name shown in the app (default: the login name).")
def create_admin(username, display_name):
    """Create an administrator USERNAME; the password is asked for (never given on the command line).

    The first step of a fresh install: the administrator then signs in and creates the top union.
    Without a terminal (a script), the password is read from standard input, twice.
    """
    from evalapp.accounts.operations import create_account
    from evalapp.core.db import db
    from evalapp.core.errors import Refused

    password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    try:
        account = create_account(username, display_name or username, password, is_admin=True)
        db.session.commit()
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"{account.username}: administrator created; sign in at /login")
