import csv
import io

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from evalapp.accounts.models import Role, RoleGrant
from evalapp.accounts.operations import appoint, revoke
from evalapp.core.auth import public, start_session
from evalapp.core.db import db
from evalapp.core.forms import ActionForm, choices
from evalapp.core.hooks import page_values
from evalapp.core.limits import activations_per_address, limiter, trust_device
from evalapp.core.spreadsheets import spreadsheet_safe
from evalapp.core.web import form_status, get_or_404, page_number, perform, public_url_for, require
from evalapp.unions.credential_events import CREDENTIAL_KIND_VALUES, mark_seen, member_events, report_event
from evalapp.unions.events import MemberEvent
from evalapp.unions.forms import (
    ActivateForm,
    AppointForm,
    ChildUnionForm,
    CodeForm,
    MemberForm,
    SectorForm,
    TopUnionForm,
)
from evalapp.unions.invitations import activate, issue_invitations, mask_phone
from evalapp.unions.models import CHILD_KINDS, Member, Union, UnionKind, UnionSector
from evalapp.unions.operations import (
    active_member_counts,
    create_top_union,
    create_union,
    enrol_member,
    set_code,
    set_sector,
    tree_is_empty,
    visible_roots,
)
from evalapp.unions.search import LIMIT as SEARCH_LIMIT
from evalapp.unions.search import search_members
from evalapp.unions.signals import union_page
from evalapp.unions.tree_file import COLUMNS as TREE_COLUMNS
from evalapp.unions.tree_file import TEMPLATE_ROWS

bp = Blueprint("unions", __name__)
PAGE_SIZE = 50


def _roster_page(union, page):
    roster = select(Member).where(Member.union_id == union.id).order_by(Member.active.desc(), Member.id)
    return db.paginate(roster, page=page, per_page=PAGE_SIZE, error_out=False)


def _child_counts(union):
    """Return {child union id: active members} for the union's direct children."""
    return active_member_counts(select(Union.id).where(Union.parent_id == union.id))


@bp.route("/unions/")
def index():
    roots = visible_roots(current_user)
    if not roots and current_user.is_admin and tree_is_empty():
        return redirect(url_for(".first_run"))
    require(roots)
    if len(roots) == 1:
        return redirect(url_for(".show", union_id=roots[0].id))
    return render_template("unions/index.html", roots=roots)


@bp.route("/setup", methods=["GET", "POST"])
def first_run():
    """A fresh install: the administrator creates the top union, then imports the tree below it."""
    require(current_user.is_admin)
    if not tree_is_empty():
        return redirect(url_for(".index"))
    form, outcome = TopUnionForm(), None
    if form.validate_on_submit():
        outcome = perform(create_top_union, current_user, form.name.data, form.code.data,
                          success="市总工会已创建。下一步：从文件导入下属工会（或逐个设立），再导入花名册。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=outcome.value.id))
    return render_template("unions/first_run.html", form=form), form_status(form, outcome)


@bp.route("/unions/import-template.csv")
def import_template():
    """The union tree file's header and two example rows (UTF-8 with BOM, so that Excel shows the Chinese)."""
    require(current_user.is_staff)
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(TREE_COLUMNS)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in TEMPLATE_ROWS)
    return Response(("\ufeff" + body.getvalue()).encode(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=union-tree-template.csv"})


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
    may_set_code = current_user.manages(union.parent) if union.parent is not None else current_user.is_admin
    code_form = (forms.get("code_form") or CodeForm(code=union.code)) if may_set_code else None
    return render_template(
        "unions/show.html", union=union, members=_roster_page(union, page), child_counts=_child_counts(union),
        grants=grants, form=forms.get("member_form") or MemberForm(), child_form=child_form,
        appoint_form=forms.get("appoint_form") or AppointForm(), action_form=ActionForm(), sector_form=sector_form,
        code_form=code_form,
        **page_values(union_page, union, account=current_user)), status


@bp.route("/unions/<int:union_id>")
def show(union_id):
    union = _managed_union(union_id)
    return _render_show(union, page=page_number(request.args.get("page", 1, type=int)))


@bp.route("/unions/<int:union_id>/members/search")
def member_search(union_id):
    """Find a person in the union's whole subtree (a 35,000-member union is 700 pages of roster)."""
    union = _managed_union(union_id)
    return render_template("unions/member_search.html", union=union,
                           search=search_members(union, request.args.get("q", "")[:200]), limit=SEARCH_LIMIT)


@bp.route("/unions/<int:union_id>/members", methods=["POST"])
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


@bp.route("/unions/<int:union_id>/children", methods=["POST"])
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


@bp.route("/unions/<int:union_id>/sector", methods=["POST"])
def sector_view(union_id):
    union = _managed_union(union_id)
    form, outcome = SectorForm(), None
    if form.validate_on_submit():
        sector = UnionSector(form.sector.data)
        outcome = perform(set_sector, union, sector, current_user, success=f"所属类型已改为“{sector.label}”。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), sector_form=form)


@bp.route("/unions/<int:union_id>/code", methods=["POST"])
def code_view(union_id):
    union = _managed_union(union_id)
    form, outcome = CodeForm(), None
    if form.validate_on_submit():
        outcome = perform(set_code, union, form.code.data, current_user, success="工会代码已保存。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), code_form=form)


@bp.route("/unions/<int:union_id>/roles", methods=["POST"])
def appoint_view(union_id):
    union = _managed_union(union_id)
    form, outcome = AppointForm(), None
    if form.validate_on_submit():
        outcome = perform(appoint, current_user, union, form.username.data, Role(form.role.data),
                          success=f"已任命 {form.username.data} 为{Role(form.role.data).label}。")
        if outcome.ok:
            return redirect(url_for(".show", union_id=union.id))
    return _render_show(union, form_status(form, outcome), appoint_form=form)


@bp.route("/unions/<int:union_id>/invitations", methods=["POST"])
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
    activate_url = public_url_for("unions.activate_view")  # before any code is issued: refused unprintable
    outcome = perform(issue_invitations, union, current_user, members)
    if not outcome.ok:
        return redirect(url_for(".show", union_id=union.id))
    sheet = [{"name": entry.member.name, "phone": mask_phone(entry.member.phone), "code": entry.code, "held": entry.held}
             for entry in outcome.value]
    return render_template("unions/invitations.html", union=union, sheet=sheet, activate_url=activate_url)


def _managed_grant(union_id, grant_id):
    union = _managed_union(union_id)
    grant = get_or_404(RoleGrant, grant_id)
    require(grant.union_id == union.id)
    return union, grant


@bp.route("/unions/<int:union_id>/roles/<int:grant_id>/revoke", methods=["GET"])
def confirm_revoke(union_id, grant_id):
    union, grant = _managed_grant(union_id, grant_id)
    facts = [f"{grant.account.display_name}（{grant.account.username}）将不再是{union.name}的{grant.role.label}，"
             "立即失去这一职务的全部权限。", "撤销记入审计日志；如需恢复，须重新任命。"]
    if grant.role == Role.chair:
        facts.append("工会主席撤销后，本工会在任命新主席之前不能发起主席述职评议，进行中的述职评议也没有述职人。")
    return render_template("confirm.html", label=f"撤销{grant.role.label}", facts=facts,
                           action=url_for(".revoke_view", union_id=union.id, grant_id=grant.id),
                           back=url_for(".show", union_id=union.id), back_label=union.name)


@bp.route("/unions/<int:union_id>/roles/<int:grant_id>/revoke", methods=["POST"])
def revoke_view(union_id, grant_id):
    union, grant = _managed_grant(union_id, grant_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name, role = grant.account.display_name, grant.role.label
    perform(revoke, current_user, grant, success=f"已撤销{name}的{role}职务。")
    return redirect(url_for(".show", union_id=union.id))


# A member's own account: activation and the history of its credentials ------------------------


@bp.route("/activate", methods=["GET", "POST"])
@public(counts_own_attempts=True)
@limiter.limit(activations_per_address, methods=["POST"], error_message="尝试过于频繁，请稍后再试。")
def activate_view():
    """A member's first login: phone number, the code from the printed sheet, their own password."""
    form, outcome = ActivateForm(), None
    if form.validate_on_submit():
        outcome = perform(activate, form.phone.data, form.code.data, form.password.data, form.second_code.data,
                          success="账号已激活，欢迎使用。")
        if outcome.ok:
            start_session(outcome.value)
            return trust_device(redirect(url_for("campaigns.index")), outcome.value.username)
    return render_template("unions/activate.html", form=form), form_status(form, outcome)




@bp.route("/account/security")
def security():
    """The member's own roster and credential changes, who made them and when."""
    events = member_events(current_user)
    unseen = {event.id for event in events if event.seen_at is None}
    mark_seen(current_user)
    db.session.commit()
    return render_template("unions/security.html", events=events, unseen=unseen, credential_kinds=CREDENTIAL_KIND_VALUES)


@bp.route("/account/security/<int:event_id>/report", methods=["POST"])
def report_credential_event(event_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    event = get_or_404(MemberEvent, event_id)
    if current_user.member is None or event.member_id != current_user.member.id:
        abort(404)
    perform(report_event, current_user, event,
            success="已报告上级工会，他们会核查并与您联系。如需投票，请向工会工作人员重新索取激活码。")
    return redirect(url_for(".security"))
