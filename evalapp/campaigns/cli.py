"""`flask campaigns tick`: the campaign schedule, for installations that run it from cron."""
import click
from flask.cli import AppGroup

campaigns_cli = AppGroup("campaigns", help="Campaigns.")


@campaigns_cli.command("tick")
def tick():
    """Open and close the campaigns whose planned time has come (run it every minute from cron)."""
    from evalapp.campaigns.operations import run_schedule

    done = run_schedule()
    click.echo(f"opened {done['opened']}, closed {done['closed']}")
