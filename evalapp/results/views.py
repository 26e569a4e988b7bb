from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from evalapp.campaigns.loading import load_campaign, load_published_campaign
from evalapp.campaigns.models import Campaign
from evalapp.campaigns.operations import ACTIONS
from evalapp.campaigns.operations import publish as publish_campaign
from evalapp.core.downloads import content_disposition
from evalapp.core.forms import ActionForm
from evalapp.core.jobs import run_in_background
from evalapp.core.web import perform, require
from evalapp.results.exports import ballots_csv, ballots_xlsx, tally_csv, tally_xlsx
from evalapp.results.integrity import integrity_report
from evalapp.results.presentation import result_context
from evalapp.results.publication import publishes_in_background, request_publish, run_publish

bp = Blueprint("results", __name__)


@bp.route("/campaigns/<int:campaign_id>/actions/publish", methods=["POST"])
def publish(campaign_id):
    """The officer's 统计并公布结果 (the campaign page's button): at once, or as a job for a large result."""
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    if not ActionForm().validate_on_submit():
        abort(400)
    if publishes_in_background(campaign):
        outcome = perform(request_publish, campaign, current_user,
                          success="正在统计并公布结果，完成后本页会显示结果，可先离开本页。")
        if outcome.ok:
            run_in_background(current_app._get_current_object(), run_publish, outcome.value.id)
    else:
        perform(publish_campaign, campaign, current_user, success=f"已完成：{ACTIONS['publish'][1]}。")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body, mimetype, filename):
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": content_disposition(filename)})


@bp.route("/campaigns/<int:campaign_id>/ballots.<any(csv, xlsx):extension>")
def ballots_export(campaign_id, extension="csv"):
    campaign = load_published_campaign(campaign_id)
    require(campaign.can_manage(current_user))
    if extension == "xlsx":
        return _download(ballots_xlsx(campaign), XLSX, f"ballots-{campaign.id}.xlsx")
    return _download(ballots_csv(campaign), "text/csv", f"ballots-{campaign.id}.csv")


@bp.route("/campaigns/<int:campaign_id>/tally.<any(csv, xlsx):extension>")
def tally_export(campaign_id, extension):
    campaign = load_published_campaign(campaign_id)
    require(campaign.can_see_internals(current_user))
    if extension == "xlsx":
        return _download(tally_xlsx(campaign), XLSX, f"tally-{campaign.id}.xlsx")
    return _download(tally_csv(campaign), "text/csv", f"tally-{campaign.id}.csv")


@bp.route("/campaigns/<int:campaign_id>/result")
def show(campaign_id):
    campaign = load_published_campaign(campaign_id)
    internals = campaign.can_see_internals(current_user)
    manages = campaign.can_manage(current_user)
    return render_template("results/show.html", **result_context(campaign, include_texts=internals),
                           can_download=internals, can_export=manages,
                           integrity=integrity_report(campaign) if manages else None)
