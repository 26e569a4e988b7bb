"""Credential codes of electors while voting is open: which ones wait for a second person.

The accounts floor asks through a signal (evalapp/accounts/signals.py) whether a member is an
elector of an open campaign; this module answers it and lists the codes an officer may confirm.
"""
from sqlalchemy import select

from evalapp.accounts.invitations import may_confirm
from evalapp.accounts.models import Invitation
from evalapp.accounts.signals import open_campaigns_of_member
from evalapp.campaigns.models import Campaign, CampaignState, ElectorateEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.unions.models import Member, Union


@open_campaigns_of_member.connect
def _open_campaigns(member):
    return list(db.session.scalars(select(Campaign.title).join(ElectorateEntry, ElectorateEntry.campaign_id == Campaign.id)
                                   .where(ElectorateEntry.member_id == member.id, Campaign.state == CampaignState.open)))


def held_invitations(actor):
    """Unused, unexpired, unconfirmed codes of electors of open campaigns that `actor` may confirm."""
    open_electors = (select(ElectorateEntry.member_id).join(Campaign, Campaign.id == ElectorateEntry.campaign_id)
                     .where(Campaign.state == CampaignState.open))
    query = (select(Invitation).join(Member, Member.id == Invitation.member_id).join(Union, Union.id == Member.union_id)
             .where(Invitation.used_at.is_(None), Invitation.confirmed_at.is_(None), Invitation.expires_at > utcnow(),
                    Invitation.member_id.in_(open_electors))
             .order_by(Union.path, Invitation.issued_at, Member.id))
    return [invitation for invitation in db.session.scalars(query) if may_confirm(actor, invitation)]
