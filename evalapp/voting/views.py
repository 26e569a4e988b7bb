from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from evalapp.campaigns.views import visible_campaign
from evalapp.core import onetime
from evalapp.core.errors import Refused
from evalapp.core.limits import BALLOT_SUBMISSIONS, account_key, limiter
from evalapp.core.web import form_status, perform
from evalapp.voting.forms import ReceiptForm, ballot_form, field_name, submitted_choices
from evalapp.voting.operations import (
    ALREADY_VOTED,
    cast_ballot,
    check_can_vote,
    check_eligible,
    has_voted,
    load_questionnaire,
    receipt_status,
)

bp = Blueprint("voting", __name__)


@bp.route("/campaigns/<int:campaign_id>/vote", methods=["GET", "POST"])
@limiter.limit(BALLOT_SUBMISSIONS, key_func=account_key, methods=["POST"], error_message="提交过于频繁，请稍后再试。")
def vote(campaign_id):
    campaign = visible_campaign(campaign_id)
    posted = request.method == "POST"
    try:
        # A posted ballot is checked for a vote already cast by cast_ballot itself (the participation's
        # key refuses it), so the ballot that counts costs no extra query.
        member = (check_eligible if posted else check_can_vote)(campaign, current_user)
    except Refused as refusal:
        return _refused(campaign, refusal.message, refusal.status)
    questionnaire = load_questionnaire(campaign)
    form, outcome = ballot_form(questionnaire), None
    if form.validate_on_submit():
        outcome = perform(cast_ballot, campaign, current_user, submitted_choices(form, questionnaire), announce=False)
        if outcome.ok:
            # The ballot is stored: from here on nothing may touch the database (campaign.id would
            # reload the expired row), or a dropped connection would lose the voter's receipt.
            # The code itself stays on the server: the session cookie is readable, next to the user id.
            session["receipt"] = onetime.put("receipt", {"campaign_id": campaign_id, "code": outcome.value})
            return redirect(url_for(".voted", campaign_id=campaign_id))
        if outcome.status != 400:  # not the ballot's fault: voted already, or voting closed meanwhile
            return _refused(campaign, outcome.message, outcome.status)
        flash(outcome.message, "error")
    elif posted and has_voted(campaign, member):
        return _refused(campaign, ALREADY_VOTED, 409)
    return render_template("voting/vote.html", campaign=campaign, form=form, field_name=field_name), \
        form_status(form, outcome)


def _refused(campaign, message, status):
    return render_template("voting/refused.html", campaign=campaign, message=message), status


@bp.route("/campaigns/<int:campaign_id>/voted")
def voted(campaign_id):
    campaign = visible_campaign(campaign_id)
    # Shown once: the slot is emptied as it is read, so a reload (or a copy of the cookie) shows nothing.
    receipt = onetime.take("receipt", session.pop("receipt", None))
    code = receipt["code"] if receipt and receipt.get("campaign_id") == campaign.id else None
    return render_template("voting/voted.html", campaign=campaign, code=code)


@bp.route("/receipts", methods=["GET", "POST"])
def check_receipt():
    form = ReceiptForm()
    status, campaign = receipt_status(form.code.data) if form.validate_on_submit() else (None, None)
    return render_template("voting/receipt.html", form=form, status=status, campaign=campaign)
