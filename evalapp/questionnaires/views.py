from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from evalapp.core.db import db
from evalapp.core.forms import choices
from evalapp.core.web import form_status, get_or_404, perform, require
from evalapp.questionnaires.forms import ItemForm, QuestionnaireForm
from evalapp.questionnaires.models import Item, ItemKind, Questionnaire
from evalapp.questionnaires.operations import (
    RULE_FIELDS,
    add_item,
    create_questionnaire,
    managed_templates,
    remove_item,
)
from evalapp.unions.models import Union
from evalapp.unions.operations import managed_unions_query

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")


def _managed_template(questionnaire_id):
    questionnaire = get_or_404(Questionnaire, questionnaire_id)
    require(not questionnaire.is_snapshot and current_user.manages(questionnaire.owner_union))
    return questionnaire


@bp.route("/")
def index():
    require(current_user.is_staff)
    return render_template("questionnaires/index.html", questionnaires=managed_templates(current_user))


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
    questionnaire = _managed_template(questionnaire_id)
    form, outcome = ItemForm(), None
    if form.validate_on_submit():
        outcome = perform(add_item, questionnaire, ItemKind(form.kind.data), form.prompt.data,
                              form.dimension.data or None, form.weight.data, actor=current_user, success="题目已添加。")
        if outcome.ok:
            return redirect(url_for(".show", questionnaire_id=questionnaire.id))
    return render_template("questionnaires/show.html", questionnaire=questionnaire, form=form), \
        form_status(form, outcome)


@bp.route("/<int:questionnaire_id>/items/<int:item_id>/delete", methods=["POST"])
def delete_item(questionnaire_id, item_id):
    questionnaire = _managed_template(questionnaire_id)
    item = get_or_404(Item, item_id)
    require(item.questionnaire_id == questionnaire.id)
    perform(remove_item, item, actor=current_user, success="题目已删除。")
    return redirect(url_for(".show", questionnaire_id=questionnaire.id))
