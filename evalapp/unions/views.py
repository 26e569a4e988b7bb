from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from evalapp.accounts.invitations import issue_invitations, mask_phone
from evalapp.accounts.models import Role, RoleGrant
from evalapp.accounts.operations import appoint, revoke
from evalapp.campaigns.batches import batches_rooted_at
from evalapp.core.db import db
from evalapp.core.forms import ActionForm, choices
from evalapp.core.web import form_status, get_or_404, page_number, perform, public_url_for, require
from evalapp.unions.forms import AppointForm, ChildUnionForm, MemberForm, SectorForm
from evalapp.unions.models import CHILD_KINDS, Member, Union, UnionKind, UnionSector
from evalapp.unions.operations import active_member_counts, create_union, enrol_member, set_sector, visible_roots

bp = Blueprint("unions", __name__, url_prefix="/unions")
PAGE_SIZE = 50


def _roster_page(union, page):
    roster = select(Member).where(Member.union_id == union.id).order_by(Member.active.desc(), Member.id)
    return db.paginate(roster, page=page, per_page=PAGE_SIZE, error_out=False)


def _child_counts(union):
    """Return {child union id: active members} for the union's direct children."""
    return active_member_counts(select(Union.id).where(Union.parent_id == union.id))


@bp.route("/")
def index():
    roots = visible_roots(current_user)
    require(roots)
    if len(roots) == 1:
        return redirect(url_for(".show", union_id=roots[0].id))
    return render_template("unions/index.html", roots=roots)


def _managed_union(union_id):
    union = get_or_404(Union, union_id)
    require(current_user.manages(union))
    return union


def _render_show(union, status=200, page=1, **forms):
    """Render the union page; `forms` replaces a fresh form with the one the user just posted."""
    child_form = forms.get("child_form") or ChildUnionForm()
    child_form.kind.choices = choices((kind.value, kind.label) for kind in CHILD_KINDS[union.kind])
    grants = db.session.scalars(select(RoleGrant).where(RoleGrant.union_id == union.id).order_by(RoleGrant.role)).all()
    sector_form = forms.get("sector_form") or SectorForm(sector=union.sector.value)
    return render_template(
        "unions/show.html", union=union, members=_roster_page(union, page), child_counts=_child_counts(union),
        grants=grants, form=forms.get("member_form") or MemberForm(), child_form=child_form,
        appoint_form=forms.get("appoint_form") or AppointForm(), action_form=ActionForm(), sector_form=sector_form,
        batches=batches_rooted_at(union)), status


@bp.route("/<int:union_id>")
def show(union_id):
    union = _managed_union(union_id)
    return _render_show(union, page=page_number(request.args.get("page", 1, type=int)))


@bp.route("/<int:union_id>/members", methods=["POST"])
def add_member_view(union_id):
    union = _managed_union(union_id)
    form, outcome = MemberForm(), None
    if form.validate_on_submit():
        outcome = perform(enrol_member, union, form.name.data, form.phone.data, form.id_number.data,
                          actor=current_user, with_account=form.create_account.data,
                          password=form.initial_password.data, success=f"已将 {form.name.data} 加入花名册。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), member_form=form)


@bp.route("/<int:union_id>/children", methods=["POST"])
def add_child(union_id):
    union = _managed_union(union_id)
    form, outcome = ChildUnionForm(), None
    form.kind.choices = choices((kind.value, kind.label) for kind in CHILD_KINDS[union.kind])
    if form.validate_on_submit():
        outcome = perform(create_union, form.name.data, UnionKind(form.kind.data), union, actor=current_user,
                          sector=UnionSector(form.sector.data), success=f"已设立“{form.name.data}”。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=outcome.value.id))
    return _render_show(union, form_status(form, outcome), child_form=form)


@bp.route("/<int:union_id>/sector", methods=["POST"])
def sector_view(union_id):
    union = _managed_union(union_id)
    form, outcome = SectorForm(), None
    if form.validate_on_submit():
        sector = UnionSector(form.sector.data)
        outcome = perform(set_sector, union, sector, current_user, success=f"所属类型已改为“{sector.label}”。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), sector_form=form)


@bp.route("/<int:union_id>/roles", methods=["POST"])
def appoint_view(union_id):
    union = _managed_union(union_id)
    form, outcome = AppointForm(), None
    if form.validate_on_submit():
        outcome = perform(appoint, current_user, union, form.username.data, Role(form.role.data),
                          success=f"已任命 {form.username.data} 为{Role(form.role.data).label}。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), appoint_form=form)


@bp.route("/<int:union_id>/invitations", methods=["POST"])
def invitations(union_id):
    """Issue codes to every member of the union (or to one, to reset a forgotten password) and print them."""
    union = _managed_union(union_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    members = None
    if "member_id" in request.form:  # one member's slip; a malformed id must not print the whole union's sheet
        member_id = request.form.get("member_id", type=int)
        if member_id is None:
            abort(400)
        member = get_or_404(Member, member_id)
        require(member.union_id == union.id)
        members = [member]
    activate_url = public_url_for("accounts.activate_view")  # before any code is issued: refused unprintable
    outcome = perform(issue_invitations, union, current_user, members)
    if not outcome.ok:
        return redirect(url_for(".show", union_id=union.id))
    sheet = [{"name": entry.member.name, "phone": mask_phone(entry.member.phone), "code": entry.code, "held": entry.held}
             for entry in outcome.value]
    return render_template("unions/invitations.html", union=union, sheet=sheet, activate_url=activate_url)


@bp.route("/<int:union_id>/roles/<int:grant_id>/revoke", methods=["POST"])
def revoke_view(union_id, grant_id):
    union = _managed_union(union_id)
    grant = get_or_404(RoleGrant, grant_id)
    require(grant.union_id == union.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    perform(revoke, current_user, grant, success="已撤销该职务。")
    return redirect(url_for(".show", union_id=union.id))
