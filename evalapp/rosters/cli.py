"""`flask rosters import FILE --union ID [--apply]`: the same import as the web pages, from a shell.

`flask rosters import-unions FILE [--under ID] [--apply] [--dissolve-missing]`: the union tree.
"""
import click
from flask.cli import AppGroup

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.rosters.checking import ERROR_LIMIT
from evalapp.rosters.models import ImportJob, ImportStage
from evalapp.rosters.operations import queue_local_apply, run_apply, run_preview, start_local_import
from evalapp.rosters.union_tree import apply_plan, changes_anything, plan_import
from evalapp.unions.models import Union

COUNT_LABELS = (("rows", "rows read"), ("new", "new members"), ("updated", "updated (name, phone)"),
                ("moved", "moved between unions"), ("transferred_in", "  of whom from outside the scope (had left)"),
                ("reactivated", "back on the roster"), ("unchanged", "unchanged"),
                ("deactivated", "to be marked as left (not in the file)"),
                ("without_id", "members without an ID number (left as they are)"), ("errors", "rows with errors"))


def register_commands(group):
    """Add the roster commands to `group` (`flask rosters`)."""

    @group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--union", "union_id", type=int, required=True, help="Id of the union the import starts from.")
    @click.option("--apply", "do_apply", is_flag=True, help="Apply after the preview (default: preview only).")
    @click.option("--skip-errors", is_flag=True, help="Apply the good rows even if some rows have errors.")
    def import_command(file, union_id, do_apply, skip_errors):
        """Preview (and with --apply, import) a roster file for a union and its subtree."""
        union = db.session.get(Union, union_id)
        if union is None:
            raise click.ClickException(f"no union with id {union_id}")
        try:
            job = start_local_import(union, file)
            db.session.commit()
        except Refused as refusal:
            raise click.ClickException(refusal.message) from None
        job_id = job.id
        click.echo(f"import job {job_id} for {union.name} (union {union.id}) and its subtree", err=True)
        run_preview(job_id, path=file, echo=_echo_progress)
        job = _reload(job_id)
        _print_report(job, "preview")
        if not do_apply:
            click.echo("preview only: nothing was changed (add --apply to import)", err=True)
            return
        if job.counts.get("errors") and not skip_errors:
            raise click.ClickException("rows have errors: fix the file, or add --skip-errors to import the other rows")
        try:
            queue_local_apply(job, skip_errors)
            db.session.commit()
        except Refused as refusal:
            raise click.ClickException(refusal.message) from None
        run_apply(job_id, path=file, echo=_echo_progress)
        job = _reload(job_id)
        _print_report(job, "import")
        if job.stage != ImportStage.applied:
            raise click.ClickException(job.message or "the import was not applied")


    @group.command("import-unions")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--under", "under_id", type=int, help="Id of the union the file's tree hangs from "
                  "(default: the file holds the whole federation, its city at the top).")
    @click.option("--apply", "do_apply", is_flag=True, help="Apply after the preview (default: preview only).")
    @click.option("--dissolve-missing", is_flag=True, help="Mark unions with a code that the file no longer "
                  "lists as dissolved (they are never deleted).")
    def import_unions_command(file, under_id, do_apply, dissolve_missing):
        """Preview (and with --apply, import) the union tree from a CSV or XLSX file, by union code."""
        root = None
        if under_id is not None:
            root = db.session.get(Union, under_id)
            if root is None:
                raise click.ClickException(f"no union with id {under_id}")
        try:
            plan = plan_import(file, root, dissolve_missing)
        except Refused as refusal:
            raise click.ClickException(refusal.message) from None
        click.echo(f"union tree under {root.name} (union {root.id})" if root else "union tree of the whole federation")
        for key, label in TREE_COUNT_LABELS:
            click.echo(f"  {label:<48} {plan.counts[key]:>10,}")
        for row_no, column, message in plan.errors.entries:
            click.echo(f"  row {row_no}, {column}: {message}")
        if len(plan.errors.entries) >= ERROR_LIMIT:
            click.echo(f"  (only the first {len(plan.errors.entries)} errors are listed)")
        if not do_apply:
            click.echo("preview only: nothing was changed (add --apply to import)", err=True)
            return
        if plan.errors.rows:
            raise click.ClickException("rows have errors: nothing was changed; fix the file and run again")
        if not changes_anything(plan):
            click.echo("nothing to change")
            return
        apply_plan(plan)
        db.session.commit()
        dissolved = plan.counts["to_dissolve"] if dissolve_missing else 0
        click.echo(f"applied; {dissolved:,} unions marked as dissolved")


TREE_COUNT_LABELS = (("rows", "rows read"), ("new", "new unions"), ("renamed", "renamed"), ("moved", "moved"),
                     ("retyped", "type or sector changed"), ("restored", "back from dissolved"),
                     ("unchanged", "unchanged"), ("to_dissolve", "to dissolve (not in the file)"),
                     ("chairs", "chairs to appoint"),
                     ("chairs_later", "chairs of new unions (import again after the rosters)"),
                     ("errors", "rows with errors"))


def _reload(job_id):
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    if job.stage == ImportStage.failed:
        raise click.ClickException(job.message or "the import failed")
    return job


def _echo_progress(processed, total):
    of = f" of about {total:,}" if total else ""
    click.echo(f"  {processed:,} rows read{of}", err=True)


def _print_report(job, what):
    report = job.report_data
    counts = report.get("counts", {})
    click.echo(f"{what} of job {job.id}: {job.stage.value}" + (f" ({job.message})" if job.message else ""))
    for key, label in COUNT_LABELS:
        click.echo(f"  {label:<48} {counts.get(key, 0):>10,}")
    for row_no, column, message in report.get("errors", []):
        click.echo(f"  row {row_no}, {column}: {message}")
    if report.get("errors_truncated"):
        click.echo(f"  (only the first {len(report['errors'])} errors are listed)")


rosters_cli = AppGroup("rosters", help="Member rosters.")
register_commands(rosters_cli)
