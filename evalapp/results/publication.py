"""Publishing a large result as a background job: the officer's click returns at once.

Campaigns publish (`evalapp.campaigns.operations.publish`); from PUBLISH_IN_BACKGROUND_FROM ballots
on, the officer's button asks for it here instead, and a job does it as that officer would have.
"""
import logging

from evalapp.accounts.models import Account
from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.campaigns.operations import publish, publishing
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.voting.operations import ballots_cast

logger = logging.getLogger(__name__)

#: From this many ballots on, publishing runs as a background job (a million take about 16 s).
PUBLISH_IN_BACKGROUND_FROM = 20_000
PUBLISH_FAILED = "统计结果时出错，结果没有公布。请重新点击“统计并公布结果”；如果再次失败，请联系系统管理员。"


def publishes_in_background(campaign):
    return ballots_cast(campaign) >= PUBLISH_IN_BACKGROUND_FROM


def request_publish(campaign, actor):
    """Ask for `campaign` to be published by a job: the same checks as `publish`, nothing computed yet."""
    if campaign.state != CampaignState.closed:
        raise Refused("只有已截止投票的活动才能公布结果。")
    if publishing(campaign):
        raise Refused("结果正在统计中，请稍候。")
    campaign.publish_requested_at = utcnow()
    campaign.publish_failure = None
    audit.record("campaign.publish_requested", campaign, actor=actor)


def run_publish(campaign_id, actor_id):
    """The job: publish the campaign as `actor` would have; on failure, say so on the campaign's page."""
    campaign, actor = db.session.get(Campaign, campaign_id), db.session.get(Account, actor_id)
    if campaign is None or actor is None or campaign.publish_requested_at is None:
        return
    try:
        publish(campaign, actor)
        campaign.publish_requested_at = None
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if not isinstance(error, Refused):
            logger.exception("publishing campaign %s failed", campaign_id)
        campaign = db.session.get(Campaign, campaign_id)
        campaign.publish_requested_at = None
        campaign.publish_failure = error.message if isinstance(error, Refused) else PUBLISH_FAILED
        db.session.commit()
