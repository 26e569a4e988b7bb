"""Who is told about a campaign: its chair or the officers who answer for it, the officers above,
and its electorate (registered as the audience "campaign.electors")."""
from sqlalchemy import select

from evalapp.accounts.models import Account, Role, RoleGrant
from evalapp.campaigns.models import ElectorateEntry, SubjectKind
from evalapp.core.db import db
from evalapp.unions.models import Member, Union


def chair_accounts(union):
    return list(db.session.scalars(select(Account).join(RoleGrant, RoleGrant.account_id == Account.id).where(
        RoleGrant.union_id == union.id, RoleGrant.role == Role.chair).order_by(Account.id)))


def owner_accounts(campaign):
    """Who answers for the evaluated side: the chair; in a campaign without one, the officers above."""
    if campaign.subject_kind == SubjectKind.chair:
        return chair_accounts(campaign.union)
    return supervisors(campaign.union)


def supervisors(union, excluding=None):
    """Return the officers of the nearest union, from `union` upwards, that has any (besides
    `excluding`): the ones to tell."""
    rows = [(account, depth) for account, depth in db.session.execute(
        select(Account, Union.depth).join(RoleGrant, RoleGrant.account_id == Account.id)
        .join(Union, Union.id == RoleGrant.union_id)
        .where(RoleGrant.union_id.in_(union.lineage_ids), RoleGrant.role == Role.officer))
        if excluding is None or account.id != excluding.id]
    if not rows:
        return []
    nearest = max(depth for _account, depth in rows)
    return [account for account, depth in rows if depth == nearest]


def elector_accounts(campaign_id):
    """A select of the active accounts of the campaign's electorate (the audience "campaign.electors")."""
    return (select(Member.account_id).join(ElectorateEntry, ElectorateEntry.member_id == Member.id)
            .join(Account, Account.id == Member.account_id)
            .where(ElectorateEntry.campaign_id == campaign_id, Account.active.is_(True)))


def elector_phones_without_account(campaign_id):
    """A select of the roster phones of the campaign's electors who have no account yet."""
    return (select(Member.phone).join(ElectorateEntry, ElectorateEntry.member_id == Member.id)
            .where(ElectorateEntry.campaign_id == campaign_id, Member.account_id.is_(None), Member.phone.is_not(None)))
