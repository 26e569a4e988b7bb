"""Command-line entry points: `flask demo …` and `flask audit verify`."""
import click
from flask.cli import AppGroup

from evalapp.core.db import db

demo_cli = AppGroup("demo", help="Demo data.")
audit_cli = AppGroup("audit", help="The audit log.")
campaigns_cli = AppGroup("campaigns", help="Campaigns.")


@campaigns_cli.command("tick")
def tick():
    """Open and close the campaigns whose planned time has come (run it every minute from cron)."""
    from evalapp.campaigns.operations import run_schedule

    done = run_schedule()
    click.echo(f"opened {done['opened']}, closed {done['closed']}")


@demo_cli.command("load-if-empty")
def load_if_empty():
    """Load the demo federation when the database has no unions yet."""
    from evalapp.demo.seed import load_demo
    from evalapp.unions.models import Union

    if db.session.scalar(db.select(Union.id).limit(1)) is not None:
        click.echo("database already holds data; demo not loaded", err=True)
        return
    click.echo("loading demo data…", err=True)
    load_demo()
    click.echo("demo data loaded", err=True)


@demo_cli.command("logins")
def logins():
    """Print the demo logins."""
    from evalapp.demo.seed import DEMO_LOGINS, DEMO_PASSWORD

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in DEMO_LOGINS:
        click.echo(f"  {username:<12} {role}")


@audit_cli.command("verify")
def verify():
    """Verify the audit hash chain; exit 1 naming the first broken entry."""
    from evalapp.core.audit import verify_chain

    broken = verify_chain()
    if broken is None:
        click.echo("audit chain intact")
    else:
        click.echo(f"audit chain broken at entry {broken}", err=True)
        raise SystemExit(1)


def init_app(app):
    app.cli.add_command(demo_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(campaigns_cli)
