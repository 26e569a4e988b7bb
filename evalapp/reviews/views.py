from datetime import date

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from evalapp.campaigns.loading import load_published_campaign
from evalapp.campaigns.models import CampaignBatch
from evalapp.core.db import db
from evalapp.core.downloads import content_disposition
from evalapp.core.forms import ActionForm
from evalapp.core.jobs import run_in_background
from evalapp.core.storage import storage
from evalapp.core.text import one_line
from evalapp.core.timeutil import local_today
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.reviews.forms import ReviewForm
from evalapp.reviews.models import ReviewJob
from evalapp.reviews.pdf import result_pdf
from evalapp.reviews.review import published_between, request_review, retry_review, run_review
from evalapp.unions.models import Union

bp = Blueprint("reviews", __name__)


@bp.route("/campaigns/<int:campaign_id>/result.pdf")
def result(campaign_id):
    campaign = load_published_campaign(campaign_id)
    require(campaign.can_see_internals(current_user))
    pdf = result_pdf(campaign, for_officers=campaign.can_manage(current_user))
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": content_disposition(
        f"评议结果-{campaign.title}.pdf", fallback=f"result-{campaign.id}.pdf")})


def _batch_of(union):
    """The batch named by ?batch= (or the form), which must be rooted at `union`; None without one."""
    batch_id = request.values.get("batch", type=int)
    if batch_id is None:
        return None
    batch = get_or_404(CampaignBatch, batch_id)
    require(batch.root_union_id == union.id and batch.can_manage(current_user))
    return batch


@bp.route("/unions/<int:union_id>/review", methods=["GET", "POST"])
def review(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    batch = _batch_of(union)
    today = local_today()
    form = ReviewForm(data=None if request.method == "POST" else {
        "period_start": date(today.year, 1, 1), "period_end": today})
    if form.validate_on_submit():
        outcome = perform(request_review, current_user, union, form.period_start.data, form.period_end.data, batch)
        if outcome.ok:
            run_in_background(current_app._get_current_object(), run_review, outcome.value.id)
            return redirect(url_for(".review_job", job_id=outcome.value.id))
    status = form_status(form)
    start, end = form.period_start.data or date(today.year, 1, 1), form.period_end.data or today
    found = db.session.scalar(published_between(union, start, end, batch).with_only_columns(db.func.count())) \
        if start <= end else 0
    jobs = db.session.scalars(select(ReviewJob).where(ReviewJob.union_id == union.id)
                              .order_by(ReviewJob.id.desc()).limit(10)).all()
    return render_template("reviews/review_new.html", union=union, batch=batch, form=form, found=found,
                           jobs=jobs), status


def _readable_job(job_id):
    job = get_or_404(ReviewJob, job_id)
    require(job.can_view(current_user))
    return job


@bp.route("/reviews/<int:job_id>")
def review_job(job_id):
    job = _readable_job(job_id)
    return render_template("reviews/review_job.html", job=job, can_retry=job.can_retry(current_user))


@bp.route("/reviews/<int:job_id>/retry", methods=["POST"])
def review_retry(job_id):
    job = _readable_job(job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = perform(retry_review, job, current_user, success="已重新开始生成。")
    if outcome.ok:
        run_in_background(current_app._get_current_object(), run_review, job_id)
    return redirect(url_for(".review_job", job_id=job_id))


@bp.route("/reviews/<int:job_id>/download")
def review_download(job_id):
    job = _readable_job(job_id)
    require(job.file_key is not None)
    name = f"审阅报告-{one_line(job.union.name)}-{job.period_start}至{job.period_end}.pdf"
    try:
        return storage().send(job.file_key, "application/pdf", download_name=name, as_attachment=True)
    except FileNotFoundError:
        require(False)
