from flask import Blueprint, Response, render_template
from flask_login import current_user

from evalapp.campaigns.models import CampaignState
from evalapp.campaigns.views import visible_campaign
from evalapp.core.web import require
from evalapp.results.exports import ballots_csv
from evalapp.results.presentation import result_context

bp = Blueprint("results", __name__)
PUBLISHED = (CampaignState.published, CampaignState.archived)


def published_campaign(campaign_id):
    """Return a campaign whose result the current account may read (published, and visible)."""
    campaign = visible_campaign(campaign_id)
    require(campaign.state in PUBLISHED and campaign.result is not None)
    return campaign


@bp.route("/campaigns/<int:campaign_id>/ballots.csv")
def ballots_export(campaign_id):
    campaign = published_campaign(campaign_id)
    require(campaign.can_manage(current_user))
    return Response(ballots_csv(campaign), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=ballots-{campaign.id}.csv"})


@bp.route("/campaigns/<int:campaign_id>/result")
def show(campaign_id):
    campaign = published_campaign(campaign_id)
    runs_it = campaign.can_manage(current_user) or campaign.is_chaired_by(current_user)
    return render_template("results/show.html", **result_context(campaign, include_texts=runs_it),
                           can_download=runs_it, can_export=campaign.can_manage(current_user))
