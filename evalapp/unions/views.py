from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from evalapp.core.db import db
from evalapp.core.web import form_status, get_or_404, page_number, perform, require
from evalapp.unions.forms import MemberForm
from evalapp.unions.models import Member, Union
from evalapp.unions.operations import enrol_member, visible_roots

bp = Blueprint("unions", __name__, url_prefix="/unions")
PAGE_SIZE = 50


def _roster_page(union, page):
    roster = select(Member).where(Member.union_id == union.id).order_by(Member.active.desc(), Member.id)
    return db.paginate(roster, page=page, per_page=PAGE_SIZE, error_out=False)


def _child_counts(union):
    """Return {child union id: active members} for the union's direct children."""
    return dict(db.session.execute(
        select(Member.union_id, func.count()).where(Member.union_id.in_([c.id for c in union.children]),
                                                    Member.active.is_(True)).group_by(Member.union_id)).all())


@bp.route("/")
def index():
    roots = visible_roots(current_user)
    require(roots)
    if len(roots) == 1:
        return redirect(url_for(".show", union_id=roots[0].id))
    return render_template("unions/index.html", roots=roots)


@bp.route("/<int:union_id>")
def show(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    members = _roster_page(union, page_number(request.args.get("page", 1, type=int)))
    return render_template("unions/show.html", union=union, members=members, child_counts=_child_counts(union),
                           form=MemberForm())


@bp.route("/<int:union_id>/members", methods=["POST"])
def add_member_view(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    form, outcome = MemberForm(), None
    if form.validate_on_submit():
        outcome = perform(enrol_member, union, form.name.data, form.phone.data, form.id_number.data,
                                actor=current_user, with_account=form.create_account.data,
                          password=form.initial_password.data, success=f"已将 {form.name.data} 加入花名册。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return render_template("unions/show.html", union=union, members=_roster_page(union, 1),
                           child_counts=_child_counts(union), form=form), form_status(form, outcome)
