import math

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from evalapp.campaigns.loading import load_campaign
from evalapp.campaigns.models import Campaign
from evalapp.core import metrics, onetime
from evalapp.core.auth import public
from evalapp.core.db import db
from evalapp.core.downloads import content_disposition
from evalapp.core.errors import Refused
from evalapp.core.limits import BALLOT_SUBMISSIONS, account_key, limiter
from evalapp.core.timeutil import utcnow
from evalapp.core.web import form_status, get_or_404, page_number, perform, require
from evalapp.unions.models import Union
from evalapp.voting import participation
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
    campaign = load_campaign(campaign_id)
    posted = request.method == "POST"
    try:
        # A posted ballot is checked for a vote already cast by cast_ballot itself (the participation's
        # key refuses it), so the ballot that counts costs no extra query.
        member = (check_eligible if posted else check_can_vote)(campaign, current_user)
    except Refused as refusal:
        if posted:
            metrics.count("ballots", "refused")
        return _refused(campaign, refusal.message, refusal.status)
    questionnaire = load_questionnaire(campaign)
    form, outcome = ballot_form(questionnaire), None
    if form.validate_on_submit():
        outcome = perform(cast_ballot, campaign, current_user, submitted_choices(form, questionnaire), announce=False)
        metrics.count("ballots", "accepted" if outcome.ok else "refused")
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
    campaign = load_campaign(campaign_id)
    # Shown once: the slot is emptied as it is read, so a reload (or a copy of the cookie) shows nothing.
    receipt = onetime.take("receipt", session.pop("receipt", None))
    code = receipt["code"] if receipt and receipt.get("campaign_id") == campaign.id else None
    return render_template("voting/voted.html", campaign=campaign, code=code)


@bp.route("/receipts", methods=["GET", "POST"])
@public
def check_receipt():
    """Anyone, signed in or not, may ask whether a receipt's ballot was counted (never what it says)."""
    form = ReceiptForm()
    status, campaign = receipt_status(form.code.data) if form.validate_on_submit() else (None, None)
    return render_template("voting/receipt.html", form=form, status=status, campaign=campaign)


# Turnout ---------------------------------------------------------------------------------------

TURNOUT_PAGE_SIZE = 100
NON_VOTERS_PAGE_SIZE = 200
#: One union's whole list on one page, so that it prints in one go.
NON_VOTERS_UNION_PAGE_SIZE = 1000
#: Ids are database integers (as in the routes' <int:…>).
MAX_ID = 2**31 - 1


def _turnout_campaign(campaign_id):
    """Return the campaign if the current account may see its turnout (officers and the chair); else 404."""
    return load_campaign(campaign_id, Campaign.can_see_internals)


@bp.route("/campaigns/<int:campaign_id>/turnout")
def turnout_page(campaign_id):
    campaign = _turnout_campaign(campaign_id)
    if campaign.electorate_size is None:
        return render_template("voting/turnout.html", campaign=campaign, overall=None)
    unions = participation.by_union(campaign)
    pages = max(1, math.ceil(len(unions) / TURNOUT_PAGE_SIZE))
    page = page_number(request.args.get("page", 1, type=int), pages)
    return render_template(
        "voting/turnout.html", campaign=campaign, overall=participation.overall(campaign),
        branches=participation.by_branch(campaign, unions), union_count=len(unions),
        unions=unions[(page - 1) * TURNOUT_PAGE_SIZE: page * TURNOUT_PAGE_SIZE], page=page, pages=pages,
        chair_view=not campaign.can_manage(current_user))


def _non_voter_scope(campaign):
    """Return (union or None) whose non-voters the current account asked for and may see; 404 otherwise."""
    require(campaign.electorate_size is not None)
    requested = request.args.get("union", "")
    # A malformed or out-of-range id is a union nobody can have asked for, not "all unions".
    require(requested == "" or (requested.isdigit() and 0 < int(requested) <= MAX_ID))
    try:
        union_id = participation.non_voter_union(campaign, current_user, int(requested) if requested else None)
    except LookupError:
        abort(404)
    return get_or_404(Union, union_id) if union_id is not None else None


@bp.route("/campaigns/<int:campaign_id>/non-voters")
def non_voters(campaign_id):
    campaign = _turnout_campaign(campaign_id)
    union = _non_voter_scope(campaign)
    union_id = union.id if union else None
    total = participation.count_non_voters(campaign, union_id)
    per_page = NON_VOTERS_UNION_PAGE_SIZE if union else NON_VOTERS_PAGE_SIZE
    pages = max(1, math.ceil(total / per_page))
    page = page_number(request.args.get("page", 1, type=int), pages)
    rows = db.session.execute(participation.non_voters_query(campaign, union_id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return render_template("voting/non_voters.html", campaign=campaign, union=union, rows=rows, total=total,
                           page=page, pages=pages, first=(page - 1) * per_page, now=utcnow())


@bp.route("/campaigns/<int:campaign_id>/non-voters.csv")
def non_voters_csv(campaign_id):
    campaign = _turnout_campaign(campaign_id)
    union = _non_voter_scope(campaign)
    filename = f"non-voters-{campaign.id}" + (f"-union-{union.id}" if union else "") + ".csv"
    # Built whole rather than streamed: even a city's 300,000 names are a few megabytes, and the
    # database session then ends with the request.
    body = participation.non_voters_csv(campaign, union.id if union else None)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition(filename)})
