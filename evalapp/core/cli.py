"""`flask audit verify`, `flask release plan`; each domain package adds its own commands (its `init_app`)."""
import click
from flask.cli import AppGroup

from evalapp.core.db import db

audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("verify")
def verify():
    """Verify the audit hash chain; exit 1 naming the first broken entry."""
    from evalapp.core.audit import AuditHead, check_chain

    check = check_chain()
    if check.broken is None:
        head = db.session.get(AuditHead, 1)
        click.echo(f"audit chain intact: {head.seq if head else 0} entries, tip {head.hash if head else '-'}")
    elif check.missing_key:
        click.echo(f"audit entry {check.broken} was signed with key {check.missing_key}, which this installation "
                   "does not have: add the retired key to AUDIT_OLD_KEYS (docs/operations.md); entries before it "
                   "verify", err=True)
        raise SystemExit(1)
    else:
        click.echo(f"audit chain broken at entry {check.broken}", err=True)
        raise SystemExit(1)


release_cli = AppGroup("release", help="Upgrading to a new release.")


@release_cli.command("plan")
def release_plan():
    """The pending migrations, whether the service must stop for them, and last `plan: none|rolling|stop`
    (the line scripts/upgrade reads)."""
    from evalapp.core.releases import pending_migrations

    pending = pending_migrations()
    stop = any(migration.stops_the_service for migration in pending)
    for migration in pending:
        click.echo(f"{migration.revision}  {migration.message}"
                   + ("  (the previous release cannot run after it)" if migration.stops_the_service else ""))
    if not pending:
        click.echo("the database is at the newest migration")
    elif stop:
        click.echo("stop every instance and worker before migrating")
    else:
        click.echo("the running release survives these migrations: migrate, then restart one instance at a time")
    click.echo(f"plan: {'stop' if stop else 'rolling' if pending else 'none'}")


def init_app(app):
    from evalapp.core.worker import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(release_cli)
