"""Duty report pages: the chair's editor and uploads, earlier versions, and the files themselves."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.campaigns.loading import load_campaign
from evalapp.campaigns.models import Campaign
from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.storage import storage
from evalapp.core.web import flash_errors, get_or_404, perform, require
from evalapp.duty_reports import richtext
from evalapp.duty_reports.forms import AttachmentForm, CaptionForm, ImagesForm, ReportForm, VideoForm
from evalapp.duty_reports.models import FileKind, ReportFile
from evalapp.duty_reports.operations import (
    LOCKED,
    add_attachment,
    add_images,
    is_editable,
    remove_file,
    save_report,
    set_caption,
    set_video,
    setting,
    versions_of,
)

bp = Blueprint("duty_reports", __name__)
#: Room for the form fields and multipart framing around the files themselves.
SLACK = 1024 * 1024
#: The report text as posted: 50,000 Chinese characters are about 450 KB once URL-encoded, with markup more.
FORM_MEMORY = 4 * 1024 * 1024
#: Served files must never be run as a page, whatever a browser makes of them.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def _upload_limit(endpoint):
    if endpoint == "duty_reports.upload_images":
        return setting("REPORT_IMAGE_MAX_BYTES") * setting("REPORT_IMAGES_PER_UPLOAD") + SLACK
    if endpoint == "duty_reports.upload_video":
        return setting("REPORT_VIDEO_MAX_BYTES") + SLACK
    if endpoint == "duty_reports.upload_attachment":
        return setting("REPORT_ATTACHMENT_MAX_BYTES") + SLACK
    return None


@bp.url_value_preprocessor
def _raise_limits_for_the_chair(endpoint, values):
    # Runs before the app's before_request handlers read the form (CSRF, NUL check). Only the chair
    # posting to their own report gets limits above the application's small general one.
    if request.method != "POST" or not endpoint or not endpoint.startswith("duty_reports."):
        return
    campaign = db.session.get(Campaign, values.get("campaign_id")) if values.get("campaign_id") else None
    if campaign is None or not current_user.is_authenticated or not campaign.can_edit_report(current_user):
        return
    limit = _upload_limit(endpoint)
    if limit is not None:
        request.max_content_length = max(limit, request.max_content_length or 0)
    # Every form of the editor may carry the report text along (see _save_text_first).
    request.max_form_memory_size = FORM_MEMORY


def _editable_campaign(campaign_id):
    campaign = load_campaign(campaign_id)
    require(campaign.can_edit_report(current_user))
    return campaign


def _render_edit(campaign, status=200, form=None, images_form=None, video_form=None, attachment_form=None):
    report = campaign.report
    saved = report.body if report else ""
    # On a POST the form takes the text that came with it, which may not be the saved text.
    form = form or ReportForm(data={"body": saved})
    return render_template(
        "duty_reports/edit.html", campaign=campaign, report=report, editable=is_editable(campaign),
        form=form, unsaved="body" in request.form and richtext.from_input(request.form["body"]) != saved,
        images_form=images_form or ImagesForm(), video_form=video_form or VideoForm(),
        attachment_form=attachment_form or AttachmentForm(), action_form=ActionForm(),
        caption_form=lambda image: CaptionForm(data={"caption": image.caption}, prefix=f"f{image.id}"),
        limits={name: setting(name) for name in ("REPORT_IMAGE_MAX_BYTES", "REPORT_VIDEO_MAX_BYTES",
                                                 "REPORT_ATTACHMENT_MAX_BYTES", "REPORT_IMAGE_MAX_COUNT",
                                                 "REPORT_ATTACHMENT_MAX_COUNT", "REPORT_IMAGES_PER_UPLOAD")},
    ), status


def _save_text_first(campaign):
    """Save the report text posted along with an upload, caption or removal, if it changed.

    Those forms reload the editor from the saved text; the editor's script copies the text being
    written into them so that it is not lost. Returns a response when the text cannot be saved:
    then nothing else is done and the editor shows the text with the reason.
    """
    body = request.form.get("body")
    if body is None:
        return None
    html, report = richtext.from_input(body), campaign.report
    if not richtext.text_length(html) or (report is not None and report.version and html == report.body):
        return None  # nothing written that could be lost (an emptied editor cannot be saved anyway)
    outcome = perform(save_report, campaign, current_user, body, success="述职报告正文已保存。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status)  # the text form shows the posted text again
    return None


def _back_to_editor(campaign, anchor=None):
    return redirect(url_for(".edit", campaign_id=campaign.id, _anchor=anchor))


@bp.route("/campaigns/<int:campaign_id>/report", methods=["GET", "POST"])
def edit(campaign_id):
    campaign = _editable_campaign(campaign_id)
    if request.method == "GET" and not is_editable(campaign):
        flash(LOCKED, "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    form = ReportForm() if request.method == "POST" else None
    if form is not None:
        if form.validate_on_submit():
            outcome = perform(save_report, campaign, current_user, form.body.data,
                              success="述职报告已保存。可以接着修改、上传图片和附件；评议开始前都可以修改。")
            if outcome.ok:  # the chair stays in the editor, with the pictures and attachments at hand
                return redirect(url_for(".edit", campaign_id=campaign.id))
            return _render_edit(campaign, outcome.status, form=form)
        return _render_edit(campaign, 400, form=form)
    return _render_edit(campaign)


@bp.route("/campaigns/<int:campaign_id>/report/images", methods=["POST"])
def upload_images(campaign_id):
    campaign = _editable_campaign(campaign_id)
    form = ImagesForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _render_edit(campaign, 400, images_form=form)
    if refused := _save_text_first(campaign):
        return refused
    files = [(f.stream, f.filename) for f in form.images.data or [] if getattr(f, "filename", None)]
    outcome = perform(add_images, campaign, current_user, files, form.caption.data,
                      success=f"已上传 {len(files)} 张图片。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status, images_form=form)
    return _back_to_editor(campaign, "images")


@bp.route("/campaigns/<int:campaign_id>/report/video", methods=["POST"])
def upload_video(campaign_id):
    campaign = _editable_campaign(campaign_id)
    form = VideoForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _render_edit(campaign, 400, video_form=form)
    if refused := _save_text_first(campaign):
        return refused
    video = form.video.data
    outcome = perform(set_video, campaign, current_user, video.stream, video.filename, success="视频已上传。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status, video_form=form)
    return _back_to_editor(campaign, "video")


@bp.route("/campaigns/<int:campaign_id>/report/attachments", methods=["POST"])
def upload_attachment(campaign_id):
    campaign = _editable_campaign(campaign_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _render_edit(campaign, 400, attachment_form=form)
    if refused := _save_text_first(campaign):
        return refused
    attachment = form.attachment.data
    outcome = perform(add_attachment, campaign, current_user, attachment.stream, attachment.filename,
                      success="附件已上传。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status, attachment_form=form)
    return _back_to_editor(campaign, "attachments")


def _own_file(campaign, file_id):
    file = get_or_404(ReportFile, file_id)
    require(file.report.campaign_id == campaign.id and file.removed_at is None)
    return file


@bp.route("/campaigns/<int:campaign_id>/report/files/<int:file_id>/remove", methods=["POST"])
def remove(campaign_id, file_id):
    campaign = _editable_campaign(campaign_id)
    file = _own_file(campaign, file_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if refused := _save_text_first(campaign):
        return refused
    kind = file.kind
    outcome = perform(remove_file, campaign, current_user, file, success=f"{kind.label}已删除。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status)
    return _back_to_editor(campaign, {"image": "images", "video": "video"}.get(kind.value, "attachments"))


@bp.route("/campaigns/<int:campaign_id>/report/files/<int:file_id>/caption", methods=["POST"])
def caption(campaign_id, file_id):
    campaign = _editable_campaign(campaign_id)
    file = _own_file(campaign, file_id)
    require(file.kind == FileKind.image)
    form = CaptionForm(prefix=f"f{file.id}")
    if not form.validate_on_submit():
        flash_errors(form)
        return _render_edit(campaign, 400)
    if refused := _save_text_first(campaign):
        return refused
    outcome = perform(set_caption, campaign, current_user, file, form.caption.data, success="图片说明已保存。")
    if not outcome.ok:
        return _render_edit(campaign, outcome.status)
    return _back_to_editor(campaign, "images")


@bp.route("/campaigns/<int:campaign_id>/report/files/<int:file_id>")
def file(campaign_id, file_id):
    return _send(campaign_id, file_id, small=False)


@bp.route("/campaigns/<int:campaign_id>/report/files/<int:file_id>/small")
def small(campaign_id, file_id):
    return _send(campaign_id, file_id, small=True)


def _send(campaign_id, file_id, small):
    file = db.session.get(ReportFile, file_id)
    require(file is not None and file.report.campaign_id == campaign_id and file.can_read(current_user))
    key = file.small_key if small else file.key
    require(key is not None)
    attachment = file.kind == FileKind.attachment
    try:
        response = storage().send(key, mimetype=file.mimetype, as_attachment=attachment,
                                  download_name=file.download_name if attachment else None)
    except FileNotFoundError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if not attachment:
        # The bytes under a key never change: let a phone on a slow network keep pictures and video.
        response.headers["Cache-Control"] = "private, max-age=604800"
    return response


@bp.route("/campaigns/<int:campaign_id>/report/versions")
def versions(campaign_id):
    campaign = load_campaign(campaign_id)
    require(campaign.report is not None and campaign.report.can_read_versions(current_user))
    return render_template("duty_reports/versions.html", campaign=campaign, report=campaign.report,
                           versions=versions_of(campaign))


@bp.route("/campaigns/<int:campaign_id>/report/versions/<int:number>")
def version(campaign_id, number):
    campaign = load_campaign(campaign_id)
    require(campaign.report is not None and campaign.report.can_read_versions(current_user))
    chosen = next((v for v in versions_of(campaign) if v.number == number), None)
    require(chosen is not None)
    return render_template("duty_reports/version.html", campaign=campaign, report=campaign.report, version=chosen)
