"""Casting a secret ballot: participation and ballot in one transaction, once per member."""
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.voting.models import Answer, Ballot, Participation

ALREADY_VOTED = "您已在本次评议中投过票，每人只能投一次。"


def has_voted(campaign, member):
    return member is not None and db.session.get(Participation, (campaign.id, member.id)) is not None


def check_can_vote(campaign, account):
    """Raise Refused with the reason `account` cannot vote now; return the voting member otherwise."""
    member = account.member
    if campaign.state != CampaignState.open:
        raise Refused("本次评议当前不在投票时间内。" if campaign.state != CampaignState.closed else "本次评议已截止投票。")
    if campaign.closes_at is not None and utcnow() >= campaign.closes_at:
        raise Refused("本次评议已截止投票。")
    if member is None or not campaign.in_electorate(member):
        raise Refused("您不在本次评议的参评名单中。", 403)
    if has_voted(campaign, member):
        raise Refused(ALREADY_VOTED)
    return member


def _lock_campaign_state(campaign):
    """Return the campaign's state as stored now, holding a share lock on its row (PostgreSQL).

    Closing takes a conflicting lock, so a ballot is either counted before voting closes or refused.
    """
    return db.session.scalar(select(Campaign.state).where(Campaign.id == campaign.id).with_for_update(read=True))


def cast_ballot(campaign, account, choices):
    """Record `choices` ({item id: option id}, one per item) and return the voter's receipt code."""
    if _lock_campaign_state(campaign) != CampaignState.open:
        db.session.refresh(campaign)
    member = check_can_vote(campaign, account)
    answers = _validated_answers(campaign, choices)
    receipt = secrets.token_hex(8)
    db.session.add(Participation(campaign_id=campaign.id, member_id=member.id))
    ballot = Ballot(id=secrets.token_hex(16), campaign_id=campaign.id, receipt_hash=receipt_digest(receipt),
                    answers=[Answer(item_id=item_id, option_id=option_id) for item_id, option_id in answers])
    db.session.add(ballot)
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent request by the same member won the race; the primary key refused this one.
        db.session.rollback()
        raise Refused(ALREADY_VOTED) from None
    # SQLite takes no row locks: look again now that this transaction holds the write lock.
    if _lock_campaign_state(campaign) != CampaignState.open:
        db.session.rollback()
        raise Refused("本次评议已截止投票。")
    return receipt


def _validated_answers(campaign, choices):
    questionnaire = campaign.questionnaire
    known_items = {item.id: {option.id for option in item.options} for item in questionnaire.items}
    if set(choices) - set(known_items):
        raise Refused("提交的选票包含不属于本次评议的题目。", 400)
    missing = [item.position for item in questionnaire.items if item.id not in choices]
    if missing:
        raise Refused("请回答所有题目（第 {} 题未作答）。".format("、".join(map(str, missing))), 400)
    for item_id, option_id in choices.items():
        if option_id not in known_items[item_id]:
            raise Refused("提交的选项无效，请重新填写。", 400)
    return sorted(choices.items())


def receipt_digest(code):
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


def receipt_status(code):
    """Return ("unknown" | "received" | "counted", campaign or None) for a receipt code.

    Only whether the ballot is in a published result, never what it says.
    """
    ballot = db.session.scalar(select(Ballot).where(Ballot.receipt_hash == receipt_digest(code)))
    if ballot is None:
        return "unknown", None
    published = ballot.campaign.state in (CampaignState.published, CampaignState.archived)
    return ("counted" if published else "received"), ballot.campaign
