"""Who may reach every page and action: one explicit table, checked for every role, and complete.

`ACCESS` names, for every endpoint and method of the application, the roles allowed to use it on
objects of union A's side of the tree (union A's campaigns, its chair's report, its suggestions and
rectifications, the county's template and reviews, a town batch, a roster import under the town).
Every other role must be refused: anonymous visitors are sent to the login page, signed-in accounts
get 404 (or 403), and a refused POST changes nothing: no row comes or goes in any table, the audit
log (which every change of state writes) gets no entry, and no upload is stored.
A route added to the application without an entry here fails `test_every_route_has_an_entry`.
`VARIANTS` adds other forms of some routes (another step of the same URL pattern, a draft instead of
an announced campaign, a filter) whose users differ.

The world is built once per module and backend (building it per case would take minutes); requests
that consume what they act on (a removal, a state change) run against objects made for that request.
"""
import functools
import io
import itertools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from evalapp.accounts.models import Role
from evalapp.accounts.operations import grant_role
from evalapp.campaigns.batches import BatchSpec, create_batch, select_unions
from evalapp.campaigns.models import BatchRule, SubjectKind
from evalapp.core.db import db
from evalapp.core.jobs import run_in_background
from evalapp.core.limits import limiter
from evalapp.core.timeutil import local_today
from evalapp.duty_reports.operations import add_images, save_report, versions_of
from evalapp.notifications.operations import notify
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item
from evalapp.rectification.models import Evidence, RectificationEvent
from evalapp.rectification.operations import add_progress
from evalapp.reviews.models import ReviewStage
from evalapp.reviews.review import request_review, run_review
from evalapp.rosters import operations as roster_ops
from evalapp.suggestions import operations as suggestion_ops
from evalapp.unions.models import UnionSector
from evalapp.unions.operations import add_member
from tests.builders import PDF, csv_file, jpeg, make_id, mp4
from tests.conftest import empty_database, log_in
from tests.factories import (
    ballot_form,
    build_world,
    drive_rectification,
    make_account,
    make_campaign,
    make_questionnaire,
    make_union,
)

# --- Roles -------------------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"  # a member of union B, in another county
MEMBER = "m1"  # a member of union A
CHAIR = "chair"  # the chair of union A
OTHER_OFFICER = "other_officer"  # an officer of the other county
COUNTY_OFFICER = "county_officer"  # an officer of the county above union A
CITY_OFFICER = "city_officer"  # an officer of the city federation
ADMIN = "admin"
ROLES = (ANONYMOUS, OUTSIDER, MEMBER, CHAIR, OTHER_OFFICER, COUNTY_OFFICER, CITY_OFFICER, ADMIN)

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
#: Officers anywhere, and administrators: pages about one's own scope, without an object of union A's.
STAFF = frozenset({OTHER_OFFICER, COUNTY_OFFICER, CITY_OFFICER, ADMIN})
#: Those who manage union A and the unions above it up to the county (and so review union A's work).
MANAGERS = frozenset({COUNTY_OFFICER, CITY_OFFICER, ADMIN})
CHAIR_ONLY = frozenset({CHAIR})
ADMIN_ONLY = frozenset({ADMIN})
CHAIR_AND_MANAGERS = MANAGERS | CHAIR_ONLY
#: Who sees union A's campaigns once out of draft: its managers, its chair, and its members.
VIEWERS = CHAIR_AND_MANAGERS | {MEMBER}
#: Members of union A's electorate (the chair is on union A's roster, but does not evaluate themselves).
VOTERS = frozenset({MEMBER})


# --- Small files -------------------------------------------------------------------------------------

SMALL_IMAGE = (64, 48)


def roster_csv():
    return csv_file([["张三", "13800138000", make_id(1), "丙公司工会"]])


# --- The world -------------------------------------------------------------------------------------

_serial = itertools.count(1)


def unique(prefix):
    return f"{prefix}{next(_serial)}"


def build_matrix_world(app):
    """The factories' world plus one object of every kind, all on union A's side of the tree."""
    world = build_world()
    world.app = app
    world.county_form = make_questionnaire(world.county)
    # Roster imports go to a union beside union A: applying one deactivates whoever the file leaves out.
    world.roster_union = make_union(world.town, "丙公司工会")
    world.phone_member = add_member(world.union_a, "持码会员", "13900000001")

    world.reporting = make_campaign(world, "reporting")
    [world.report_image] = add_images(world.reporting, world.chair, [(io.BytesIO(jpeg(SMALL_IMAGE)), "a.jpg")], "说明")
    save_report(world.reporting, world.chair, "<p>第二稿：补充了一年来的工作。</p>")  # keeps the first as a version
    world.report_version = versions_of(world.reporting)[0].number
    world.draft = make_campaign(world, "draft")
    save_report(world.draft, world.chair, "<p>还在起草的述职报告。</p>")
    [world.draft_image] = add_images(world.draft, world.chair, [(io.BytesIO(jpeg(SMALL_IMAGE)), "draft.jpg")])
    world.open = make_campaign(world, "open")
    world.published = make_campaign(world, "published", votes=[[3, 1, 1]] * 5)
    [world.rectification] = world.published.rectifications
    drive_rectification(world, world.rectification, "in_progress")
    add_progress(world.rectification, world.chair, "第一次座谈会已召开。", [(io.BytesIO(jpeg(SMALL_IMAGE)), "photo.jpg")])
    db.session.flush()
    world.evidence = db.session.scalars(sa.select(Evidence).join(RectificationEvent)
                                    .where(RectificationEvent.rectification_id == world.rectification.id)).one()
    world.notice = notify(world.chair, "suggestion", "您有一条新的意见建议。", "/inbox")
    world.batch = fresh_batch(world, world.union_a)

    roster_job = fresh_roster_job(world)
    review = request_review(world.county_officer, world.county, date(local_today().year, 1, 1), local_today())
    db.session.commit()
    run_in_background(app, run_review, review.id)
    db.session.expire_all()
    world.roster_job, world.review = roster_job, review
    assert world.review.file_key is not None, "the review job should have produced its PDF"
    return world


def fresh_batch(world, union=None):
    """A survey batch of the town picking one grassroots union (by default a new one with a member)."""
    if union is None:
        union = make_union(world.town, unique("丁公司工会"), members=1)
    spec = dict(title=unique("问卷批次"), rule=BatchRule.picked, params={"union_ids": [union.id]},
                subject_kind=SubjectKind.none, title_pattern="{工会}职工问卷")
    digest = select_unions(world.county_officer, world.town, BatchSpec(template=world.county_form, **spec)).digest
    batch, _ = create_batch(world.county_officer, world.town, BatchSpec(template=world.county_form, **spec),
                            f"{next(_serial):032x}", digest)
    db.session.commit()
    return batch


def fresh_roster_job(world):
    """A previewed roster import for the union beside union A."""
    job = roster_ops.start_import(world.roster_union, world.county_officer, io.BytesIO(roster_csv()), "花名册.csv")
    db.session.commit()
    run_in_background(world.app, roster_ops.run_preview, job.id)
    db.session.expire_all()
    return job


def failed_roster_job(world):
    """A roster import whose file had a header and no rows: failed, its file deleted."""
    header_only = roster_csv().splitlines(keepends=True)[0]
    job = roster_ops.start_import(world.roster_union, world.county_officer, io.BytesIO(header_only), "花名册.csv")
    db.session.commit()
    run_in_background(world.app, roster_ops.run_preview, job.id)
    db.session.expire_all()
    return job


def failed_review(world):
    review = request_review(world.county_officer, world.county, date(local_today().year, 1, 1), local_today())
    review.stage, review.message = ReviewStage.failed, "生成审阅报告时出错。"
    db.session.commit()
    return review


def fresh_suggestion(world, hidden=False):
    suggestion = suggestion_ops.add_suggestion(world.published, world.members[0], unique("职工食堂的卫生需要改进"))
    if hidden:
        suggestion_ops.hide(suggestion, world.county_officer, "含有不文明用语")
    db.session.commit()
    return suggestion


def fresh_rectification(world, state):
    """A rectification item of union A's published campaign (flagged from a suggestion), taken to `state`."""
    item = suggestion_ops.flag(fresh_suggestion(world), world.county_officer, "职工食堂卫生条件差，须限期整改")
    db.session.commit()
    return drive_rectification(world, item, state)


def fresh_report_image(world):
    [image] = add_images(world.reporting, world.chair, [(io.BytesIO(jpeg(SMALL_IMAGE)), "b.jpg")])
    db.session.commit()
    return image


def fresh_officer_grant(world):
    account = make_account(unique("spare_officer"))
    grant = grant_role(account, world.union_a, Role.officer)
    db.session.commit()
    return grant


def fresh_item(world):
    item = add_item(world.county_form, ItemKind.satisfaction3, unique("临时题"))
    db.session.commit()
    return item


# --- The table ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """Who may use one endpoint, and how to call it.

    `request(world)` returns the path, or (path, form data). A case that `consumes` something (an
    action that changes its object's state, a removal) gets a new one for every allowed role, made
    by `consumes(world)` and passed on as `request(world, thing)`; the refused roles share one, which
    their refusals leave as it was.
    """

    allowed: frozenset
    request: Callable
    consumes: Callable | None = None
    #: The request ends the session (logout): it gets a client of its own, signed out afterwards.
    ends_session: bool = False


def _reset_event(world):
    from evalapp.unions.events import MemberEventKind, record_member_event

    event = record_member_event(world.members[0].member, MemberEventKind.reset_code, world.county_officer)
    db.session.flush()
    return event


def _year_start():
    return date(local_today().year, 1, 1).isoformat()


RULES_FORM = {"title": "县级测评表", "quorum_ratio": "2/3", "grade_excellent": "90", "grade_good": "80",
              "grade_pass": "60", "rectify_below_rate": "0.8"}
ITEM_FORM = {"kind": "satisfaction3", "prompt": "新增的题目", "weight": "1", "required": "y"}


ACCESS = {
    # Accounts and the inbox: one's own, for everyone signed in.
    ("accounts.login", "GET"): Case(EVERYONE, lambda world: "/login"),
    ("accounts.login", "POST"): Case(EVERYONE, lambda world: ("/login", {})),
    ("unions.activate_view", "GET"): Case(EVERYONE, lambda world: "/activate"),
    ("unions.activate_view", "POST"): Case(EVERYONE, lambda world: ("/activate", {})),
    ("accounts.logout", "POST"): Case(SIGNED_IN, lambda world: ("/logout", {}), ends_session=True),
    ("accounts.password", "GET"): Case(SIGNED_IN, lambda world: "/account/password"),
    # An empty form: nobody's password changes here.
    ("accounts.password", "POST"): Case(SIGNED_IN, lambda world: ("/account/password", {})),
    ("unions.security", "GET"): Case(SIGNED_IN, lambda world: "/account/security"),
    # Only the member whose account it was may report a change as "not me".
    ("unions.report_credential_event", "POST"): Case(VOTERS, lambda world, event: (f"/account/security/{event.id}/report", {}),
                                      consumes=lambda world: _reset_event(world)),
    ("health.healthz", "GET"): Case(EVERYONE, lambda world: "/healthz"),
    ("notifications.inbox", "GET"): Case(SIGNED_IN, lambda world: "/inbox"),
    ("notifications.open_notice", "GET"): Case(CHAIR_ONLY, lambda world: f"/inbox/{world.notice.id}"),
    ("notifications.read_all", "POST"): Case(SIGNED_IN, lambda world: ("/inbox/read-all", {})),
    ("notifications.settings", "GET"): Case(SIGNED_IN, lambda world: "/account/notifications"),
    ("notifications.deliveries", "GET"): Case(ADMIN_ONLY, lambda world: "/admin/notifications"),
    ("notifications.retry", "POST"): Case(ADMIN_ONLY, lambda world: ("/admin/notifications/retry", {})),
    ("notifications.settings", "POST"): Case(
        SIGNED_IN, lambda world: ("/account/notifications", {"email": "someone@example.org"})),
    # Anyone may ask whether a receipt's ballot was counted, signed in or not (never what it says).
    ("voting.check_receipt", "GET"): Case(EVERYONE, lambda world: "/receipts"),
    ("voting.check_receipt", "POST"): Case(EVERYONE, lambda world: ("/receipts", {"code": "ABCD-EFGH-JKLM"})),
    ("campaigns.index", "GET"): Case(SIGNED_IN, lambda world: "/"),
    ("suggestions.overview", "GET"): Case(SIGNED_IN, lambda world: "/suggestions"),

    # Unions, rosters and templates: officers of the subtree.
    ("unions.index", "GET"): Case(STAFF, lambda world: "/unions/"),
    # Codes waiting for a second person: each officer sees those they may confirm (an empty form here).
    ("campaigns.confirmations", "GET"): Case(STAFF, lambda world: "/confirmations"),
    ("campaigns.confirmations", "POST"): Case(STAFF, lambda world: ("/confirmations", {})),
    ("unions.show", "GET"): Case(MANAGERS, lambda world: f"/unions/{world.union_a.id}"),
    ("unions.add_child", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.town.id}/children", {"name": unique("戊公司工会"), "kind": "grassroots", "sector": "other"})),
    ("unions.add_member_view", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.union_a.id}/members", {"name": unique("新会员")})),
    ("unions.appoint_view", "POST"): Case(MANAGERS, lambda world, account: (
        f"/unions/{world.union_a.id}/roles", {"role": "officer", "username": account.username}),
        consumes=lambda world: make_account(unique("appointee"))),
    ("unions.member_search", "GET"): Case(MANAGERS, lambda world: f"/unions/{world.county.id}/members/search?q=会员"),
    ("unions.confirm_revoke", "GET"): Case(MANAGERS, lambda world, grant: (
        f"/unions/{world.union_a.id}/roles/{grant.id}/revoke"), consumes=fresh_officer_grant),
    ("unions.revoke_view", "POST"): Case(MANAGERS, lambda world, grant: (
        f"/unions/{world.union_a.id}/roles/{grant.id}/revoke", {}), consumes=fresh_officer_grant),
    ("unions.sector_view", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.union_a.id}/sector", {"sector": next(s for s in UnionSector if s != world.union_a.sector).value})),
    ("unions.invitations", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.union_a.id}/invitations", {"member_id": str(world.phone_member.id)})),
    ("rosters.template", "GET"): Case(STAFF, lambda world: "/rosters/template.csv"),
    ("unions.import_template", "GET"): Case(STAFF, lambda world: "/unions/import-template.csv"),
    # Once the tree has a union, the first-run page only sends the administrator on to the unions.
    ("unions.first_run", "GET"): Case(ADMIN_ONLY, lambda world: "/setup"),
    ("unions.first_run", "POST"): Case(ADMIN_ONLY, lambda world: ("/setup", {"name": "第二个市总工会"})),
    ("unions.code_view", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.union_a.id}/code", {"code": unique("CODE-")})),
    ("rosters.upload", "GET"): Case(MANAGERS, lambda world: f"/rosters/unions/{world.roster_union.id}/import"),
    ("rosters.upload", "POST"): Case(MANAGERS, lambda world: (
        f"/rosters/unions/{world.roster_union.id}/import", {"roster": (io.BytesIO(roster_csv()), "花名册.csv")})),
    ("rosters.tree_upload", "GET"): Case(MANAGERS, lambda world: f"/rosters/unions/{world.town.id}/tree-import"),
    ("rosters.tree_upload", "POST"): Case(MANAGERS, lambda world: (
        f"/rosters/unions/{world.town.id}/tree-import", {"tree": (io.BytesIO(
            f"工会代码,工会名称,类型\n{unique('G-')},新设公司工会,基层工会\n".encode()), "组织架构.csv")})),
    ("rosters.job", "GET"): Case(MANAGERS, lambda world: f"/rosters/jobs/{world.roster_job.id}"),
    ("rosters.apply_view", "POST"): Case(MANAGERS, lambda world, job: (f"/rosters/jobs/{job.id}/apply", {}),
                                         consumes=fresh_roster_job),
    ("rosters.abandon_view", "POST"): Case(MANAGERS, lambda world, job: (f"/rosters/jobs/{job.id}/abandon", {}),
                                           consumes=fresh_roster_job),
    ("rosters.retry_view", "POST"): Case(MANAGERS, lambda world, job: (
        f"/rosters/jobs/{job.id}/retry", {"roster": (io.BytesIO(roster_csv()), "花名册.csv")}),
        consumes=failed_roster_job),
    ("questionnaires.index", "GET"): Case(STAFF, lambda world: "/questionnaires/"),
    ("questionnaires.new", "GET"): Case(STAFF, lambda world: "/questionnaires/new"),
    # Any officer may file a new template, under a union of their own (the choices offer no other).
    ("questionnaires.new", "POST"): Case(STAFF, lambda world: (
        "/questionnaires/new", RULES_FORM | {"owner_union_id": str(world.county.id)})),
    ("questionnaires.show", "GET"): Case(MANAGERS, lambda world: f"/questionnaires/{world.county_form.id}"),
    ("questionnaires.show", "POST"): Case(MANAGERS, lambda world: (f"/questionnaires/{world.county_form.id}", ITEM_FORM)),
    ("questionnaires.edit_rules", "GET"): Case(MANAGERS, lambda world: f"/questionnaires/{world.county_form.id}/rules"),
    ("questionnaires.edit_rules", "POST"): Case(MANAGERS, lambda world: (
        f"/questionnaires/{world.county_form.id}/rules", RULES_FORM | {"title": unique("改名的测评表")})),
    ("questionnaires.edit_item", "GET"): Case(MANAGERS, lambda world: (
        f"/questionnaires/{world.county_form.id}/items/{world.county_form.items[0].id}")),
    ("questionnaires.edit_item", "POST"): Case(MANAGERS, lambda world: (
        f"/questionnaires/{world.county_form.id}/items/{world.county_form.items[0].id}",
        ITEM_FORM | {"prompt": unique("改过的题目")})),
    ("questionnaires.delete_item", "POST"): Case(MANAGERS, lambda world, item: (
        f"/questionnaires/{world.county_form.id}/items/{item.id}/delete", {}), consumes=fresh_item),
    ("questionnaires.move", "POST"): Case(MANAGERS, lambda world: (
        f"/questionnaires/{world.county_form.id}/items/{world.county_form.items[-1].id}/move/up", {})),
    ("questionnaires.copy", "POST"): Case(MANAGERS, lambda world: (f"/questionnaires/{world.county_form.id}/copy", {})),

    # Campaigns and batches: managers run them; the chair and the electorate see them.
    ("campaigns.new", "GET"): Case(MANAGERS, lambda world: f"/unions/{world.union_a.id}/campaigns/new"),
    ("campaigns.new", "POST"): Case(MANAGERS, lambda world: (f"/unions/{world.union_a.id}/campaigns/new", {
        "title": unique("新的评议"), "subject_kind": "chair", "electorate_scope": "union",
        "template_id": str(world.form.id)})),
    ("campaigns.show", "GET"): Case(VIEWERS, lambda world: f"/campaigns/{world.open.id}"),
    ("campaigns.act", "POST"): Case(MANAGERS, lambda world, campaign: (
        f"/campaigns/{campaign.id}/actions/start_reporting", {}), consumes=lambda world: make_campaign(world, "draft")),
    ("campaigns.confirm", "GET"): Case(MANAGERS, lambda world: f"/campaigns/{world.open.id}/actions/close"),
    ("results.count", "POST"): Case(MANAGERS, lambda world, campaign: (
        f"/campaigns/{campaign.id}/actions/count", {}), consumes=lambda world: make_campaign(world, "closed")),
    ("results.publish", "POST"): Case(MANAGERS, lambda world, campaign: (
        f"/campaigns/{campaign.id}/actions/publish", {}), consumes=lambda world: make_campaign(world, "closed")),
    ("campaigns.poster", "GET"): Case(MANAGERS, lambda world: f"/campaigns/{world.open.id}/poster"),
    ("voting.turnout_page", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.open.id}/turnout"),
    ("voting.non_voters", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.open.id}/non-voters"),
    ("voting.non_voters_csv", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.open.id}/non-voters.csv"),
    ("campaigns.new_batch", "GET"): Case(MANAGERS, lambda world: f"/unions/{world.town.id}/batches/new"),
    ("campaigns.new_batch", "POST"): Case(MANAGERS, lambda world: (f"/unions/{world.town.id}/batches/new", {
        "title": unique("批次"), "rule": "picked", "union_ids": str(world.union_a.id), "subject_kind": "none",
        "electorate_scope": "union", "template_id": str(world.county_form.id), "title_pattern": "{工会}职工问卷"})),
    ("campaigns.batch", "GET"): Case(MANAGERS, lambda world: f"/batches/{world.batch.id}"),
    ("campaigns.batch_act", "POST"): Case(MANAGERS, lambda world, batch: (f"/batches/{batch.id}/actions/open", {}),
                                          consumes=fresh_batch),

    # The duty report: the chair writes it; managers read its versions; the electorate reads its files.
    ("duty_reports.edit", "GET"): Case(CHAIR_ONLY, lambda world: f"/campaigns/{world.reporting.id}/report"),
    ("duty_reports.edit", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/campaigns/{world.reporting.id}/report", {"body": f"<p>{unique('修改后的述职报告')}</p>"})),
    ("duty_reports.upload_images", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/campaigns/{world.reporting.id}/report/images", {"images": (io.BytesIO(jpeg(SMALL_IMAGE)), "c.jpg")})),
    ("duty_reports.upload_video", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/campaigns/{world.reporting.id}/report/video", {"video": (io.BytesIO(mp4()), "v.mp4")})),
    ("duty_reports.upload_attachment", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/campaigns/{world.reporting.id}/report/attachments", {"attachment": (io.BytesIO(PDF), "a.pdf")})),
    ("duty_reports.caption", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/campaigns/{world.reporting.id}/report/files/{world.report_image.id}/caption",
        {f"f{world.report_image.id}-caption": unique("新的图片说明")})),
    ("duty_reports.remove", "POST"): Case(CHAIR_ONLY, lambda world, image: (
        f"/campaigns/{world.reporting.id}/report/files/{image.id}/remove", {}), consumes=fresh_report_image),
    ("duty_reports.file", "GET"): Case(VIEWERS, lambda world: (
        f"/campaigns/{world.reporting.id}/report/files/{world.report_image.id}")),
    ("duty_reports.small", "GET"): Case(VIEWERS, lambda world: (
        f"/campaigns/{world.reporting.id}/report/files/{world.report_image.id}/small")),
    ("duty_reports.versions", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.reporting.id}/report/versions"),
    ("duty_reports.version", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: (
        f"/campaigns/{world.reporting.id}/report/versions/{world.report_version}")),

    # Voting: the electorate votes; whoever sees the campaign may see the thank-you page.
    ("voting.vote", "GET"): Case(VOTERS, lambda world: f"/campaigns/{world.open.id}/vote"),
    ("voting.vote", "POST"): Case(VOTERS, lambda world, campaign: (
        f"/campaigns/{campaign.id}/vote", ballot_form(campaign, [1, 1, 1])), consumes=lambda world: make_campaign(world, "open")),
    ("voting.voted", "GET"): Case(VIEWERS, lambda world: f"/campaigns/{world.open.id}/voted"),

    # Results: published to the electorate; exports and the PDF for those who run the campaign.
    ("results.show", "GET"): Case(VIEWERS, lambda world: f"/campaigns/{world.published.id}/result"),
    ("results.tally_export", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.published.id}/tally.csv"),
    ("results.ballots_export", "GET"): Case(MANAGERS, lambda world: f"/campaigns/{world.published.id}/ballots.csv"),
    ("reviews.result", "GET"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.published.id}/result.pdf"),

    # Suggestions: members write them, the chair answers, officers above moderate.
    ("suggestions.index", "GET"): Case(VIEWERS, lambda world: f"/campaigns/{world.published.id}/suggestions"),
    ("suggestions.index", "POST"): Case(VOTERS, lambda world: (
        f"/campaigns/{world.published.id}/suggestions", {"body": unique("建议多组织文体活动")})),
    ("suggestions.answer", "POST"): Case(CHAIR_ONLY, lambda world, suggestion: (
        f"/suggestions/{suggestion.id}/response", {"response": "已安排整改。"}), consumes=fresh_suggestion),
    ("suggestions.hide_view", "POST"): Case(MANAGERS, lambda world, suggestion: (
        f"/suggestions/{suggestion.id}/hide", {"reason": "含有人身攻击"}), consumes=fresh_suggestion),
    ("suggestions.unhide_view", "POST"): Case(MANAGERS, lambda world, suggestion: (f"/suggestions/{suggestion.id}/unhide", {}),
                                           consumes=lambda world: fresh_suggestion(world, hidden=True)),
    ("suggestions.flag_view", "POST"): Case(CHAIR_AND_MANAGERS, lambda world, suggestion: (
        f"/suggestions/{suggestion.id}/flag", {"problem": "职工食堂卫生条件差"}), consumes=fresh_suggestion),

    # Rectification: the chair owns the item, officers above review it, the electorate follows it.
    ("rectification.index", "GET"): Case(STAFF | CHAIR_ONLY, lambda world: "/rectifications/"),
    ("rectification.show", "GET"): Case(VIEWERS, lambda world: f"/rectifications/{world.rectification.id}"),
    ("rectification.plan", "POST"): Case(CHAIR_ONLY, lambda world, item: (
        f"/rectifications/{item.id}/plan", {"measures": "每月召开座谈会。", "responsible": "主席甲",
                                            "target_date": (local_today() + timedelta(days=60)).isoformat()}),
        consumes=lambda world: fresh_rectification(world, "awaiting_plan")),
    ("rectification.progress", "POST"): Case(CHAIR_ONLY, lambda world: (
        f"/rectifications/{world.rectification.id}/progress", {"text": unique("又召开了一次座谈会")})),
    ("rectification.mark_complete", "POST"): Case(CHAIR_ONLY, lambda world, item: (
        f"/rectifications/{item.id}/complete", {"outcome": "食堂已整改。"}),
        consumes=lambda world: fresh_rectification(world, "in_progress")),
    ("rectification.deadline", "POST"): Case(MANAGERS, lambda world: (
        f"/rectifications/{world.rectification.id}/deadline",
        {"new_date": (local_today() + timedelta(days=90 + next(_serial) % 300)).isoformat(), "reason": "施工期延长"})),
    ("rectification.send_back", "POST"): Case(MANAGERS, lambda world, item: (
        f"/rectifications/{item.id}/return_plan", {"comment": "请写明完成时间。"}),
        consumes=lambda world: fresh_rectification(world, "plan_submitted")),
    ("rectification.confirm_publish", "GET"): Case(CHAIR_AND_MANAGERS, lambda world, item: (
        f"/rectifications/{item.id}/publish"), consumes=lambda world: fresh_rectification(world, "reviewed")),
    ("rectification.decide", "POST"): Case(MANAGERS, lambda world, item: (f"/rectifications/{item.id}/approve_plan", {}),
                                           consumes=lambda world: fresh_rectification(world, "plan_submitted")),
    # Progress updates, and so their evidence, are public to the electorate once the plan is approved.
    ("rectification.evidence", "GET"): Case(VIEWERS, lambda world: f"/rectifications/evidence/{world.evidence.id}"),

    # Reviews and coverage: officers of the subtree.
    ("reviews.review", "GET"): Case(MANAGERS, lambda world: f"/unions/{world.county.id}/review"),
    # The period runs backwards, so that the officers' requests stop at the dates (each would build a PDF).
    ("reviews.review", "POST"): Case(MANAGERS, lambda world: (
        f"/unions/{world.county.id}/review", {"period_start": local_today().isoformat(), "period_end": _year_start()})),
    ("reviews.review_job", "GET"): Case(MANAGERS, lambda world: f"/reviews/{world.review.id}"),
    ("reviews.review_retry", "POST"): Case(MANAGERS, lambda world, job: (f"/reviews/{job.id}/retry", {}),
                                           consumes=failed_review),
    ("reviews.review_download", "GET"): Case(MANAGERS, lambda world: f"/reviews/{world.review.id}/download"),
    ("coverage.show", "GET"): Case(MANAGERS, lambda world: f"/coverage?union={world.county.id}"),
    ("coverage.yearly", "GET"): Case(MANAGERS, lambda world: f"/coverage/yearly?union={world.county.id}"),
    ("coverage.yearly_pdf", "GET"): Case(MANAGERS, lambda world: f"/coverage/yearly.pdf?union={world.county.id}"),
}

#: Other forms of a route whose users differ from the entry above, or that run other code.
VARIANTS = {
    # A draft is for those who prepare it: members see the campaign and its report once it is announced.
    ("campaigns.show", "GET", "draft"): Case(CHAIR_AND_MANAGERS, lambda world: f"/campaigns/{world.draft.id}"),
    ("duty_reports.file", "GET", "draft"): Case(CHAIR_AND_MANAGERS, lambda world: (
        f"/campaigns/{world.draft.id}/report/files/{world.draft_image.id}")),
    ("voting.non_voters", "GET", "one union"): Case(CHAIR_AND_MANAGERS, lambda world: (
        f"/campaigns/{world.open.id}/non-voters?union={world.union_a.id}")),
    ("suggestions.overview", "GET", "one campaign"): Case(VIEWERS, lambda world: f"/suggestions?campaign={world.published.id}"),
    ("suggestions.overview", "GET", "one union"): Case(
        CHAIR_AND_MANAGERS, lambda world: f"/suggestions?union={world.union_a.id}"),
    # The chair's page has no union filter; officers may filter by a union of their own subtree only.
    ("rectification.index", "GET", "one union"): Case(
        CHAIR_AND_MANAGERS, lambda world: f"/rectifications/?union={world.town.id}"),
    ("rectification.decide", "POST", "approve_outcome"): Case(MANAGERS, lambda world, item: (
        f"/rectifications/{item.id}/approve_outcome", {}), consumes=lambda world: fresh_rectification(world, "completed")),
    # The owner publishes the approved outcome too, not only the reviewers.
    ("rectification.decide", "POST", "publish"): Case(CHAIR_AND_MANAGERS, lambda world, item: (
        f"/rectifications/{item.id}/publish", {}), consumes=lambda world: fresh_rectification(world, "reviewed")),
    ("rectification.send_back", "POST", "return_outcome"): Case(MANAGERS, lambda world, item: (
        f"/rectifications/{item.id}/return_outcome", {"comment": "请附上照片。"}),
        consumes=lambda world: fresh_rectification(world, "completed")),
    ("results.tally_export", "GET", "xlsx"): Case(CHAIR_AND_MANAGERS, lambda world: (
        f"/campaigns/{world.published.id}/tally.xlsx")),
    ("results.ballots_export", "GET", "xlsx"): Case(MANAGERS, lambda world: f"/campaigns/{world.published.id}/ballots.xlsx"),
    ("questionnaires.move", "POST", "down"): Case(MANAGERS, lambda world: (
        f"/questionnaires/{world.county_form.id}/items/{world.county_form.items[0].id}/move/down", {})),
}

CASES = {(endpoint, method, ""): case for (endpoint, method), case in ACCESS.items()} | VARIANTS


#: Endpoints no session opens, tested on their own: /metrics takes Prometheus's token (tests/test_metrics.py).
OUTSIDE_SESSIONS = {"static", "metrics.metrics"}


def routes(app):
    """Every (endpoint, method) the application answers, static files, /metrics and HEAD/OPTIONS aside."""
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint not in OUTSIDE_SESSIONS
            for method in rule.methods - {"HEAD", "OPTIONS"}}


# --- Running requests --------------------------------------------------------------------------------

def client_of(app, role):
    return app.test_client() if role == ANONYMOUS else log_in(app, role)


#: Tables whose rows change state without an entry in the audit log; compared row by row.
UNAUDITED_STATE = ("notifications", "deliveries", "broadcasts", "jobs", "roster_imports")


@functools.cache
def _row_counts():
    """One query counting the rows of every table."""
    return sa.select(*[sa.select(sa.func.count()).select_from(table).scalar_subquery().label(table.name)
                       for table in db.metadata.sorted_tables])


def database_state(app):
    """What a refused request must leave alone.

    Every table's row count (the audit log's among them: each change of state writes it), the rows
    of the tables that change state without it, and the files in the upload folders.
    """
    db.session.commit()
    state = dict(db.session.execute(_row_counts()).one()._mapping)
    for name in UNAUDITED_STATE:
        table = db.metadata.tables[name]
        state[name + " rows"] = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
    for key in ("UPLOAD_FOLDER", "ROSTER_UPLOAD_FOLDER"):
        folder = Path(app.config[key])
        state[key] = sorted(str(path) for path in folder.rglob("*")) if folder.exists() else []
    return state


def changed_parts(before, after):
    return sorted(name for name in before if before[name] != after[name])


def prepare(case, world, allowed, shared):
    """Make what the case needs and return (path, form data); `shared` keeps what refused roles share."""
    if case.consumes is None:
        request = case.request(world)
    else:
        if allowed:
            thing = case.consumes(world)
        else:
            if id(case) not in shared:
                shared[id(case)] = case.consumes(world)
            thing = shared[id(case)]
        request = case.request(world, thing)
    path, data = (request, None) if isinstance(request, str) else request
    db.session.commit()
    return path, data


def is_login_redirect(response):
    return response.status_code in (301, 302, 303, 307, 308) and \
        urlsplit(response.headers.get("Location", "")).path == "/login"


def describe(response):
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


def check_allowed(response, label):
    assert response.status_code not in (401, 403, 404, 405) and response.status_code < 500, \
        f"{label}: should be allowed, got {describe(response)}"
    assert not is_login_redirect(response), f"{label}: should be allowed, was sent to the login page"


def check_refused(response, role, label):
    if role == ANONYMOUS:
        assert is_login_redirect(response), f"{label}: anonymous should be sent to log in, got {describe(response)}"
    else:
        assert response.status_code in (403, 404), f"{label}: should be refused, got {describe(response)}"


# --- Fixtures ----------------------------------------------------------------------------------------

@contextmanager
def matrix_world(app, folder):
    """Build the world in an app context that lasts until the block ends, then empty the database.

    Used by module-scoped fixtures (here and in test_csrf): the uploads go to `folder`, and each
    role gets a client signed in once.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "UPLOAD_FOLDER", str(folder / "uploads"))
        patch.setitem(app.config, "ROSTER_UPLOAD_FOLDER", str(folder / "rosters"))
        with app.app_context():
            try:
                limiter.reset()
                world = build_matrix_world(app)
                clients = {role: client_of(app, role) for role in ROLES}
                yield SimpleNamespace(app=app, world=world, clients=clients, shared={})
            finally:
                empty_database(app)


@pytest.fixture(scope="module")
def matrix(app, tmp_path_factory):
    """One world and one signed-in client per role, for the whole module (per backend)."""
    with matrix_world(app, tmp_path_factory.mktemp("matrix")) as built:
        yield built


@pytest.fixture(autouse=True)
def app_context(matrix):
    """Replaces conftest's clean database per test: this module's tests share the module's world."""
    limiter.reset()
    yield
    db.session.rollback()


# --- Tests -------------------------------------------------------------------------------------------

def test_every_route_has_an_entry(matrix):
    """A new page or action must say who may use it before it ships."""
    answered = routes(matrix.app)
    missing = sorted(answered - ACCESS.keys())
    assert not missing, f"add these to ACCESS in {__name__}, with the roles allowed to use them: {missing}"
    stale = sorted(ACCESS.keys() - answered)
    assert not stale, f"ACCESS names routes the application no longer has: {stale}"
    assert {(endpoint, method) for endpoint, method, _ in VARIANTS} <= answered


def _case_params():
    for (endpoint, method, variant), case in CASES.items():
        for role in ROLES:
            verdict = "allowed" if role in case.allowed else "refused"
            name = f"{endpoint}{'(' + variant + ')' if variant else ''}-{method}-{role}-{verdict}"
            yield pytest.param(endpoint, method, variant, role, id=name)


@pytest.mark.parametrize(("endpoint", "method", "variant", "role"), list(_case_params()))
def test_access(matrix, endpoint, method, variant, role):
    case = CASES[(endpoint, method, variant)]
    app, world = matrix.app, matrix.world
    assert case.allowed, f"{endpoint}: nobody may use it?"
    allowed = role in case.allowed
    path, data = prepare(case, world, allowed, matrix.shared)
    routed, _ = app.url_map.bind("localhost").match(urlsplit(path).path, method=method)
    assert routed == endpoint, f"the case for {endpoint} requests {path}, which is {routed}"

    client = client_of(app, role) if case.ends_session else matrix.clients[role]
    label = f"{method} {path} as {role}"
    before = database_state(app) if method == "POST" and not allowed else None
    response = client.open(path, method=method, data=data)
    if allowed and case.ends_session:
        assert is_login_redirect(response) and is_login_redirect(client.get("/inbox")), f"{label}: still signed in"
        # Logging out ends every session of the account, the shared client's too: sign it in again.
        matrix.clients[role] = client_of(app, role)
    elif allowed:
        check_allowed(response, label)
    else:
        check_refused(response, role, label)
        if before is not None:
            after = database_state(app)
            assert before == after, f"{label} was refused but changed {changed_parts(before, after)}"


def test_an_officer_files_new_templates_only_under_a_union_of_their_own(matrix):
    """The new-template form is open to every officer; the owner must be a union they manage."""
    world, app = matrix.world, matrix.app
    form = RULES_FORM | {"owner_union_id": str(world.county.id), "title": unique("跨区的测评表")}
    before = database_state(app)
    assert matrix.clients[OTHER_OFFICER].post("/questionnaires/new", data=form).status_code == 400
    after = database_state(app)
    assert before == after, f"changed {changed_parts(before, after)}"
    response = matrix.clients[COUNTY_OFFICER].post("/questionnaires/new", data=form)
    assert response.status_code == 302 and database_state(app)["questionnaires"] == before["questionnaires"] + 1
