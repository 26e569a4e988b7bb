"""Factories that build a small federation through the real operations."""
import functools
from types import SimpleNamespace

from flask import current_app
from werkzeug.security import generate_password_hash

from evalapp.accounts.models import Role
from evalapp.accounts.operations import create_account, grant_role
from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import ElectorateScope, SubjectKind
from evalapp.core.db import db
from evalapp.duty_reports import operations as report_ops
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.unions.models import UnionKind
from evalapp.unions.operations import add_member, create_union
from evalapp.voting.operations import cast_ballot

PASSWORD = "correct-horse-9"


@functools.cache
def password_hash(method):
    """PASSWORD hashed once per hash method, as bulk loads do (its strength is checked in test_password_strength)."""
    return generate_password_hash(PASSWORD, method=method)


def make_account(username, name=None, *, member_of=None, chair_of=None, officer_of=None, is_admin=False):
    shared_hash = password_hash(current_app.config["PASSWORD_HASH_METHOD"])
    account = create_account(username, name or username, password_hash=shared_hash, is_admin=is_admin)
    if member_of is not None:
        add_member(member_of, name or username, account=account)
    if chair_of is not None:
        grant_role(account, chair_of, Role.chair)
    if officer_of is not None:
        grant_role(account, officer_of, Role.officer)
    return account


def make_questionnaire(owner, kinds=(ItemKind.satisfaction3, ItemKind.satisfaction3, ItemKind.scale), **rules):
    questionnaire = create_questionnaire(owner, "测评表", **rules)
    for position, kind in enumerate(kinds, start=1):
        add_item(questionnaire, kind, f"第{position}题", weight=position)
    return questionnaire


def build_world(member_count=5):
    """City → county → town → union A; a second county with union B; staff, a chair, members."""
    world = SimpleNamespace()
    world.city = create_union("江门市总工会", UnionKind.city)
    world.county = create_union("新会区总工会", UnionKind.county, world.city)
    world.town = create_union("会城街道总工会", UnionKind.town, world.county)
    world.union_a = create_union("甲公司工会", UnionKind.grassroots, world.town)
    world.other_county = create_union("台山市总工会", UnionKind.county, world.city)
    world.union_b = create_union("乙公司工会", UnionKind.grassroots, world.other_county)
    world.admin = make_account("admin", is_admin=True)
    world.city_officer = make_account("city_officer", officer_of=world.city)
    world.county_officer = make_account("county_officer", officer_of=world.county)
    world.other_officer = make_account("other_officer", officer_of=world.other_county)
    world.chair = make_account("chair", "主席甲", member_of=world.union_a, chair_of=world.union_a)
    world.members = [make_account(f"m{i}", f"会员{i}", member_of=world.union_a) for i in range(1, member_count + 1)]
    world.outsider = make_account("outsider", "乙会员", member_of=world.union_b)
    world.form = make_questionnaire(world.city)
    db.session.commit()
    return world


def make_campaign(world, state="draft", union=None, subject=SubjectKind.chair, scope=ElectorateScope.union,
                  form=None, votes=()):
    """Create a campaign for union A and drive it to `state`; `votes` are lists of option positions."""
    union = union or world.union_a
    officer = officer_for(world, union)
    campaign = campaign_ops.create_campaign(officer, union, form or world.form, "2026年度述职评议", subject, "", scope)
    steps = ["reporting", "open", "closed", "published", "archived"]
    for step in steps[: steps.index(state) + 1] if state != "draft" else []:
        if step == "reporting":
            campaign_ops.start_reporting(campaign, officer)
            if subject == SubjectKind.chair:
                report_ops.save_report(campaign, world.chair, "一年来的工作报告。")
        elif step == "open":
            campaign_ops.open_voting(campaign, officer)
            for voter, positions in zip(world.members, votes):
                vote(campaign, voter, positions)
        elif step == "closed":
            campaign_ops.close_voting(campaign, officer)
        elif step == "published":
            campaign_ops.publish(campaign, officer)
        else:
            campaign_ops.archive(campaign, officer)
    db.session.commit()
    return campaign


def officer_for(world, union):
    """The officer of `world` who runs campaigns for `union`: the county's within the county, else the city's."""
    return world.county_officer if union.is_within(world.county) else world.city_officer


def close_and_publish(world, campaign):
    """Close voting on `campaign` and publish its result, as the officer who runs it."""
    officer = officer_for(world, campaign.union)
    campaign_ops.close_voting(campaign, officer)
    campaign_ops.publish(campaign, officer)
    db.session.commit()
    return campaign


def choices_for(campaign, positions):
    """Map option positions (1-based, one per item) to {item id: option id}."""
    return {item.id: item.options[pos - 1].id for item, pos in zip(campaign.questionnaire.items, positions)}


def vote(campaign, account, positions):
    return cast_ballot(campaign, account, choices_for(campaign, positions))


def ballot_form(campaign, positions):
    """The form data a browser would post for these option positions."""
    return {f"item_{item_id}": str(option_id) for item_id, option_id in choices_for(campaign, positions).items()}


def add_roster(union, count, *, active=True, prefix=None):
    """Put `count` members without accounts on `union`'s roster in one bulk insert."""
    from sqlalchemy import insert

    from evalapp.unions.models import Member

    prefix = prefix or f"{union.name}会员"
    db.session.execute(insert(Member), [{"union_id": union.id, "name": f"{prefix}{i}", "active": active}
                                        for i in range(1, count + 1)])
    db.session.flush()


def make_union(parent, name, kind=UnionKind.grassroots, sector="other", members=0, chair=None):
    """Create a union under `parent` with `members` roster entries and, if `chair` (a login name) is given, a chair."""
    from evalapp.unions.models import UnionSector

    union = create_union(name, kind, parent, sector=UnionSector(sector))
    if members:
        add_roster(union, members)
    if chair is not None:
        make_account(chair, f"{name}主席", member_of=union, chair_of=union)
    return union


# --- Rectification items (added for the suggestion/rectification follow-up) ------------------------

PLAN_TEXT = ("一、每月召开一次会员代表座谈会，逐条听取意见。", "工会主席 主席甲")


def published_rectification(world, votes=((3, 1, 1),) * 5):
    """Publish a campaign of union A in which item 1 falls under 80%; return its one rectification item."""
    campaign = make_campaign(world, "published", votes=[list(v) for v in votes])
    [rectification] = campaign.rectifications
    return rectification


def drive_rectification(world, rectification, state, target_date=None):
    """Take `rectification` from awaiting_plan to `state` through the real operations, as chair and county officer.

    `returned` and `resubmitted` pass through one return; `in_progress` and later through a first approval.
    """
    from datetime import timedelta

    from evalapp.core.timeutil import local_today
    from evalapp.rectification import operations as rect_ops

    target_date = target_date or local_today() + timedelta(days=60)
    chair, officer = world.chair, world.county_officer
    path = {
        "awaiting_plan": [],
        "plan_submitted": ["submit"],
        "returned": ["submit", "return"],
        "resubmitted": ["submit", "return", "submit"],
        "in_progress": ["submit", "approve"],
        "completed": ["submit", "approve", "complete"],
        "reviewed": ["submit", "approve", "complete", "approve_outcome"],
        "published": ["submit", "approve", "complete", "approve_outcome", "publish"],
    }[state]
    for step in path:
        if step == "submit":
            rect_ops.submit_plan(rectification, chair, PLAN_TEXT[0], PLAN_TEXT[1], target_date)
        elif step == "return":
            rect_ops.return_plan(rectification, officer, "请写明每项措施的完成时间。")
        elif step == "approve":
            rect_ops.approve_plan(rectification, officer)
        elif step == "complete":
            rect_ops.complete(rectification, chair, "座谈会已召开三次，意见已逐条答复。")
        elif step == "approve_outcome":
            rect_ops.approve_outcome(rectification, officer)
        else:
            rect_ops.publish_outcome(rectification, chair)
    db.session.commit()
    return rectification
