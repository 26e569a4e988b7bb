"""Credential codes of electors while voting is open: which ones wait for a second person.

The accounts floor asks through a signal (evalapp/accounts/signals.py) whether a member is an
elector of an open campaign; this module answers it and lists the codes an officer may confirm.
"""
from datetime import timedelta

from sqlalchemy import and_, or_, select

from evalapp.accounts.signals import campaigns_of_member
from evalapp.campaigns.models import Campaign, CampaignState, ElectorateEntry, ElectorateScope
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.unions.events import MemberEvent, MemberEventKind
from evalapp.unions.invitations import pending_confirmation
from evalapp.unions.models import Invitation, Member, Union
from evalapp.unions.operations import managed_unions_query


@campaigns_of_member.connect
def _campaigns_of(member):
    """Open campaigns whose electorate holds the member, and announced ones whose roster scope does."""
    found = [(title, True) for title in db.session.scalars(
        select(Campaign.title).join(ElectorateEntry, ElectorateEntry.campaign_id == Campaign.id)
        .where(ElectorateEntry.member_id == member.id, Campaign.state == CampaignState.open))]
    if member.active:
        found += [(title, False) for title in db.session.scalars(select(Campaign.title).where(
            Campaign.state == CampaignState.reporting,
            or_(Campaign.union_id == member.union_id,
                and_(Campaign.electorate_scope == ElectorateScope.subtree, Campaign.union_id.in_(member.union.lineage_ids)))))]
    return found


def held_invitations(actor):
    """Unused, unexpired, unconfirmed codes that wait for a second person and that `actor` may confirm."""
    query = (select(Invitation).join(Member, Member.id == Invitation.member_id).join(Union, Union.id == Member.union_id)
             .where(Invitation.used_at.is_(None), Invitation.confirmed_at.is_(None), Invitation.expires_at > utcnow(),
                    Union.id.in_(select(managed_unions_query(actor).subquery().c.id)))
             .order_by(Union.path, Invitation.issued_at, Member.id))
    return [invitation for invitation in db.session.scalars(query)
            if invitation.can_confirm(actor) and pending_confirmation(invitation)]


def confirmation_key(invitation):
    """The code as a confirming officer saw it: printing it again (a new code) changes the key."""
    return f"{invitation.id}-{invitation.issued_at:%Y%m%d%H%M%S%f}"


#: A phone changed this recently may be the issuer's own: the confirming officer is warned not to rely on it.
RECENT_PHONE_CHANGE = timedelta(days=30)


def recent_phone_changes(invitations):
    """{member id: [(when, by whom)]} of the phone changes of these codes' members in the last 30 days."""
    ids = [invitation.member_id for invitation in invitations]
    if not ids:
        return {}
    changes = {}
    for event in db.session.scalars(select(MemberEvent).where(
            MemberEvent.member_id.in_(ids), MemberEvent.kind == MemberEventKind.phone_changed.value,
            MemberEvent.at >= utcnow() - RECENT_PHONE_CHANGE).order_by(MemberEvent.at)):
        changes.setdefault(event.member_id, []).append((event.at, event.actor.display_name if event.actor else "导入"))
    return changes
