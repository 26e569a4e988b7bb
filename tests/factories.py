"""Factories that build a small federation through the real operations."""
from types import SimpleNamespace

from evalapp.accounts.models import Role
from evalapp.accounts.operations import create_account, grant_role
from evalapp.campaigns import operations as campaign_ops
from evalapp.campaigns.models import ElectorateScope, SubjectKind
from evalapp.core.db import db
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.unions.models import UnionKind
from evalapp.unions.operations import add_member, create_union
from evalapp.voting.operations import cast_ballot

PASSWORD = "correct-horse-9"


def make_account(username, name=None, *, member_of=None, chair_of=None, officer_of=None, is_admin=False):
    account = create_account(username, name or username, PASSWORD, is_admin=is_admin)
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
    w = SimpleNamespace()
    w.city = create_union("江门市总工会", UnionKind.city)
    w.county = create_union("新会区总工会", UnionKind.county, w.city)
    w.town = create_union("会城街道总工会", UnionKind.town, w.county)
    w.union_a = create_union("甲公司工会", UnionKind.grassroots, w.town)
    w.other_county = create_union("台山市总工会", UnionKind.county, w.city)
    w.union_b = create_union("乙公司工会", UnionKind.grassroots, w.other_county)
    w.admin = make_account("admin", is_admin=True)
    w.city_officer = make_account("city_officer", officer_of=w.city)
    w.county_officer = make_account("county_officer", officer_of=w.county)
    w.other_officer = make_account("other_officer", officer_of=w.other_county)
    w.chair = make_account("chair", "主席甲", member_of=w.union_a, chair_of=w.union_a)
    w.members = [make_account(f"m{i}", f"会员{i}", member_of=w.union_a) for i in range(1, member_count + 1)]
    w.outsider = make_account("outsider", "乙会员", member_of=w.union_b)
    w.form = make_questionnaire(w.city)
    db.session.commit()
    return w


def make_campaign(w, state="draft", union=None, subject=SubjectKind.chair, scope=ElectorateScope.union,
                  form=None, votes=()):
    """Create a campaign for union A and drive it to `state`; `votes` are lists of option positions."""
    union = union or w.union_a
    officer = w.county_officer if union.is_within(w.county) else w.city_officer
    campaign = campaign_ops.create_campaign(officer, union, form or w.form, "2026年度述职评议", subject, "", scope)
    steps = ["reporting", "open", "closed", "published", "archived"]
    for step in steps[: steps.index(state) + 1] if state != "draft" else []:
        if step == "reporting":
            campaign_ops.start_reporting(campaign, officer)
            if subject == SubjectKind.chair:
                campaign_ops.save_report(campaign, w.chair, "一年来的工作报告。")
        elif step == "open":
            campaign_ops.open_voting(campaign, officer)
            for voter, positions in zip(w.members, votes):
                vote(campaign, voter, positions)
        elif step == "closed":
            campaign_ops.close_voting(campaign, officer)
        elif step == "published":
            campaign_ops.publish(campaign, officer)
        else:
            campaign_ops.archive(campaign, officer)
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
