from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.core.db import db
from evalapp.core.forms import ActionForm
from evalapp.core.storage import storage
from evalapp.core.timeutil import local_today
from evalapp.core.web import form_status, get_or_404, page_number, perform, require
from evalapp.rectification import overview
from evalapp.rectification.forms import CommentForm, DeadlineForm, OutcomeForm, PlanForm, ProgressForm
from evalapp.rectification.models import (
    MEMBER_VISIBLE_EVENTS,
    PLAN_DUE_STATES,
    PLAN_PHASE_STATES,
    EventKind,
    Evidence,
    EvidenceKind,
    Rectification,
    RectificationState,
)
from evalapp.rectification.operations import (
    EVIDENCE_MAX_BYTES,
    MAX_EVIDENCE_FILES,
    RETURN_STEPS,
    REVIEW_STEPS,
    add_progress,
    complete,
    move_deadline,
    submit_plan,
)
from evalapp.unions.models import Union
from evalapp.unions.operations import managed_condition, unions_to_filter_by

bp = Blueprint("rectification", __name__, url_prefix="/rectifications")
PAGE_SIZE = 30
NOT_STEPS = (EventKind.opened, EventKind.progress, EventKind.deadline_moved)
RETURNS = (EventKind.plan_returned, EventKind.outcome_returned)
#: A progress update may carry this much: every file at its largest, plus the text and multipart framing.
PROGRESS_MAX_BYTES = MAX_EVIDENCE_FILES * EVIDENCE_MAX_BYTES + 1024 * 1024


@bp.url_value_preprocessor
def _raise_limit_for_the_owner(endpoint, values):
    # Runs before the app's before_request handlers read the form (CSRF, NUL check). Only those who
    # may report progress on this item get a limit above the application's small general one.
    if request.method != "POST" or endpoint != "rectification.progress" or not current_user.is_authenticated:
        return
    rectification = db.session.get(Rectification, values.get("rectification_id"))
    if rectification is not None and rectification.can_work_on(current_user):
        request.max_content_length = max(PROGRESS_MAX_BYTES, request.max_content_length or 0)


def _visible(rectification_id):
    rectification = get_or_404(Rectification, rectification_id)
    require(rectification.can_view(current_user))
    return rectification


# --- Lists -----------------------------------------------------------------------------------------

@bp.route("/")
def index():
    """The chair's items per campaign and, for officers, the whole subtree by state, overdue first."""
    staff = current_user.is_staff
    chaired = overview.chair_items(current_user)
    require(current_user.holds_a_post)
    today = local_today()
    context = {"today": today, "chaired": chaired, "staff": staff}
    if staff:
        state = request.args.get("state") or overview.OPEN
        if state not in (overview.OPEN, overview.OVERDUE, "all") and state not in RectificationState.__members__:
            abort(404)
        union = None
        if request.args.get("union"):
            union = get_or_404(Union, request.args.get("union", type=int) or 0)
            require(current_user.manages(union))
        scope = managed_condition(current_user)
        counts, overdue_count = overview.state_counts(scope, today, union)
        page = page_number(request.args.get("page", 1, type=int))
        items = db.paginate(overview.item_list(scope, today, None if state == "all" else state, union),
                            page=page, per_page=PAGE_SIZE, error_out=False)
        context.update(state=state, union=union, counts=counts, overdue_count=overdue_count, items=items,
                       union_choices=unions_to_filter_by(current_user, union), states=list(RectificationState))
    return render_template("rectification/index.html", **context)


def _uploaded(field):
    """The files posted in `field` as (stream, name); a browser sends an empty part when none was chosen."""
    return [(f.stream, f.filename) for f in request.files.getlist(field) if f and f.filename]


# --- One item --------------------------------------------------------------------------------------

def _render(rectification, status=200, **forms):
    today = local_today()
    internal = rectification.can_see_internals(current_user)
    events = [e for e in rectification.events if internal or e.kind in MEMBER_VISIBLE_EVENTS]
    # The superior union's comment matters while the item is back with the chair because of it.
    last_step = next((e for e in reversed(rectification.events) if e.kind not in NOT_STEPS), None)
    return_note = last_step if last_step is not None and last_step.kind in RETURNS else None
    owner = rectification.can_work_on(current_user)
    plan_form = forms.get("plan_form")
    if plan_form is None:
        plan_form = PlanForm(data={"measures": rectification.plan, "responsible": rectification.plan_responsible,
                                   "target_date": rectification.plan_target_date})
    return render_template(
        "rectification/show.html", rectification=rectification, campaign=rectification.campaign, today=today,
        internal=internal, owner=owner, reviewer=rectification.can_review(current_user),
        approver=rectification.can_approve(current_user),
        publisher=rectification.can_publish(current_user), review=rectification.pending_review,
        events=events, progress=[e for e in events if e.kind == EventKind.progress], return_note=return_note,
        owes_plan=rectification.state in PLAN_DUE_STATES, has_deadline=rectification.state in PLAN_PHASE_STATES
        or rectification.state == RectificationState.in_progress,
        plan_form=plan_form, progress_form=forms.get("progress_form") or ProgressForm(),
        outcome_form=forms.get("outcome_form") or OutcomeForm(), comment_form=forms.get("comment_form") or CommentForm(),
        deadline_form=forms.get("deadline_form") or DeadlineForm(), action_form=ActionForm()), status


@bp.route("/<int:rectification_id>")
def show(rectification_id):
    return _render(_visible(rectification_id))


def _step(rectification_id, allowed, form_class, form_name, call, success):
    """Run one posted step: 404 for those who may not take it, the form again with a message on refusal."""
    rectification = _visible(rectification_id)
    require(allowed(rectification, current_user))
    form, outcome = form_class(), None
    if form.validate_on_submit():
        outcome = perform(call, rectification, form, success=success)
        if outcome.ok:
            return redirect(url_for(".show", rectification_id=rectification.id))
        db.session.expire_all()  # the refusal rolled back: show the item as it is
    return _render(rectification, form_status(form, outcome), **{form_name: form})


@bp.route("/<int:rectification_id>/plan", methods=["POST"])
def plan(rectification_id):
    return _step(rectification_id, Rectification.can_work_on, PlanForm, "plan_form",
                 lambda r, f: submit_plan(r, current_user, f.measures.data, f.responsible.data, f.target_date.data),
                 "整改方案已提交，等待上级工会审核。")


@bp.route("/<int:rectification_id>/progress", methods=["POST"])
def progress(rectification_id):
    return _step(rectification_id, Rectification.can_work_on, ProgressForm, "progress_form",
                 lambda r, f: add_progress(r, current_user, f.text.data, _uploaded("files")),
                 "整改进展已记录。")


@bp.route("/<int:rectification_id>/complete", methods=["POST"])
def mark_complete(rectification_id):
    return _step(rectification_id, Rectification.can_work_on, OutcomeForm, "outcome_form",
                 lambda r, f: complete(r, current_user, f.outcome.data),
                 "已报告整改完成，等待上级工会审核整改结果。")


@bp.route("/<int:rectification_id>/deadline", methods=["POST"])
def deadline(rectification_id):
    return _step(rectification_id, Rectification.can_review, DeadlineForm, "deadline_form",
                 lambda r, f: move_deadline(r, current_user, f.new_date.data, f.reason.data),
                 "期限已调整，已记入审计日志并通知工会主席。")


@bp.route("/<int:rectification_id>/<any(return_plan, return_outcome):step>", methods=["POST"])
def send_back(rectification_id, step):
    operation, label = RETURN_STEPS[step]
    return _step(rectification_id, Rectification.can_review, CommentForm, "comment_form",
                 lambda r, f: operation(r, current_user, f.comment.data), f"已{label}，并通知工会主席。")


@bp.route("/<int:rectification_id>/publish", methods=["GET"])
def confirm_publish(rectification_id):
    rectification = _visible(rectification_id)
    require(rectification.can_publish(current_user) and rectification.state == RectificationState.reviewed)
    facts = ["整改方案、进展和整改结果将向本次评议的全体参评会员公开，并通知他们。", "公开后不能撤回，也不能再修改。"]
    return render_template("confirm.html", label="向会员公开整改结果", facts=facts,
                           action=url_for(".decide", rectification_id=rectification.id, step="publish"),
                           back=url_for(".show", rectification_id=rectification.id), back_label=rectification.problem)


@bp.route("/<int:rectification_id>/<any(approve_plan, approve_outcome, publish):step>", methods=["POST"])
def decide(rectification_id, step):
    rectification = _visible(rectification_id)
    require(rectification.can_publish(current_user) if step == "publish" else rectification.can_review(current_user))
    if not ActionForm().validate_on_submit():
        abort(400)
    operation, label = REVIEW_STEPS[step]
    outcome = perform(operation, rectification, current_user, success=f"已{label}。")
    if not outcome.ok:
        db.session.expire_all()
        return _render(rectification, outcome.status)
    return redirect(url_for(".show", rectification_id=rectification.id))


@bp.route("/evidence/<int:evidence_id>")
def evidence(evidence_id):
    """A picture or document of a progress update, for those who may read that update."""
    item = get_or_404(Evidence, evidence_id)
    require(item.can_read(current_user))
    try:
        return storage().send(item.key, mimetype=item.mimetype, download_name=item.download_name,
                              as_attachment=item.kind == EvidenceKind.document)
    except FileNotFoundError:
        abort(404)
