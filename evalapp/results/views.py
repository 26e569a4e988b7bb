from flask import Blueprint, Response, render_template
from flask_login import current_user

from evalapp.campaigns.models import RESULT_STATES
from evalapp.campaigns.views import visible_campaign
from evalapp.core.web import require
from evalapp.results.exports import ballots_csv, ballots_xlsx, tally_csv, tally_xlsx
from evalapp.results.integrity import integrity_report
from evalapp.results.presentation import result_context

bp = Blueprint("results", __name__)


def published_campaign(campaign_id):
    """Return a campaign whose result the current account may read (published, and visible)."""
    campaign = visible_campaign(campaign_id)
    require(campaign.state in RESULT_STATES and campaign.result is not None)
    return campaign


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body, mimetype, filename):
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/campaigns/<int:campaign_id>/ballots.<any(csv, xlsx):extension>")
def ballots_export(campaign_id, extension="csv"):
    campaign = published_campaign(campaign_id)
    require(campaign.can_manage(current_user))
    if extension == "xlsx":
        return _download(ballots_xlsx(campaign), XLSX, f"ballots-{campaign.id}.xlsx")
    return _download(ballots_csv(campaign), "text/csv", f"ballots-{campaign.id}.csv")


@bp.route("/campaigns/<int:campaign_id>/tally.<any(csv, xlsx):extension>")
def tally_export(campaign_id, extension):
    campaign = published_campaign(campaign_id)
    require(campaign.can_manage(current_user) or campaign.is_chaired_by(current_user))
    if extension == "xlsx":
        return _download(tally_xlsx(campaign), XLSX, f"tally-{campaign.id}.xlsx")
    return _download(tally_csv(campaign), "text/csv", f"tally-{campaign.id}.csv")


@bp.route("/campaigns/<int:campaign_id>/result")
def show(campaign_id):
    campaign = published_campaign(campaign_id)
    runs_it = campaign.can_manage(current_user) or campaign.is_chaired_by(current_user)
    manages = campaign.can_manage(current_user)
    return render_template("results/show.html", **result_context(campaign, include_texts=runs_it),
                           can_download=runs_it, can_export=manages,
                           integrity=integrity_report(campaign) if manages else None)
