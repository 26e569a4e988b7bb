"""The one place that loads a campaign for a request.

Every page about a campaign (its own, the vote, the report, suggestions, results) finds it here:
404 for a campaign that does not exist or that the account may not see, so that nobody learns
which ids exist. Loading also catches up the campaign's schedule: voting opens and closes on its
planned time even on an installation where no clock runs (the embedded default has no worker),
because whoever looks first moves it, and that change is committed before the page is built.
"""
from flask_login import current_user

from evalapp.campaigns.models import RESULT_STATES, Campaign
from evalapp.campaigns.operations import apply_schedule
from evalapp.core.db import db
from evalapp.core.web import get_or_404, require


def load_campaign(campaign_id, may=Campaign.can_view):
    """Return the campaign if `may(campaign, current account)`, with its schedule caught up; else 404."""
    campaign = get_or_404(Campaign, campaign_id)
    require(may(campaign, current_user))
    if apply_schedule(campaign):
        db.session.commit()
    return campaign


def load_published_campaign(campaign_id):
    """Return a campaign whose published result the current account may read; else 404."""
    campaign = load_campaign(campaign_id)
    require(campaign.state in RESULT_STATES and campaign.result is not None)
    return campaign
