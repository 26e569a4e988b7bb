from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import false, select
from sqlalchemy.orm import selectinload

from evalapp.campaigns.loading import load_campaign
from evalapp.campaigns.models import Campaign
from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.web import flash_errors, form_status, get_or_404, page_number, perform, require
from evalapp.suggestions.forms import FlagForm, HideForm, ResponseForm, SuggestionForm
from evalapp.suggestions.models import Suggestion, SuggestionState
from evalapp.suggestions.operations import (
    add_suggestion,
    flag,
    hide,
    respond,
    staff_scope,
    state_counts,
    suggestion_list,
    unhide,
)
from evalapp.unions.models import Union
from evalapp.unions.operations import unions_to_filter_by

bp = Blueprint("suggestions", __name__)
PAGE_SIZE = 20
#: How many unions or campaigns a filter list offers at most; beyond that, filter from the rows' links.
CHOICES_LIMIT = 300


def _state_filter():
    state = request.args.get("state") or None
    if state is not None and state not in SuggestionState.__members__:
        abort(404)
    return state


def _page(query):
    page = page_number(request.args.get("page", 1, type=int))
    return db.paginate(query.options(selectinload(Suggestion.rectification)), page=page, per_page=PAGE_SIZE,
                       error_out=False)


def _card_forms():
    """The forms of the shared suggestion card template."""
    return {
        "response_form": ResponseForm(), "hide_form": HideForm(), "action_form": ActionForm(),
        "flag_form": lambda s: FlagForm(data={"problem": s.body}),
    }


@bp.route("/campaigns/<int:campaign_id>/suggestions", methods=["GET", "POST"])
def index(campaign_id):
    campaign = load_campaign(campaign_id)
    form, outcome = SuggestionForm(), None
    if form.validate_on_submit():
        outcome = perform(add_suggestion, campaign, current_user, form.body.data, form.named.data,
                          success="意见建议已提交，收到回应后您会在这里和“消息”中看到。")
        if outcome.ok:
            return redirect(url_for(".index", campaign_id=campaign.id))
    staff = campaign.can_see_internals(current_user)
    state = _state_filter() if staff else None
    suggestions = _page(suggestion_list(current_user, mine=not staff, state=state, campaign=campaign))
    return render_template(
        "suggestions/index.html", campaign=campaign, form=form, can_suggest=campaign.can_suggest(current_user),
        suggestions=suggestions, staff=staff, state=state,
        counts=state_counts(current_user, campaign=campaign) if staff else None,
        **_card_forms()), form_status(form, outcome)


@bp.route("/suggestions")
def overview():
    """Every suggestion the account reads as chair or officer, filtered; or, for members, their own."""
    staff = current_user.holds_a_post
    mine = not staff or request.args.get("mine") == "1"
    state = _state_filter()
    union = campaign = None
    if request.args.get("union"):
        union = get_or_404(Union, request.args.get("union", type=int) or 0)
        require(not mine and (current_user.manages(union) or current_user.chairs(union)))
    if request.args.get("campaign"):
        campaign = get_or_404(Campaign, request.args.get("campaign", type=int) or 0)
        require(campaign.can_view(current_user) if mine else campaign.can_see_internals(current_user))
    suggestions = _page(suggestion_list(current_user, mine=mine, state=state, campaign=campaign, union=union))
    return render_template(
        "suggestions/overview.html", suggestions=suggestions, staff=staff, mine=mine, state=state, union=union,
        campaign=campaign, counts=state_counts(current_user, mine=mine, campaign=campaign, union=union),
        union_choices=[] if mine else unions_to_filter_by(current_user, union, with_chaired=True),
        campaign_choices=_campaign_choices(mine, union, campaign),
        **_card_forms())


def _campaign_choices(mine, union, selected):
    """Campaigns with suggestions under the current filters, newest first."""
    if mine:
        # An account without a member record has written nothing: no campaign to offer.
        member = current_user.member
        own = Suggestion.member_id == member.id if member is not None else false()
    else:
        own = Suggestion.id.is_not(None)
    with_suggestions = select(Suggestion.campaign_id).where(own)
    query = (select(Campaign).join(Union, Union.id == Campaign.union_id)
             .where(Campaign.id.in_(with_suggestions)).order_by(Campaign.id.desc()).limit(CHOICES_LIMIT))
    if not mine:
        query = query.where(staff_scope(current_user))
    if union is not None:
        query = query.where(Union.subtree_filter(union))
    campaigns = list(db.session.scalars(query))
    if selected is not None and selected not in campaigns:
        campaigns.append(selected)
    return campaigns


def _readable_suggestion(suggestion_id):
    suggestion = get_or_404(Suggestion, suggestion_id)
    require(suggestion.can_view(current_user))
    return suggestion


def _back(suggestion):
    """Return to the page the form was posted from (a same-site path), else the campaign's list."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 500:
        return redirect(target.split("#")[0] + f"#s{suggestion.id}")
    return redirect(url_for(".index", campaign_id=suggestion.campaign_id) + f"#s{suggestion.id}")


def _post(suggestion_id, allowed, form_class, operation, field, success):
    suggestion = _readable_suggestion(suggestion_id)
    require(allowed(suggestion, current_user))
    form = form_class()
    if form.validate_on_submit():
        args = (getattr(form, field).data,) if field else ()
        perform(operation, suggestion, current_user, *args, success=success)
    else:
        flash_errors(form)
    return _back(suggestion)


@bp.route("/suggestions/<int:suggestion_id>/response", methods=["POST"])
def answer(suggestion_id):
    return _post(suggestion_id, Suggestion.can_respond, ResponseForm, respond, "response", "回应已发布，提出建议的会员可以看到。")


@bp.route("/suggestions/<int:suggestion_id>/hide", methods=["POST"])
def hide_view(suggestion_id):
    return _post(suggestion_id, Suggestion.can_moderate, HideForm, hide, "reason",
                 "已隐藏该意见建议；记录保留，工会主席看不到其内容。")


@bp.route("/suggestions/<int:suggestion_id>/unhide", methods=["POST"])
def unhide_view(suggestion_id):
    return _post(suggestion_id, Suggestion.can_moderate, ActionForm, unhide, None, "已恢复显示该意见建议。")


@bp.route("/suggestions/<int:suggestion_id>/flag", methods=["POST"])
def flag_view(suggestion_id):
    suggestion = _readable_suggestion(suggestion_id)
    require(suggestion.can_flag(current_user))
    form, outcome = FlagForm(), None
    if form.validate_on_submit():
        outcome = perform(flag, suggestion, current_user, form.problem.data, success="已列为整改事项。")
        if outcome.ok:
            return redirect(url_for("rectification.show", rectification_id=outcome.value.id))
    else:
        flash_errors(form)
    return _back(suggestion)
