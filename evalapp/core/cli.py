"""`flask audit verify`; each domain package adds its own commands (its `init_app`)."""
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


def init_app(app):
    from evalapp.core.worker import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(audit_cli)
