"""Roster import pages: upload for a union's subtree, the job page with its report, apply, abandon, retry."""
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.jobs import run_in_background
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.rosters import uploads
from evalapp.rosters.forms import ApplyForm, RetryForm, TreeApplyForm, TreeUploadForm, UploadForm
from evalapp.rosters.models import ImportJob, ImportStage, UnionTreeImport
from evalapp.rosters.operations import (
    abandon,
    request_apply,
    retry_import,
    run_apply,
    run_preview,
    start_import,
)
from evalapp.rosters.parsing import COLUMNS
from evalapp.rosters.tree_jobs import request_tree_apply, run_tree_apply, run_tree_preview
from evalapp.unions.models import Union, UnionKind
from evalapp.unions.tree_file import COLUMNS as TREE_COLUMNS

bp = Blueprint("rosters", __name__, url_prefix="/rosters")
#: A city's roster as CSV is about 50 MB; the application's general limit is far lower.
UPLOAD_MAX_BYTES = 256 * 1024 * 1024
RECENT_JOBS = 10


@bp.url_value_preprocessor
def _prepare_upload(endpoint, values):
    # Runs before the application's before_request handlers, which read the form (CSRF, NUL check):
    # the roster upload gets its own size limit and is spooled straight into the upload folder,
    # but only for someone who may import into that union (others keep the general, small limit).
    if request.method == "POST" and _may_import(_target_union(endpoint, values)):
        request.max_content_length = current_app.config.get("ROSTER_MAX_UPLOAD_BYTES", UPLOAD_MAX_BYTES)
        request._get_file_stream = uploads.stream_factory


def _target_union(endpoint, values):
    """The union a request's file would be imported into: the upload's, or the retried job's."""
    if endpoint in ("rosters.upload", "rosters.tree_upload") and values.get("union_id") is not None:
        return db.session.get(Union, values["union_id"])
    if endpoint == "rosters.retry_view" and values.get("job_id") is not None:
        job = db.session.get(ImportJob, values["job_id"])
        return job.union if job is not None else None
    return None


def _may_import(union):
    return union is not None and current_user.is_authenticated and current_user.manages(union)


@bp.teardown_request
def _discard_spooled_uploads(_error):
    uploads.discard_unclaimed()


def _managed_union(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    return union


def _managed_job(job_id):
    job = get_or_404(ImportJob, job_id)
    require(job.can_manage(current_user))
    return job


@bp.route("/unions/<int:union_id>/import", methods=["GET", "POST"])
def upload(union_id):
    union = _managed_union(union_id)
    return _upload_page(union, UploadForm(), "roster", ImportJob, "rosters/upload.html", columns=COLUMNS,
                        grassroots=union.kind == UnionKind.grassroots)


def _upload_page(union, form, file_field, job_class, template, **values):
    """Start an import of `job_class` from the uploaded file and go to its page; or show the form and
    the union's recent imports of that kind."""
    outcome = None
    if form.validate_on_submit():
        upload = form[file_field].data
        outcome = perform(start_import, union, current_user, upload.stream, upload.filename, job_class=job_class,
                          success="文件已上传。")
        if outcome.ok:
            job = outcome.value
            uploads.claim(job.stored_name)
            run_in_background(current_app._get_current_object(), _runner(job, ImportStage.uploaded), job.id)
            return redirect(url_for(".job", job_id=job.id))
    jobs = db.session.scalars(select(job_class).where(
        job_class.union_id == union.id, job_class.kind == job_class.__mapper__.polymorphic_identity)
        .order_by(job_class.id.desc()).limit(RECENT_JOBS)).all()
    return render_template(template, union=union, form=form, jobs=jobs, **values), form_status(form, outcome)


@bp.route("/jobs/<int:job_id>")
def job(job_id):
    return _render_job(_managed_job(job_id))


def _render_job(job, status=200, apply_form=None, retry_form=None):
    # The page refreshes itself while the job runs (a meta refresh in the page, and the header).
    headers = {"Refresh": "2"} if job.state.active and not job.stalled else {}
    tree = isinstance(job, UnionTreeImport)
    page = render_template("rosters/tree_job.html" if tree else "rosters/job.html", job=job, report=job.report_data,
                           counts=job.counts, apply_form=apply_form or (TreeApplyForm() if tree else ApplyForm()),
                           retry_form=retry_form or RetryForm(), stages=ImportStage)
    return page, status, headers


def _runner(job, stage):
    """The background step that runs `job` at `stage` (its preview or its apply)."""
    if isinstance(job, UnionTreeImport):
        return run_tree_apply if stage == ImportStage.applying else run_tree_preview
    return run_apply if stage == ImportStage.applying else run_preview


@bp.route("/jobs/<int:job_id>/apply", methods=["POST"])
def apply_view(job_id):
    job = _managed_job(job_id)
    if isinstance(job, UnionTreeImport):
        form = TreeApplyForm()
        if not form.validate_on_submit():
            abort(400)
        outcome = perform(request_tree_apply, job, current_user, form.dissolve_missing.data)
    else:
        form = ApplyForm()
        if not form.validate_on_submit():
            abort(400)
        outcome = perform(request_apply, job, current_user, form.skip_errors.data)
    if not outcome.ok:
        return _render_job(job, outcome.status, form)
    run_in_background(current_app._get_current_object(), _runner(job, ImportStage.applying), job_id)
    return redirect(url_for(".job", job_id=job_id))


@bp.route("/jobs/<int:job_id>/abandon", methods=["POST"])
def abandon_view(job_id):
    job = _managed_job(job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = perform(abandon, job, current_user, success="已放弃本次导入，上传的文件已删除。")
    if not outcome.ok:
        return _render_job(job, outcome.status)
    return redirect(url_for(".tree_upload" if isinstance(job, UnionTreeImport) else ".upload", union_id=job.union_id))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
def retry_view(job_id):
    job = _managed_job(job_id)
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    roster = form.roster.data
    stream, filename = (roster.stream, roster.filename) if roster else (None, None)
    outcome = perform(retry_import, job, current_user, stream, filename, success="已重新开始。")
    if not outcome.ok:
        return _render_job(job, outcome.status, retry_form=form)
    uploads.claim(job.stored_name)
    run_in_background(current_app._get_current_object(), _runner(job, outcome.value), job_id)
    return redirect(url_for(".job", job_id=job_id))


@bp.route("/unions/<int:union_id>/tree-import", methods=["GET", "POST"])
def tree_upload(union_id):
    """The unions below `union_id` from a file (工会组织架构表), by union code."""
    return _upload_page(_managed_union(union_id), TreeUploadForm(), "tree", UnionTreeImport,
                        "rosters/tree_upload.html", columns=TREE_COLUMNS)


@bp.route("/template.csv")
def template():
    """An empty roster with the expected header (UTF-8 with BOM, so that Excel shows the Chinese)."""
    require(current_user.is_staff)
    body = "\ufeff" + ",".join(COLUMNS) + "\r\n"
    return Response(body.encode(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=roster-template.csv"})
