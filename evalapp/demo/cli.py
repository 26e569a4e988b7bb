"""`flask demo …`: load the demo federation and print its logins."""
import logging

import click
from flask import current_app
from flask.cli import AppGroup

from evalapp.core.db import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load-if-empty")
def load_if_empty():
    """Load the demo federation when the database has no unions yet (never in production: its
    passwords are in the README)."""
    from evalapp.core.config import is_production
    from evalapp.demo.seed import load_demo
    from evalapp.unions.models import Union

    if is_production(current_app.config):
        raise click.ClickException("this is a production configuration: the demo (whose passwords are public) "
                                   "is not loaded; create an administrator with `flask admin create NAME`")

    if db.session.scalar(db.select(Union.id).limit(1)) is not None:
        click.echo("database already holds data; demo not loaded", err=True)
        return
    click.echo("loading demo data…", err=True)
    # Each of the demo's several hundred audited steps would print a line: one summary instead.
    audit_logger = logging.getLogger("evalapp.core.audit")
    level = audit_logger.level
    audit_logger.setLevel(logging.WARNING)
    try:
        load_demo()
    finally:
        audit_logger.setLevel(level)
    from evalapp.core.audit import AuditHead

    head = db.session.get(AuditHead, 1)
    click.echo(f"demo data loaded ({head.seq if head else 0} audit entries)", err=True)


@demo_cli.command("logins")
def logins():
    """Print the demo logins."""
    from evalapp.demo.seed import DEMO_LOGINS, DEMO_PASSWORD

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in DEMO_LOGINS:
        click.echo(f"  {username:<12} {role}")
