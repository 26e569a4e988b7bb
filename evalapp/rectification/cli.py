"""`flask rectification remind`: deadline reminders, from cron or a scheduler."""
from datetime import date

import click
from flask.cli import AppGroup

rectification_cli = AppGroup("rectification", help="Rectification items.")


@rectification_cli.command("remind")
@click.option("--today", "today", metavar="YYYY-MM-DD", default=None,
              help="Act as if it were this Shanghai calendar date (default: today).")
def remind(today):
    """Send deadline reminders into the inboxes (never the same one twice) and retry unsent e-mail.

    Run it daily from cron, e.g. `5 8 * * * cd /path/to/evalapp && .venv/bin/flask --app wsgi.py rectification remind`.
    """
    from evalapp.rectification.reminders import run

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError as error:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--today") from error
    counts, sent, failed = run(day)
    click.echo(f"reminders: {counts['week']} a week ahead, {counts['day']} on the day, {counts['overdue']} overdue; "
               f"copies sent {sent}, failed attempts {failed}")
