"""The union tree import from the web: a job with the steps of a roster import.

Upload (the file is kept), preview (`run_tree_preview`: the plan's counts and row errors), the
officer's confirmation (`request_tree_apply`, with or without marking the unions the file no longer
lists as dissolved), apply (`run_tree_apply`: planned again from the file, and written only if it
still matches what was confirmed). Planning and writing 7,000 unions take a few seconds, so each
step is one background job; the page refreshes itself meanwhile.
"""
import json
import logging

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import move
from evalapp.rosters import uploads
from evalapp.rosters.models import ImportStage, UnionTreeImport
from evalapp.rosters.operations import fail
from evalapp.rosters.union_tree import apply_plan, changes_anything, fingerprint, plan_import

logger = logging.getLogger(__name__)


def report_json(plan):
    return json.dumps({"counts": plan.counts, "errors": plan.errors.entries,
                       "errors_truncated": len(plan.errors.entries) < plan.errors.rows,
                       "changes": changes_anything(plan), "fingerprint": fingerprint(plan)}, ensure_ascii=False)


def run_tree_preview(job_id):
    """Background job: plan the file of `job_id` against the tree and keep the report."""
    job = db.session.get(UnionTreeImport, job_id)
    if job is None or job.stage != ImportStage.uploaded:
        logger.warning("union tree import %s: nothing to preview", job_id)
        return
    job.stage = ImportStage.previewing
    root, path = job.union, uploads.path_of(job.stored_name)
    db.session.commit()
    try:
        plan = plan_import(path, root)
    except Exception as error:
        fail(job_id, error)
        return
    job = db.session.get(UnionTreeImport, job_id)
    job.stage, job.report = ImportStage.previewed, report_json(plan)
    job.processed = job.total = plan.counts["rows"]
    db.session.commit()


def request_tree_apply(job, actor, dissolve_missing=False):
    """Queue the previewed `job` for applying; the caller commits, then runs `run_tree_apply`."""
    if not job.can_manage(actor):
        raise Refused("无权导入该工会的下级工会。", 403)
    if job.stage != ImportStage.previewed:
        raise Refused("只有检查完毕、等待确认的导入才能执行。")
    counts = job.counts
    if counts.get("errors"):
        raise Refused(f"文件中有 {counts['errors']} 行有错误，请修改后重新上传。", 400)
    if not job.report_data.get("changes") and not (dissolve_missing and counts.get("to_dissolve")):
        raise Refused("文件与现有的工会组织架构一致，没有需要导入的变化。", 400)
    if not move(job, ImportStage.previewed, ImportStage.applying, processed=0, message=None):
        raise Refused("该导入已经开始执行或已结束。")
    job.applied_by_id, job.dissolve_missing = actor.id, bool(dissolve_missing)
    logger.info("union tree import %s queued for applying by %s", job.id, actor.id)
    return job


def run_tree_apply(job_id):
    """Background job: plan the file again and write it, if it still says what the officer confirmed."""
    job = db.session.get(UnionTreeImport, job_id)
    if job is None or job.stage != ImportStage.applying:
        logger.warning("union tree import %s: nothing to apply", job_id)
        return
    root, stored, actor, approved = job.union, job.stored_name, job.applied_by, job.report_data.get("fingerprint")
    try:
        plan = plan_import(uploads.path_of(stored), root, dissolve_missing=job.dissolve_missing)
        if plan.errors.rows or fingerprint(plan) != approved:
            db.session.rollback()
            job = db.session.get(UnionTreeImport, job_id)
            job.stage, job.report = ImportStage.previewed, report_json(plan)
            job.message = "检查之后工会组织架构有了变化，导入结果将与您确认时不同，没有导入任何数据。请查看新的检查结果后再确认。"
            db.session.commit()
            return
        apply_plan(plan, actor=actor)
        job = db.session.get(UnionTreeImport, job_id)
        job.stage, job.processed, job.stored_name = ImportStage.applied, plan.counts["rows"], None
        job.message = "已导入。"
        db.session.commit()
    except Exception as error:
        fail(job_id, error)
        return
    uploads.delete(stored)
