"""`flask notifications …`, and the clock's minute job: write out broadcasts, send what is due."""
import click
from flask.cli import AppGroup

from evalapp.core.timeutil import utcnow
from evalapp.notifications.broadcasts import fan_out_pending
from evalapp.notifications.delivery import counts_by_channel_and_state, deliver_due, quiet_hours_end

notifications_cli = AppGroup("notifications", help="Notices: send the e-mail and SMS copies that are due.")


def run():
    """Write out broadcasts whose job never ran, then send every copy that is due."""
    fan_out_pending()
    return deliver_due()


@notifications_cli.command("deliver")
def deliver_command():
    """Send the copies that are due (retries, SMS held for the morning); cron runs it every minute
    where no worker keeps the clock."""
    sent, failed = run()
    click.echo(f"sent {sent}, failed attempts {failed}")


@notifications_cli.command("status")
def status_command():
    """How many copies are pending, being sent, sent and failed, by channel."""
    for (channel, state), count in sorted(counts_by_channel_and_state().items()):
        click.echo(f"{channel.value:<6} {state.value:<8} {count:>10,}")
    held = quiet_hours_end(utcnow())
    if held:
        click.echo(f"quiet hours: SMS wait until {held:%Y-%m-%d %H:%M} UTC")
