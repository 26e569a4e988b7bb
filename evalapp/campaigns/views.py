import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from evalapp.campaigns.batches import (
    BULK_ACTIONS,
    BatchSpec,
    apply_to_batch,
    bulk_candidates,
    create_batch,
    describe_rule,
    select_unions,
)
from evalapp.campaigns.credentials import confirmation_key, held_invitations, recent_phone_changes
from evalapp.campaigns.forms import BatchForm, CampaignForm
from evalapp.campaigns.loading import load_campaign
from evalapp.campaigns.models import (
    BatchRule,
    Campaign,
    CampaignBatch,
    CampaignState,
    ElectorateScope,
    SubjectKind,
)
from evalapp.campaigns.operations import (
    ACTIONS,
    CONFIRMED_ACTIONS,
    apply_schedules,
    available_actions,
    campaigns_for,
    create_campaign,
    electorate_if_opened_now,
)
from evalapp.campaigns.signals import batch_page, campaign_list, campaign_page, home_page
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.forms import ActionForm, choices
from evalapp.core.hooks import page_values
from evalapp.core.qr import qr_svg
from evalapp.core.timeutil import from_local, utcnow
from evalapp.core.web import form_status, get_or_404, perform, public_url_for, require
from evalapp.questionnaires.operations import usable_templates
from evalapp.unions.invitations import confirm_invitations, mask_phone
from evalapp.unions.models import CHILD_KINDS, Union
from evalapp.unions.operations import tree_is_empty

bp = Blueprint("campaigns", __name__)


@bp.route("/")
def index():
    if current_user.is_admin and tree_is_empty():
        return redirect(url_for("unions.first_run"))  # a fresh install: first the top union
    campaigns = campaigns_for(current_user)
    if apply_schedules(campaigns):
        db.session.commit()
    member = current_user.member
    now = utcnow()
    voted_in = page_values(campaign_list, campaigns, account=current_user).get("voted_in", set())
    to_vote = [c for c in campaigns if c.state == CampaignState.open and (c.closes_at is None or c.closes_at > now)
               and member is not None and c.in_electorate(member) and c.id not in voted_in]
    return render_template("campaigns/index.html", campaigns=campaigns, to_vote=to_vote,
                           **page_values(home_page, current_user._get_current_object()))


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
    campaign = load_campaign(campaign_id)
    member = current_user.member
    return render_template(
        "campaigns/show.html", campaign=campaign, confirmed=CONFIRMED_ACTIONS,
        actions=[(name, ACTIONS[name][1]) for name in available_actions(campaign)] if campaign.can_manage(current_user) else [],
        eligible=member is not None and campaign.in_electorate(member),
        **page_values(campaign_page, campaign, account=current_user))


@bp.route("/campaigns/<int:campaign_id>/actions/<action>", methods=["GET"])
def confirm(campaign_id, action):
    """What an action that cannot be undone will do, and the button that does it (posting to this URL)."""
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    require(action in CONFIRMED_ACTIONS)
    if action not in available_actions(campaign):
        flash(f"现在不能{ACTIONS[action][1]}：活动已经是“{campaign.state.label}”状态。", "error")
        return redirect(url_for(".show", campaign_id=campaign.id))
    return render_template("campaigns/confirm.html", campaign=campaign, action=action, label=ACTIONS[action][1],
                           electorate=electorate_if_opened_now(campaign) if action == "open" else None,
                           **page_values(campaign_page, campaign, account=current_user))


@bp.route("/campaigns/<int:campaign_id>/actions/<action>", methods=["POST"])
def act(campaign_id, action):
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    require(action in ACTIONS and ACTIONS[action][0] is not None)
    if not ActionForm().validate_on_submit():
        abort(400)
    if perform(ACTIONS[action][0], campaign, current_user).ok:
        flash(what_happened(campaign, action), "success")
    return redirect(url_for(".show", campaign_id=campaign.id))


def what_happened(campaign, action):
    """The flash after an action: what changed, not the button's words again."""
    if action == "open":
        return f"评议已开始，共 {campaign.electorate_size} 人参评，已通知他们。"
    if action == "close" and campaign.result is not None:
        return (f"评议已截止，共 {campaign.result.turnout} 人参评。结果已统计，目前只有管理本活动的干部能看到："
                "请查看评议结果，核对后公布。")
    if action == "close":
        return "评议已截止。选票较多，请点击“统计结果”，统计完成后查看并公布。"
    if action == "start_reporting":
        return "活动已发布，已通知主席提交述职报告。"
    return "活动已归档，不能再修改；结果和整改事项仍可查看。"


@bp.route("/campaigns/<int:campaign_id>/poster")
def poster(campaign_id):
    """A printable poster with the campaign's QR code, for notice boards and canteens."""
    campaign = load_campaign(campaign_id, Campaign.can_manage)
    url = public_url_for(".show", campaign_id=campaign.id)  # never the Host header's site
    # SVG drawn by segno from our own URL.
    return render_template("campaigns/poster.html", campaign=campaign, url=url, qr=Markup(qr_svg(url)))  # nosec B704


# Batches ---------------------------------------------------------------------------------------

def _kinds_within(kind):
    """Return `kind` and every kind that may sit below it, top down."""
    found, queue = [], [kind]
    while queue:
        current = queue.pop(0)
        if current not in found:
            found.append(current)
            queue.extend(CHILD_KINDS[current])
    return found


def _batch_form(union, templates):
    form = BatchForm()
    form.template_id.choices = choices((q.id, f"{q.title}（{len(q.items)} 题）") for q in templates)
    form.kind.choices = choices((k.value, k.label) for k in _kinds_within(union.kind))
    form.union_ids.choices = choices((child.id, child.name) for child in union.children)
    return form


def _batch_spec(form, templates):
    rule = BatchRule(form.rule.data)
    if rule == BatchRule.kind:
        params = {"kind": form.kind.data}
    elif rule == BatchRule.sector:
        params = {"sector": form.sector.data, "min_members": form.min_members.data or 0}
    else:
        params = {"union_ids": form.union_ids.data or []}
    return BatchSpec(
        title=form.title.data, template=next((q for q in templates if q.id == form.template_id.data), None),
        rule=rule, params=params, subject_kind=SubjectKind(form.subject_kind.data),
        electorate_scope=ElectorateScope(form.electorate_scope.data), title_pattern=form.title_pattern.data,
        opens_at=from_local(form.opens_at.data), closes_at=from_local(form.closes_at.data))


@bp.route("/unions/<int:union_id>/batches/new", methods=["GET", "POST"])
def new_batch(union_id):
    """Pick the rule, preview which unions get a campaign and which are skipped, then confirm."""
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    templates = usable_templates(union)
    form = _batch_form(union, templates)
    selection, status = None, 200
    if form.validate_on_submit():
        spec = _batch_spec(form, templates)
        if request.form.get("confirm"):
            outcome = perform(create_batch, current_user, union, spec, form.token.data, form.selection.data)
            if outcome.ok:
                batch, created = outcome.value
                flash(f"已创建批次“{batch.title}”，共 {len(batch.campaigns)} 个评议活动。" if created
                      else "该批次已经创建，重复提交没有再次创建。", "success" if created else "info")
                return redirect(url_for(".batch", batch_id=batch.id))
            status = outcome.status
            if status == 409:  # the qualifying unions changed: show the new list to confirm instead
                try:
                    selection = select_unions(current_user, union, spec)
                except Refused:
                    selection = None
        else:
            outcome = perform(select_unions, current_user, union, spec)
            selection, status = (outcome.value, 200) if outcome.ok else (None, outcome.status)
        if selection is not None:
            form.token.data, form.selection.data = secrets.token_hex(16), selection.digest
    elif form.is_submitted():
        status = 400
    return render_template("campaigns/batch_new.html", form=form, union=union, selection=selection,
                           has_templates=bool(templates)), status


def _managed_batch(batch_id):
    batch = get_or_404(CampaignBatch, batch_id)
    require(batch.can_manage(current_user))
    return batch


@bp.route("/batches/<int:batch_id>")
def batch(batch_id):
    batch = _managed_batch(batch_id)
    campaigns = list(db.session.scalars(select(Campaign).where(Campaign.batch_id == batch.id)
                                        .options(joinedload(Campaign.union)).order_by(Campaign.id)))
    if apply_schedules(campaigns):
        db.session.commit()
    campaigns.sort(key=lambda c: c.union.name)
    states = {}
    for campaign in campaigns:
        states[campaign.state] = states.get(campaign.state, 0) + 1
    bulk = [(action, ACTIONS[action][1], len(fits)) for action, fits in bulk_candidates(batch).items()]
    started = [c for c in campaigns if c.electorate_size is not None]
    return render_template("campaigns/batch_show.html", batch=batch, campaigns=campaigns,
                           states=[(state, states[state]) for state in CampaignState if state in states],
                           bulk=bulk, rule=describe_rule(batch), started=len(started),
                           **page_values(batch_page, batch, account=current_user, campaigns=campaigns))


@bp.route("/batches/<int:batch_id>/actions/<action>", methods=["POST"])
def batch_act(batch_id, action):
    batch = _managed_batch(batch_id)
    require(action in BULK_ACTIONS)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = perform(apply_to_batch, batch, action, current_user)
    if outcome.ok:
        result, label = outcome.value, ACTIONS[action][1]
        flash(f"“{label}”：{result.changed} 个活动已完成。", "success")
        for message, count in result.refused.most_common():
            flash(f"{count} 个活动未能执行：{message}", "error")
    return redirect(url_for(".batch", batch_id=batch.id))


@bp.route("/confirmations", methods=["GET", "POST"])
def confirmations():
    """Codes that wait for a second person; confirming shows the second codes to tell the members."""
    require(current_user.is_staff)
    held = held_invitations(current_user)
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        # Each box names the code as the page showed it: one printed again since is not confirmed unseen.
        wanted = set(request.form.getlist("invitation"))
        chosen = [invitation for invitation in held if confirmation_key(invitation) in wanted]
        outcome = perform(confirm_invitations, current_user._get_current_object(), chosen,
                          success=f"已确认 {len(chosen)} 个激活码。")
        if outcome.ok:
            return render_template("campaigns/confirmed.html", confirmed=outcome.value,
                                   phone_changes=recent_phone_changes([invitation for invitation, _code in outcome.value]))
    return render_template("campaigns/confirmations.html", held=held, mask_phone=mask_phone,
                           confirmation_key=confirmation_key, phone_changes=recent_phone_changes(held))
