from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from evalapp.campaigns.forms import CampaignForm, ReportForm
from evalapp.campaigns.models import (
    Campaign,
    CampaignState,
    ElectorateScope,
    SubjectKind,
)
from evalapp.campaigns.operations import (
    ACTIONS,
    apply_schedule,
    apply_schedules,
    available_actions,
    campaigns_for,
    create_campaign,
    save_report,
)
from evalapp.core.db import db
from evalapp.core.forms import ActionForm, choices
from evalapp.core.qr import qr_svg
from evalapp.core.timeutil import from_local, utcnow
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.questionnaires.operations import usable_templates
from evalapp.results.operations import turnout
from evalapp.unions.models import Union
from evalapp.voting.operations import has_voted

bp = Blueprint("campaigns", __name__)


def visible_campaign(campaign_id):
    """Return the campaign if the current account may see it; 404 otherwise.

    The schedule is applied first, so that voting opens and closes on time even without cron.
    """
    campaign = get_or_404(Campaign, campaign_id)
    require(campaign.can_view(current_user))
    if apply_schedule(campaign):
        db.session.commit()
    return campaign


@bp.route("/")
def index():
    campaigns = campaigns_for(current_user)
    if apply_schedules(campaigns):
        db.session.commit()
    member = current_user.member
    now = utcnow()
    to_vote = [c for c in campaigns if c.state == CampaignState.open and (c.closes_at is None or c.closes_at > now)
               and member is not None and c.in_electorate(member) and not has_voted(c, member)]
    return render_template("campaigns/index.html", campaigns=campaigns, to_vote=to_vote)


@bp.route("/unions/<int:union_id>/campaigns/new", methods=["GET", "POST"])
def new(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    form = CampaignForm()
    templates = usable_templates(union)
    form.template_id.choices = choices((q.id, f"{q.title}（{len(q.items)} 题）") for q in templates)
    outcome = None
    if form.validate_on_submit():
        template = next((q for q in templates if q.id == form.template_id.data), None)
        if template is None:
            abort(400)
        outcome = perform(
            create_campaign, current_user, union, template, form.title.data, SubjectKind(form.subject_kind.data),
            form.subject_name.data, ElectorateScope(form.electorate_scope.data),
            from_local(form.opens_at.data), from_local(form.closes_at.data), success="评议活动已创建。")
        if outcome.ok:
            return redirect(url_for(".show", campaign_id=outcome.value.id))
    return render_template("campaigns/new.html", form=form, union=union), form_status(form, outcome)


@bp.route("/campaigns/<int:campaign_id>")
def show(campaign_id):
    campaign = visible_campaign(campaign_id)
    member = current_user.member
    sees_turnout = campaign.state in (CampaignState.open, CampaignState.closed) and (
        campaign.can_manage(current_user) or campaign.is_chaired_by(current_user))
    return render_template(
        "campaigns/show.html", campaign=campaign, turnout=turnout(campaign) if sees_turnout else None,
        actions=[(name, ACTIONS[name][1]) for name in available_actions(campaign)] if campaign.can_manage(current_user) else [],
        voted=has_voted(campaign, member), eligible=member is not None and campaign.in_electorate(member))


@bp.route("/campaigns/<int:campaign_id>/actions/<action>", methods=["POST"])
def act(campaign_id, action):
    campaign = visible_campaign(campaign_id)
    require(campaign.can_manage(current_user) and action in ACTIONS)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    operation, label = ACTIONS[action]
    perform(operation, campaign, current_user, success=f"已完成：{label}。")
    return redirect(url_for(".show", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/poster")
def poster(campaign_id):
    """A printable poster with the campaign's QR code, for notice boards and canteens."""
    campaign = visible_campaign(campaign_id)
    require(campaign.can_manage(current_user))
    url = url_for(".show", campaign_id=campaign.id, _external=True)
    return render_template("campaigns/poster.html", campaign=campaign, url=url, qr=Markup(qr_svg(url)))


@bp.route("/campaigns/<int:campaign_id>/report", methods=["GET", "POST"])
def edit_report(campaign_id):
    campaign = visible_campaign(campaign_id)
    require(campaign.is_chaired_by(current_user))
    if request.method == "GET" and campaign.state not in (CampaignState.draft, CampaignState.reporting):
        flash("评议已开始，述职报告已锁定，不能再修改。", "error")
        return redirect(url_for(".show", campaign_id=campaign.id))
    form = ReportForm(obj=campaign.report) if request.method == "GET" else ReportForm()
    outcome = None
    if form.validate_on_submit():
        outcome = perform(save_report, campaign, current_user, form.body.data, success="述职报告已保存。")
        if outcome.ok:
            return redirect(url_for(".show", campaign_id=campaign.id))
    return render_template("campaigns/report_form.html", campaign=campaign, form=form), form_status(form, outcome)
