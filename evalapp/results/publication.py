"""Publishing a large result as a background job (a PublicationJob): the officer's click returns at once.

Campaigns publish (`evalapp.campaigns.operations.publish`); from PUBLISH_IN_BACKGROUND_FROM ballots
on, the officer's button asks for it here instead, and a job does it as that officer would have.
The same button starts a failed or stalled publication again (core.job_records.start_again).
"""
import logging

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.campaigns.operations import publish
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import latest_job, start_again
from evalapp.results.models import PublicationJob, PublicationStage
from evalapp.voting.operations import ballots_cast

logger = logging.getLogger(__name__)

#: From this many ballots on, publishing runs as a background job (a million take about 16 s).
PUBLISH_IN_BACKGROUND_FROM = 20_000
PUBLISH_FAILED = "统计结果时出错，结果没有公布。请重新点击“统计并公布结果”；如果再次失败，请联系系统管理员。"
KIND = PublicationJob.__mapper_args__["polymorphic_identity"]


def publishes_in_background(campaign):
    return ballots_cast(campaign) >= PUBLISH_IN_BACKGROUND_FROM


def publication_of(campaign):
    """The campaign's latest background publication, or None."""
    return latest_job(campaign, KIND)


def request_publish(campaign, actor):
    """Ask for `campaign` to be published by a job; return the job (the last one again if it failed or stalled).

    The same checks as `publish`, nothing computed yet; the caller commits, then runs `run_publish`.
    """
    if not campaign.can_manage(actor):
        raise Refused("无权管理该活动。", 403)
    if campaign.state != CampaignState.closed:
        raise Refused("只有已截止投票的活动才能公布结果。")
    job = publication_of(campaign)
    if job is not None and job.state.active and not job.stalled:
        raise Refused("结果正在统计中，请稍候。")
    if job is not None and job.may_start_again:
        start_again(job, actor, PublicationStage.queued)
        job.created_by = actor
    else:
        job = PublicationJob(subject=campaign, created_by=actor, stage=PublicationStage.queued)
        db.session.add(job)
        db.session.flush()
    audit.record("campaign.publish_requested", campaign, actor=actor, job=job.id, attempt=job.attempts)
    return job


def run_publish(job_id):
    """The job: publish the campaign as the officer who asked would have; on failure, say so on its page."""
    job = db.session.get(PublicationJob, job_id)
    if job is None or job.stage != PublicationStage.queued or job.created_by is None:
        return
    campaign, actor = db.session.get(Campaign, job.subject_id), job.created_by
    job.stage = PublicationStage.counting
    db.session.commit()
    try:
        publish(campaign, actor)
        job.stage = PublicationStage.published
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if not isinstance(error, Refused):
            logger.exception("publishing campaign %s (job %s) failed", job.subject_id, job_id)
        job = db.session.get(PublicationJob, job_id)
        job.stage = PublicationStage.failed
        job.message = error.message if isinstance(error, Refused) else PUBLISH_FAILED
        db.session.commit()
