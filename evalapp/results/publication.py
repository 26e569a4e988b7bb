"""Counting a large result as a background job (a PublicationJob): the officer's click returns at once.

Closing a campaign counts its result in the same transaction (results.listeners); from
COUNT_IN_BACKGROUND_FROM ballots on, the officers' 统计结果 button asks for it here instead, and a
job counts it as that officer would have. Either way the result stays with the officers until they
publish it. The same button starts a failed or stalled count again (core.job_records.start_again).
"""
import logging

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import latest_job, start_again
from evalapp.results.models import PublicationJob, PublicationStage
from evalapp.results.operations import freeze_result
from evalapp.voting.operations import ballots_cast

logger = logging.getLogger(__name__)

#: From this many ballots on, counting runs as a background job (a million take about 16 s).
COUNT_IN_BACKGROUND_FROM = 20_000
COUNT_FAILED = "统计结果时出错，结果没有统计出来。请重新点击“统计结果”；如果再次失败，请联系系统管理员。"
KIND = PublicationJob.__mapper_args__["polymorphic_identity"]


def counts_in_background(campaign):
    return ballots_cast(campaign) >= COUNT_IN_BACKGROUND_FROM


def counting_of(campaign):
    """The campaign's latest background count, or None."""
    return latest_job(campaign, KIND)


def count_result(campaign, actor):
    """Count the result of a closed campaign now, for its officers (a small one, or one whose count failed)."""
    _check_countable(campaign, actor)
    return freeze_result(campaign, actor)


def _check_countable(campaign, actor):
    if not campaign.can_manage(actor):
        raise Refused("无权管理该活动。", 403)
    if campaign.state != CampaignState.closed:
        raise Refused("只有已截止投票的活动才能统计结果。")
    if campaign.result is not None:
        raise Refused("该活动的结果已经统计。")


def request_count(campaign, actor):
    """Ask for the result of `campaign` to be counted by a job; return the job (the last one again if it
    failed or stalled). The caller commits, then runs `run_count`."""
    _check_countable(campaign, actor)
    job = counting_of(campaign)
    if job is not None and job.state.active and not job.stalled:
        raise Refused("结果正在统计中，请稍候。")
    if job is not None and job.may_start_again:
        start_again(job, actor, PublicationStage.queued)
        job.created_by = actor
    else:
        job = PublicationJob(subject=campaign, created_by=actor, stage=PublicationStage.queued)
        db.session.add(job)
        db.session.flush()
    audit.record("campaign.count_requested", campaign, actor=actor, job=job.id, attempt=job.attempts)
    return job


def run_count(job_id):
    """The job: count the result as the officer who asked would have; on failure, say so on the campaign page."""
    job = db.session.get(PublicationJob, job_id)
    if job is None or job.stage != PublicationStage.queued or job.created_by is None:
        return
    campaign, actor = db.session.get(Campaign, job.subject_id), job.created_by
    job.stage = PublicationStage.counting
    db.session.commit()
    try:
        _check_countable(campaign, actor)
        freeze_result(campaign, actor)
        job.stage = PublicationStage.counted
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if not isinstance(error, Refused):
            logger.exception("counting campaign %s (job %s) failed", job.subject_id, job_id)
        job = db.session.get(PublicationJob, job_id)
        job.stage = PublicationStage.failed
        job.message = error.message if isinstance(error, Refused) else COUNT_FAILED
        db.session.commit()
