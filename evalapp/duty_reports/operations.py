"""Writing the duty report: text, images, video, attachments; versions; the lock when voting opens.

Every change checks that the actor chairs the campaign's union and that the campaign is still in
draft or reporting, with the campaign row locked for the rest of the transaction (opening voting
updates that row), so nothing is written once voting has opened. Files are checked completely
before a byte is stored, and stored bytes follow the fate of the transaction (core.uploads).
"""
from flask import current_app
from sqlalchemy import exists, select

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core import audit, uploads
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.storage import delete_on_commit
from evalapp.core.timeutil import utcnow
from evalapp.core.uploads import Kind
from evalapp.duty_reports import richtext
from evalapp.duty_reports.models import SMALL_SIDE, DutyReport, FileKind, ReportFile, ReportVersion, version_files

EDITABLE_STATES = (CampaignState.draft, CampaignState.reporting)
MAX_REPORT_LENGTH = 50_000
#: Markup may add a good deal to the text; beyond this the HTML is refused as unreasonable.
MAX_REPORT_HTML = 400_000
MAX_CAPTION = 200
DEFAULTS = {
    "REPORT_IMAGE_MAX_BYTES": 10 * 1024 * 1024,
    "REPORT_IMAGE_MAX_PIXELS": 40_000_000,
    "REPORT_IMAGE_MAX_COUNT": 30,
    "REPORT_IMAGES_PER_UPLOAD": 10,
    "REPORT_VIDEO_MAX_BYTES": 200 * 1024 * 1024,
    "REPORT_ATTACHMENT_MAX_BYTES": 20 * 1024 * 1024,
    "REPORT_ATTACHMENT_MAX_COUNT": 10,
}
LOCKED = "评议已开始，述职报告已锁定，不能再修改。"


def setting(name):
    return current_app.config.get(name, DEFAULTS[name])


# --- whether it may change ----------------------------------------------------------------------


def is_editable(campaign):
    return campaign.has_report and campaign.state in EDITABLE_STATES


def _check_editable(campaign, actor):
    if not campaign.can_edit_report(actor):
        raise Refused("只有被评议的工会主席可以撰写述职报告。", 403)
    if campaign.state not in EDITABLE_STATES:
        raise Refused(LOCKED)


def _lock(campaign):
    """Hold the campaign row until commit and refuse if voting opened meanwhile.

    Opening is a compare-and-set UPDATE of that row: on PostgreSQL it waits for this transaction,
    or this one sees the new state after waiting for it; either way no edit lands after opening.
    Two edits of the same report (a double-clicked button) also take turns here.
    """
    still_editable = db.session.execute(
        select(Campaign.id).where(Campaign.id == campaign.id, Campaign.state.in_(EDITABLE_STATES))
        .with_for_update()).first()
    if still_editable is None:
        db.session.refresh(campaign)
        raise Refused(LOCKED)
    # What was read before the lock (the report, its files, its version number) may be stale now.
    db.session.expire_all()


def _report_for(campaign):
    if campaign.report is None:
        db.session.add(DutyReport(campaign=campaign, body="", version=0))
        db.session.flush()
    return campaign.report


# --- text and versions --------------------------------------------------------------------------


def save_report(campaign, actor, body):
    """Save the report's text (sanitised HTML); the state it replaces becomes an earlier version."""
    _check_editable(campaign, actor)
    html = richtext.from_input(body)
    length = richtext.text_length(html)
    if not length:
        raise Refused("述职报告不能为空。", 400)
    if length > MAX_REPORT_LENGTH:
        raise Refused(f"述职报告不能超过 {MAX_REPORT_LENGTH} 字（现有 {length} 字）。", 400)
    if len(html) > MAX_REPORT_HTML:
        raise Refused("述职报告的格式过于复杂，请减少格式后再保存。", 400)
    _lock(campaign)
    report = _report_for(campaign)
    if report.version and html == report.body:
        return report  # nothing changed: no new version, nothing to audit
    before = report.body
    if report.version:
        db.session.add(ReportVersion(report=report, number=report.version, body=report.body,
                                     saved_at=report.updated_at, saved_by_id=report.updated_by_id,
                                     files=list(report.current_files)))
    report.body, report.updated_at, report.updated_by_id = html, utcnow(), actor.id
    report.version += 1
    db.session.flush()
    audit.record("report.saved", campaign, actor=actor, version=report.version,
                 before_length=richtext.text_length(before), after_length=length)
    return report


def versions_of(campaign):
    return list(campaign.report.versions) if campaign.report is not None else []


# --- files ---------------------------------------------------------------------------------------


def _store(accepted, report, actor, kind, **fields):
    """Store an accepted upload and return its new ReportFile."""
    file = ReportFile(report=report, key=accepted.store(), kind=kind, mimetype=accepted.mimetype, size=accepted.size,
                      original_name=accepted.name, created_by_id=actor.id, created_at=utcnow(), **fields)
    db.session.add(file)
    return file


def _audit_added(campaign, actor, file):
    audit.record("report.file_added", campaign, actor=actor, file_id=file.id, kind=file.kind.value,
                 mimetype=file.mimetype, size=file.size, name=file.original_name)


def add_images(campaign, actor, uploaded, caption=""):
    """Add images: `uploaded` is a list of (stream, file name). All are checked before any is stored."""
    _check_editable(campaign, actor)
    uploaded = [(stream, name) for stream, name in uploaded if stream is not None]
    if not uploaded:
        raise Refused("请选择要上传的图片。", 400)
    if len(uploaded) > setting("REPORT_IMAGES_PER_UPLOAD"):
        raise Refused(f"每次最多上传 {setting('REPORT_IMAGES_PER_UPLOAD')} 张图片。", 400)
    _check_room(campaign, FileKind.image, len(uploaded))
    caption = _caption(caption)
    images = [uploads.accept(stream, name, (Kind.image,), max_bytes=setting("REPORT_IMAGE_MAX_BYTES"),
                             max_pixels=setting("REPORT_IMAGE_MAX_PIXELS"), small_side=SMALL_SIDE)
              for stream, name in uploaded]
    _lock(campaign)
    _check_room(campaign, FileKind.image, len(uploaded))
    report = _report_for(campaign)
    files = []
    for image in images:
        file = _store(image, report, actor, FileKind.image, width=image.width, height=image.height, caption=caption,
                      small_key=uploads.store(image.small))
        db.session.flush()
        _audit_added(campaign, actor, file)
        files.append(file)
    return files


def set_video(campaign, actor, stream, name):
    """Add the report's video, replacing the one it had."""
    _check_editable(campaign, actor)
    if stream is None:
        raise Refused("请选择要上传的视频。", 400)
    video = uploads.accept(stream, name, (Kind.video,), max_bytes=setting("REPORT_VIDEO_MAX_BYTES"), quote_name=False)
    _lock(campaign)
    report = _report_for(campaign)
    if report.video is not None:
        _remove(campaign, actor, report.video)
    file = _store(video, report, actor, FileKind.video)
    db.session.flush()
    _audit_added(campaign, actor, file)
    return file


def add_attachment(campaign, actor, stream, name):
    """Add a PDF or DOCX attachment, offered to readers as a download under its (cleaned) name."""
    _check_editable(campaign, actor)
    if stream is None:
        raise Refused("请选择要上传的附件。", 400)
    _check_room(campaign, FileKind.attachment, 1)
    attachment = uploads.accept(stream, name, (Kind.document,), max_bytes=setting("REPORT_ATTACHMENT_MAX_BYTES"))
    _lock(campaign)
    _check_room(campaign, FileKind.attachment, 1)
    report = _report_for(campaign)
    file = _store(attachment, report, actor, FileKind.attachment)
    db.session.flush()
    _audit_added(campaign, actor, file)
    return file


def set_caption(campaign, actor, file, caption):
    _check_editable(campaign, actor)
    file_id = _check_current(campaign, file).id
    caption = _caption(caption)
    _lock(campaign)
    file = _check_current(campaign, db.session.get(ReportFile, file_id))
    before, file.caption = file.caption, caption
    db.session.flush()
    audit.record("report.file_captioned", campaign, actor=actor, file_id=file.id, before=before, after=caption)
    return file


def remove_file(campaign, actor, file):
    """Remove a file from the report while it is editable."""
    _check_editable(campaign, actor)
    file_id = _check_current(campaign, file).id
    _lock(campaign)
    _remove(campaign, actor, _check_current(campaign, db.session.get(ReportFile, file_id)))


def _remove(campaign, actor, file):
    """Delete the file, or only mark it removed when someone other than the chair may have seen it.

    Out of draft the electorate reads the report as it stands, so any file present then is part of
    what it saw, even one uploaded and removed between two text saves (no version lists those);
    and an earlier version refers to its files. Erasing either would leave the record with a hole.
    Only a draft's file that no version shows is deleted, bytes and row. Campaigns never return to
    draft, so the current state tells whether the file was ever out of draft.
    """
    shown_before = db.session.scalar(select(exists().where(version_files.c.file_id == file.id)))
    keep = bool(shown_before) or campaign.state != CampaignState.draft
    details = {"file_id": file.id, "kind": file.kind.value, "name": file.original_name, "kept_for_versions": keep}
    if keep:
        file.removed_at, file.removed_by_id = utcnow(), actor.id
    else:
        for key in (file.key, file.small_key):
            if key:
                delete_on_commit(key)
        db.session.delete(file)
    db.session.flush()
    audit.record("report.file_removed", campaign, actor=actor, **details)


def _check_current(campaign, file):
    """Return `file` if it is one of the report's current files (another request may have removed it)."""
    if file is None or file.report.campaign_id != campaign.id or file.removed_at is not None:
        raise Refused("该文件不存在或已删除。", 404)
    return file


LIMITS = {FileKind.image: ("REPORT_IMAGE_MAX_COUNT", "张图片"), FileKind.attachment: ("REPORT_ATTACHMENT_MAX_COUNT", "个附件")}


def _check_room(campaign, kind, adding):
    setting_name, unit = LIMITS[kind]
    existing = len(campaign.report.current(kind)) if campaign.report is not None else 0
    if existing + adding > setting(setting_name):
        raise Refused(f"每份述职报告最多 {setting(setting_name)} {unit}，已有 {existing} {unit[0]}。", 400)


def _caption(caption):
    caption = " ".join((caption or "").split())
    if len(caption) > MAX_CAPTION:
        raise Refused(f"图片说明不能超过 {MAX_CAPTION} 字。", 400)
    return caption
