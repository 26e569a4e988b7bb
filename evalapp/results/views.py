from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from evalapp.campaigns.loading import load_campaign, load_published_campaign
from evalapp.campaigns.models import RESULT_STATES, Campaign, CampaignState
from evalapp.campaigns.operations import publish as publish_campaign
from evalapp.core.downloads import content_disposition
from evalapp.core.forms import ActionForm
from evalapp.core.jobs import run_in_background
from evalapp.core.web import perform, require
from evalapp.results.exports import ballots_csv, ballots_xlsx, tally_csv, tally_xlsx
from evalapp.results.integrity import integrity_report
from evalapp.results.presentation import result_context
from evalapp.results.publication import count_result, counts_in_background, request_count, run_count
from evalapp.results.summary import plain_summary

bp = Blueprint("results", __name__)


@bp.route("/campaigns/<int:campaign_id>/actions/count", methods=["POST"])
def count(campaign_id):
    """The officer's 统计结果 for a closed campaign not counted at closing: at once, or as a job for a large one."""
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    if not ActionForm().validate_on_submit():
        abort(400)
    if counts_in_background(campaign):
        outcome = perform(request_count, campaign, current_user,
                          success="正在统计结果，完成后本页会显示“评议结果”，可先离开本页。")
        if outcome.ok:
            run_in_background(current_app._get_current_object(), run_count, outcome.value.id)
    else:
        perform(count_result, campaign, current_user,
                success="结果已统计，目前只有管理本活动的干部能看到：请查看评议结果，核对后公布。")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/actions/publish", methods=["POST"])
def publish(campaign_id):
    """The confirmation page's 公布结果: members see the result the officers have seen."""
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    if not ActionForm().validate_on_submit():
        abort(400)
    if perform(publish_campaign, campaign, current_user).ok:
        flash(f"结果已公布，已通知 {campaign.result.turnout} 位参评会员。", "success")
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
    """The published result; before publication, the same page for the campaign's officers only."""
    campaign = load_campaign(campaign_id)
    manages = campaign.can_manage(current_user)
    require(campaign.result is not None and (campaign.state in RESULT_STATES
                                             or campaign.state == CampaignState.closed and manages))
    internals = campaign.can_see_internals(current_user)
    context = result_context(campaign, include_texts=internals)
    return render_template("results/show.html", **context, summary=plain_summary(context),
                           can_download=internals and campaign.state in RESULT_STATES,
                           can_export=manages and campaign.state in RESULT_STATES,
                           preview=campaign.state == CampaignState.closed,
                           integrity=integrity_report(campaign) if manages else None)
