from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from evalapp.core.timeutil import local_today
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.rectification.forms import OutcomeForm, PlanForm
from evalapp.rectification.models import Rectification
from evalapp.rectification.operations import complete, submit_plan

bp = Blueprint("rectification", __name__, url_prefix="/rectifications")


def _visible(rectification_id):
    rectification = get_or_404(Rectification, rectification_id)
    require(rectification.campaign.can_view(current_user))
    return rectification


@bp.route("/<int:rectification_id>")
def show(rectification_id):
    rectification = _visible(rectification_id)
    return render_template("rectification/show.html", rectification=rectification, plan_form=PlanForm(),
                           outcome_form=OutcomeForm(), today=local_today(),
                           is_chair=rectification.campaign.is_chaired_by(current_user))


def _chair_step(rectification_id, form_class, operation, field, success):
    rectification = _visible(rectification_id)
    require(rectification.campaign.is_chaired_by(current_user))
    form, outcome = form_class(), None
    if form.validate_on_submit():
        outcome = perform(operation, rectification, current_user, getattr(form, field).data, success=success)
        if outcome.ok:
            return redirect(url_for(".show", rectification_id=rectification.id))
    forms = {"plan_form": PlanForm(), "outcome_form": OutcomeForm(), field + "_form": form}
    return render_template("rectification/show.html", rectification=rectification, today=local_today(),
                           is_chair=True, **forms), form_status(form, outcome)


@bp.route("/<int:rectification_id>/plan", methods=["POST"])
def plan(rectification_id):
    return _chair_step(rectification_id, PlanForm, submit_plan, "plan", "整改方案已提交，会员可以看到。")


@bp.route("/<int:rectification_id>/complete", methods=["POST"])
def mark_complete(rectification_id):
    return _chair_step(rectification_id, OutcomeForm, complete, "outcome", "已标记整改完成，整改结果已向会员公开。")
