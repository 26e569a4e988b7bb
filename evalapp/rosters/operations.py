"""Starting, applying and abandoning roster imports, and running them as background jobs.

An import's life: uploaded → previewing → previewed → applying → applied, or failed / abandoned;
a failed or stalled import can be started again (with the file chosen anew if it was deleted).
Rows with errors block the apply unless the officer explicitly chooses to skip them; people named
on skipped rows are still counted as present, so nobody is made inactive because of a typo.
"""
import logging
from datetime import timedelta
from pathlib import PurePath

from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import FINISHED, move, start_again
from evalapp.core.timeutil import utcnow
from evalapp.rosters import importer, uploads
from evalapp.rosters.models import ImportJob, ImportStage
from evalapp.rosters.progress import Progress

logger = logging.getLogger(__name__)
#: Files of imports left unfinished this long are deleted.
KEEP_UNFINISHED = timedelta(hours=24)
FAILED = "导入失败，花名册没有任何改变。请稍后重试；若仍失败，请联系管理员。"


def start_import(union, actor, stream, filename, job_class=ImportJob):
    """Store an uploaded file for `union`'s subtree after checking its format (the job class's
    `check_file`); return the job (a roster import, or with `job_class` a union tree import)."""
    if not actor.manages(union):
        raise Refused("无权导入该工会的花名册。" if job_class is ImportJob else "无权导入该工会的下级工会。", 403)
    stored, file_format = _store(stream, union, job_class)
    abandon_forgotten()
    job = job_class(union=union, subject=union, created_by=actor, filename=_display_name(filename),
                    stored_name=stored, file_format=file_format, stage=ImportStage.uploaded)
    db.session.add(job)
    db.session.flush()
    logger.info("roster import %s uploaded for union %s by %s", job.id, union.id, actor.id)
    return job


def retry_import(job, actor, stream=None, filename=None):
    """Start a failed or stalled import again; the caller commits, then runs the stage it returns.

    A stalled import still has its file and repeats its step (the apply checks again that the rosters
    are as previewed). A failed one has had its file deleted: it needs the file again, and starts over
    with a new preview.
    """
    if not job.can_manage(actor):
        raise Refused("无权导入该工会的花名册。", 403)
    if stream is None and job.stored_name is None:
        raise Refused("上传的文件已经删除，请重新选择文件。", 400)
    restart = ImportStage.applying if stream is None and job.stage == ImportStage.applying else ImportStage.uploaded
    start_again(job, actor, restart)
    if stream is not None:
        stored, file_format = _store(stream, job.union, type(job))
        uploads.delete(job.stored_name)
        job.stored_name, job.file_format, job.filename = stored, file_format, _display_name(filename)
        job.report, job.skip_errors, job.applied_by = None, False, None
    logger.info("roster import %s started again (attempt %s) by %s", job.id, job.attempts, actor.id)
    return restart


def _store(stream, union, job_class=ImportJob):
    """Save an uploaded stream and check its format; return (stored name, format), or delete it and refuse."""
    stored = uploads.save(stream)
    try:
        return stored, job_class.check_file(uploads.path_of(stored), union)
    except BaseException:
        uploads.delete(stored)
        raise


def start_local_import(union, path):
    """Create a job for a file on the server (the command line); the file stays where it is."""
    job = ImportJob(union=union, subject=union, filename=_display_name(str(path)), file_format=ImportJob.check_file(path, union),
                    stage=ImportStage.uploaded)
    db.session.add(job)
    db.session.flush()
    return job


def request_apply(job, actor, skip_errors=False):
    """Queue the previewed `job` for applying; the caller commits, then runs `run_apply`."""
    if not job.can_manage(actor):
        raise Refused("无权导入该工会的花名册。", 403)
    counts = job.counts
    if job.stage != ImportStage.previewed:
        raise Refused("只有检查完毕、等待确认的导入才能执行。")
    if counts.get("errors") and not skip_errors:
        raise Refused(f"文件中有 {counts['errors']} 行有错误。请修改后重新上传，或选择跳过有错误的行。", 400)
    if counts.get("rows", 0) - counts.get("errors", 0) <= 0:
        raise Refused("文件中没有可以导入的行。", 400)
    _queue_apply(job, actor.id, skip_errors)
    logger.info("roster import %s queued for applying by %s", job.id, actor.id)
    return job


def queue_local_apply(job, skip_errors=False):
    """Queue a previewed command-line import for applying (the server's operator needs no account)."""
    if job.stage != ImportStage.previewed:
        raise Refused("只有检查完毕、等待确认的导入才能执行。")
    _queue_apply(job, None, skip_errors)
    return job


def _queue_apply(job, actor_id, skip_errors):
    if not move(job, ImportStage.previewed, ImportStage.applying, processed=0, message=None):
        raise Refused("该导入已经开始执行或已结束。")
    job.skip_errors, job.applied_by_id = bool(skip_errors), actor_id


def abandon(job, actor):
    """Abandon an import that is waiting (or stalled) and delete its file."""
    if not job.can_manage(actor):
        raise Refused("无权管理该导入。", 403)
    if job.state.finished:
        raise Refused("该导入已经结束。")
    if job.state.active and not job.stalled:
        raise Refused("导入正在进行，请等待完成。")
    close(job, ImportStage.abandoned, "已放弃，上传的文件已删除。")
    logger.info("roster import %s abandoned by %s", job.id, actor.id)
    return job


def abandon_forgotten(now=None):
    """Abandon imports left unfinished for a day and delete their files; return how many."""
    cutoff = (now or utcnow()) - KEEP_UNFINISHED
    forgotten = db.session.scalars(
        select(ImportJob).where(ImportJob.state.not_in(FINISHED), ImportJob.updated_at < cutoff)).all()
    for job in forgotten:
        close(job, ImportStage.abandoned, "超过 24 小时未完成，已自动放弃，上传的文件已删除。")
    return len(forgotten)


def run_preview(job_id, path=None, echo=None):
    """Background job: check the file of `job_id` and store the report (keeps the file for the apply)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.stage != ImportStage.uploaded:
        logger.warning("roster import %s: nothing to preview", job_id)
        return
    job.stage = ImportStage.previewing
    scope, file_format = importer.Scope.of(job.union), job.file_format
    path = path or uploads.path_of(job.stored_name)
    db.session.commit()
    try:
        report = importer.preview(scope, path, file_format, Progress(job_id, echo))
    except Exception as error:
        fail(job_id, error)
        return
    job = db.session.get(ImportJob, job_id)
    job.stage, job.report = ImportStage.previewed, importer.report_json(report)
    job.processed = job.total = report["counts"]["rows"]
    db.session.commit()


def run_apply(job_id, path=None, echo=None):
    """Background job: apply `job_id`'s file; on any failure nothing is written and the job says why."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.stage != ImportStage.applying:
        logger.warning("roster import %s: nothing to apply", job_id)
        return
    scope, file_format, skip, stored = importer.Scope.of(job.union), job.file_format, job.skip_errors, job.stored_name
    actor, approved = job.applied_by, job.counts
    path = path or uploads.path_of(stored)
    try:
        importer.apply(job_id, scope, path, file_format, Progress(job_id, echo), actor=actor, skip_errors=skip,
                       approved=approved)
    except importer.StaleErrors as stale:
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.stage, job.report = ImportStage.previewed, importer.report_json(stale.report)
        job.message = ("检查之后花名册有了变化，导入结果将与您确认时不同，" if stale.changed
                       else "检查之后花名册有了变化，出现了新的错误，") + "没有导入任何数据。请查看新的检查结果后再确认。"
        db.session.commit()
        return
    except Exception as error:
        fail(job_id, error)
        return
    uploads.delete(stored)


def fail(job_id, error):
    """Record the failure on the job (after rolling its transaction back) and delete its file."""
    db.session.rollback()
    if isinstance(error, Refused):
        message = error.message
        logger.info("roster import %s refused: %s", job_id, message)
    else:
        message = FAILED
        logger.error("roster import %s failed", job_id, exc_info=error)
    job = db.session.get(ImportJob, job_id)
    close(job, ImportStage.failed, message)
    db.session.commit()


def close(job, stage, message):
    uploads.delete(job.stored_name)
    job.stage, job.message, job.stored_name = stage, message, None


def _display_name(filename):
    """Return the file's own name (no folders), shortened for display."""
    return PurePath((filename or "").replace("\\", "/")).name[:200] or "花名册"
