from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from evalapp.core.db import db
from evalapp.core.forms import ActionForm, choices
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.questionnaires.forms import OPTION_ROWS, ItemForm, QuestionnaireForm, RulesForm
from evalapp.questionnaires.models import Item, ItemKind, Questionnaire
from evalapp.questionnaires.operations import (
    RULE_FIELDS,
    add_item,
    copy_questionnaire,
    create_questionnaire,
    inherited_templates,
    managed_templates,
    move_item,
    remove_item,
    update_item,
    update_rules,
)
from evalapp.unions.models import Union
from evalapp.unions.operations import managed_unions_query, visible_roots

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")


def _managed_template(questionnaire_id):
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    require(not questionnaire.is_snapshot and questionnaire.can_manage(current_user))
    return questionnaire


def _template_item(questionnaire_id, item_id):
    questionnaire = _managed_template(questionnaire_id)
    item = get_or_404(Item, item_id)
    require(item.questionnaire_id == questionnaire.id)
    return item


def _checked_action_form():
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.route("/")
def index():
    require(current_user.is_staff)
    return render_template("questionnaires/index.html", questionnaires=managed_templates(current_user),
                           inherited=inherited_templates(current_user))


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(current_user.is_staff)
    form = QuestionnaireForm()
    unions = db.session.scalars(managed_unions_query(current_user).where(Union.kind != "grassroots")
                                .order_by(Union.path).limit(500)).all()
    form.owner_union_id.choices = choices((u.id, u.name) for u in unions)
    outcome = None
    if form.validate_on_submit():
        owner = get_or_404(Union, form.owner_union_id.data)
        outcome = perform(create_questionnaire, owner, form.title.data, form.description.data,
                          actor=current_user, success="测评表已创建，请添加题目。",
                          **{key: getattr(form, key).data for key in RULE_FIELDS})
        if outcome.ok:
            return redirect(url_for(".show", questionnaire_id=outcome.value.id))
    return render_template("questionnaires/new.html", form=form), form_status(form, outcome)


@bp.route("/<int:questionnaire_id>", methods=["GET", "POST"])
def show(questionnaire_id):
    """The builder: the items in order, and the form that adds one."""
    questionnaire = _managed_template(questionnaire_id)
    form, outcome = ItemForm(), None
    if form.validate_on_submit():
        outcome = perform(add_item, questionnaire, ItemKind(form.kind.data), form.prompt.data,
                          form.dimension.data or None, form.weight.data, actor=current_user, success="题目已添加。",
                          **form.item_details())
        if outcome.ok:
            return redirect(url_for(".show", questionnaire_id=questionnaire.id))
    return render_template("questionnaires/show.html", questionnaire=questionnaire, form=form), \
        form_status(form, outcome)


@bp.route("/<int:questionnaire_id>/rules", methods=["GET", "POST"])
def edit_rules(questionnaire_id):
    questionnaire = _managed_template(questionnaire_id)
    form = RulesForm(obj=questionnaire) if request.method == "GET" else RulesForm()
    outcome = None
    if form.validate_on_submit():
        outcome = perform(update_rules, questionnaire, current_user, form.title.data, form.description.data,
                          success="测评表规则已保存。", **{key: getattr(form, key).data for key in RULE_FIELDS})
        if outcome.ok:
            return redirect(url_for(".show", questionnaire_id=questionnaire.id))
    return render_template("questionnaires/rules.html", questionnaire=questionnaire, form=form), \
        form_status(form, outcome)


@bp.route("/<int:questionnaire_id>/items/<int:item_id>", methods=["GET", "POST"])
def edit_item(questionnaire_id, item_id):
    item = _template_item(questionnaire_id, item_id)
    if request.method == "GET":
        form = ItemForm(data={
            "prompt": item.prompt, "kind": item.kind.value, "dimension": item.dimension or "", "weight": item.weight,
            "required": item.required, "max_choices": item.max_choices,
            "points": len(item.options) if item.kind == ItemKind.scale else 5,
            "options": [{"text": o.label, "score": _plain(o.score) if item.scored else "",
                         "satisfied": o.counts_satisfied} for o in item.options]})
        while len(form.options) < max(OPTION_ROWS, len(item.options) + 2):
            form.options.append_entry()
    else:
        form = ItemForm()
    outcome = None
    if form.validate_on_submit():
        # A standard kind that changed (or a scale with a new number of points) starts from its default options.
        same_kind = form.kind.data == item.kind.value and (
            item.kind != ItemKind.scale or form.points.data == len(item.options))
        outcome = perform(update_item, item, ItemKind(form.kind.data), form.prompt.data, form.dimension.data or None,
                          form.weight.data, actor=current_user, success="题目已修改。",
                          **form.item_details(keep_options=same_kind))
        if outcome.ok:
            return redirect(url_for(".show", questionnaire_id=questionnaire_id))
    return render_template("questionnaires/item.html", questionnaire=item.questionnaire, item=item, form=form), \
        form_status(form, outcome)


def _plain(score):
    """Show 100.00 as 100 and 2.50 as 2.5 in the form."""
    return format(score.normalize(), "f")


@bp.route("/<int:questionnaire_id>/items/<int:item_id>/move/<any(up, down):direction>", methods=["POST"])
def move(questionnaire_id, item_id, direction):
    item = _template_item(questionnaire_id, item_id)
    _checked_action_form()
    perform(move_item, item, -1 if direction == "up" else 1, actor=current_user)
    return redirect(url_for(".show", questionnaire_id=questionnaire_id) + f"#item-{item.id}")


@bp.route("/<int:questionnaire_id>/items/<int:item_id>/delete", methods=["POST"])
def delete_item(questionnaire_id, item_id):
    item = _template_item(questionnaire_id, item_id)
    _checked_action_form()
    perform(remove_item, item, actor=current_user, success="题目已删除。")
    return redirect(url_for(".show", questionnaire_id=questionnaire_id))


@bp.route("/<int:questionnaire_id>/copy", methods=["POST"])
def copy(questionnaire_id):
    """Copy a template (one's own, or a superior union's) into the officer's own union to adapt it."""
    require(current_user.is_staff)
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    roots = visible_roots(current_user)
    require(not questionnaire.is_snapshot and roots)
    require(questionnaire in managed_templates(current_user) or questionnaire in inherited_templates(current_user))
    _checked_action_form()
    outcome = perform(copy_questionnaire, questionnaire, roots[0], current_user, success="已复制，可以修改副本。")
    if outcome.ok:
        return redirect(url_for(".show", questionnaire_id=outcome.value.id))
    return redirect(url_for(".index"))
