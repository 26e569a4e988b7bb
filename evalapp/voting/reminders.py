"""The reminder a day before voting closes, to the electors who have not voted yet.

The system sends it; officers learn only how many it reached (the campaign page), never who.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.campaigns.notices import ACTIVATION_LINK, WITHOUT_ACCOUNT, campaign_link, local_moment
from evalapp.campaigns.people import elector_accounts, elector_phones_without_account
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.notifications.broadcasts import announce, recipients_of
from evalapp.unions.events import MemberEvent, MemberEventKind
from evalapp.unions.models import Member
from evalapp.voting.models import Participation

KIND = "voting.closing"
BEFORE_CLOSING = timedelta(hours=24)
#: No reminder this soon after the opening notice (a short voting window).
AFTER_OPENING = timedelta(hours=12)


def non_voter_accounts(campaign_id):
    """A select of the active electors' accounts without a participation (audience "campaign.non_voters")."""
    voted = select(Participation.member_id).where(Participation.campaign_id == campaign_id)
    return elector_accounts(campaign_id).where(Member.id.not_in(voted))


def _phone_changed_since_opening(campaign_id):
    """Members whose roster phone changed after voting opened. An official who re-imports a roster
    with his own number for a member would otherwise learn, by the text, that the member had not voted."""
    opened = select(Campaign.opened_at).where(Campaign.id == campaign_id).scalar_subquery()
    return select(MemberEvent.member_id).where(MemberEvent.kind == MemberEventKind.phone_changed.value,
                                               MemberEvent.at >= opened)


def non_voter_textable_accounts(campaign_id):
    """The non-voters' accounts that may be texted: not those whose roster phone changed since opening."""
    return non_voter_accounts(campaign_id).where(Member.id.not_in(_phone_changed_since_opening(campaign_id)))


def non_voter_phones_without_account(campaign_id):
    """Electors without an account have not voted; texted unless their phone changed since opening."""
    return elector_phones_without_account(campaign_id).where(
        Member.id.not_in(_phone_changed_since_opening(campaign_id)))


def remind_closing(now=None):
    """Announce the reminder for every open campaign closing within a day; return how many."""
    if not current_app.config.get("REMIND_NON_VOTERS", True):
        return 0
    now = now or utcnow()
    due = select(Campaign).where(Campaign.state == CampaignState.open, Campaign.closes_at.is_not(None),
                                 Campaign.closes_at > now, Campaign.closes_at <= now + BEFORE_CLOSING,
                                 Campaign.opened_at <= now - AFTER_OPENING)
    announced = 0
    for campaign in db.session.scalars(due).all():
        # Keyed by the closing time: a campaign given a later closing time is reminded again.
        closing = f"“{campaign.title}”将于 {local_moment(campaign.closes_at)} 截止投票"
        broadcast = announce(KIND, "campaign.non_voters", campaign.id, f"{closing}，您还没有投票，请及时参加评议。",
                             campaign_link(campaign), key=f"{KIND}:{campaign.id}:{campaign.closes_at:%Y%m%d%H%M}",
                             text_without_account=f"{closing}。{WITHOUT_ACCOUNT}", link_without_account=ACTIVATION_LINK,
                             expires_at=campaign.closes_at)
        announced += broadcast is not None
        db.session.commit()
    return announced


def reminded(campaign):
    """(how many electors the reminder reached, when it went out) for the campaign page."""
    return recipients_of(KIND, campaign.id)
