from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from evalapp.campaigns.views import visible_campaign
from evalapp.core.web import flash_errors, form_status, get_or_404, perform, require
from evalapp.feedback.forms import ResponseForm, SuggestionForm
from evalapp.feedback.models import Suggestion
from evalapp.feedback.operations import (
    add_suggestion,
    can_respond,
    may_suggest,
    respond,
    suggestions_for,
)

bp = Blueprint("feedback", __name__)


@bp.route("/campaigns/<int:campaign_id>/suggestions", methods=["GET", "POST"])
def index(campaign_id):
    campaign = visible_campaign(campaign_id)
    form, outcome = SuggestionForm(), None
    if form.validate_on_submit():
        outcome = perform(add_suggestion, campaign, current_user, form.body.data, form.named.data,
                                    success="意见建议已提交，收到回应后您会在这里看到。")
        if outcome.ok:
            return redirect(url_for(".index", campaign_id=campaign.id))
    return render_template("feedback/index.html", campaign=campaign, form=form,
                           may_write=may_suggest(campaign, current_user),
                           suggestions=suggestions_for(campaign, current_user), response_form=ResponseForm(),
                           can_respond=lambda s: can_respond(s, current_user)), form_status(form, outcome)


@bp.route("/suggestions/<int:suggestion_id>/response", methods=["POST"])
def answer(suggestion_id):
    suggestion = get_or_404(Suggestion, suggestion_id)
    require(suggestion.campaign.can_view(current_user) and can_respond(suggestion, current_user))
    form = ResponseForm()
    if form.validate_on_submit():
        perform(respond, suggestion, current_user, form.response.data, success="回应已发布，提出建议的会员可以看到。")
    else:
        flash_errors(form)
    return redirect(url_for(".index", campaign_id=suggestion.campaign_id) + f"#s{suggestion.id}")
