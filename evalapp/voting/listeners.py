"""How voting takes part in the campaign pages: turnout, and whether the member has voted."""
from sqlalchemy import select

from evalapp.campaigns.models import CampaignState
from evalapp.campaigns.signals import batch_page, campaign_list, campaign_page
from evalapp.core.db import db
from evalapp.voting import participation
from evalapp.voting.models import Participation
from evalapp.voting.operations import ballots_cast, has_voted
from evalapp.voting.reminders import reminded


@campaign_page.connect
def _campaign_page(campaign, account):
    # The running count while voting is open or closed; after publication the result tells it.
    sees_internals = campaign.can_see_internals(account)
    shows_count = sees_internals and campaign.state in (CampaignState.open, CampaignState.closed)
    return {"ballots_cast": ballots_cast(campaign) if shows_count else None,
            "reminded": reminded(campaign) if sees_internals and campaign.opened_at is not None else None,
            "voted": has_voted(campaign, account.member),
            "can_see_turnout_page": sees_internals and campaign.electorate_size is not None}


@campaign_list.connect
def _voted_in(campaigns, account):
    if account.member is None or not campaigns:
        return {"voted_in": set()}
    return {"voted_in": set(db.session.scalars(select(Participation.campaign_id).where(
        Participation.member_id == account.member.id, Participation.campaign_id.in_([c.id for c in campaigns]))))}


@batch_page.connect
def _batch_turnout(batch, account, campaigns):
    voted = participation.for_batch(batch)
    started = [c for c in campaigns if c.electorate_size is not None]
    total = participation.Turnout(batch.title, sum(c.electorate_size for c in started),
                            sum(voted.get(c.id, 0) for c in started)) if started else None
    return {"voted": voted, "total": total}
