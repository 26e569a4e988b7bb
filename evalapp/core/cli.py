"""Command-line entry points: `flask demo …` and `flask audit verify`."""
import click
from flask.cli import AppGroup

from evalapp.core.db import db

demo_cli = AppGroup("demo", help="Demo data.")
audit_cli = AppGroup("audit", help="The audit log.")
campaigns_cli = AppGroup("campaigns", help="Campaigns.")
results_cli = AppGroup("results", help="Published results.")


@results_cli.command("verify")
@click.argument("campaign_id", type=int)
# The export is read as bytes: newlines inside quoted free text must reach the CSV reader unchanged.
@click.option("--export", "export_file", type=click.File("rb"), help="A ballots.csv export to check too.")
def verify_result(campaign_id, export_file):
    """Recompute a published result's ballot digest from the database (and an export); exit 1 on mismatch."""
    from evalapp.campaigns.models import Campaign
    from evalapp.results.exports import digest_of_export
    from evalapp.results.operations import ballot_digest

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.result is None:
        raise click.ClickException(f"campaign {campaign_id} has no published result")
    published = campaign.result.ballot_digest
    checks = {"database": ballot_digest(campaign)}
    if export_file is not None:
        checks["export"] = digest_of_export(export_file.read().decode("utf-8-sig"))
    click.echo(f"published digest  {published}")
    for source, digest in checks.items():
        click.echo(f"from the {source:<8} {digest}  {'matches' if digest == published else 'DIFFERS'}")
    if any(digest != published for digest in checks.values()):
        raise SystemExit(1)


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
    from evalapp.core.audit import AuditHead, verify_chain

    broken = verify_chain()
    if broken is None:
        head = db.session.get(AuditHead, 1)
        click.echo(f"audit chain intact: {head.seq if head else 0} entries, tip {head.hash if head else '-'}")
    else:
        click.echo(f"audit chain broken at entry {broken}", err=True)
        raise SystemExit(1)


def init_app(app):
    from evalapp.accounts.cli import accounts_cli
    from evalapp.core.worker import jobs_cli
    from evalapp.rectification.cli import rectification_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(rectification_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(campaigns_cli)
    app.cli.add_command(results_cli)
