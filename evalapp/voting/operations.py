"""Casting a secret ballot: participation and ballot in one transaction, once per member."""
import hashlib
import secrets
import unicodedata

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.questionnaires.models import Item, ItemKind, Questionnaire
from evalapp.questionnaires.scoring import normalised
from evalapp.voting.forms import MAX_TEXT_ANSWER
from evalapp.voting.models import Answer, Ballot, Participation, TextAnswer

ALREADY_VOTED = "您已在本次评议中投过票，每人只能投一次。"


def ballots_cast(campaign):
    """How many members have voted in `campaign` (one participation each)."""
    return db.session.scalar(select(func.count()).select_from(Participation).filter_by(campaign_id=campaign.id))


def has_voted(campaign, member):
    return member is not None and db.session.get(Participation, (campaign.id, member.id)) is not None


def load_questionnaire(campaign):
    """Return campaign.questionnaire with its items and options, loaded in two queries, not one per item.

    The vote page's form and cast_ballot both ask: the second finds what the first loaded.
    """
    if "questionnaire" not in inspect(campaign).unloaded and _items_loaded(campaign.questionnaire):
        return campaign.questionnaire
    questionnaire = db.session.scalars(select(Questionnaire).where(Questionnaire.id == campaign.questionnaire_id)
                                       .options(selectinload(Questionnaire.items).selectinload(Item.options))).one()
    # The campaign now holds it: the identity map alone would let it go once the caller drops it.
    set_committed_value(campaign, "questionnaire", questionnaire)
    return questionnaire


def _items_loaded(questionnaire):
    return "items" not in inspect(questionnaire).unloaded and \
        all("options" not in inspect(item).unloaded for item in questionnaire.items)


def check_can_vote(campaign, account):
    """Raise Refused with the reason `account` cannot vote now; return the voting member otherwise."""
    member = check_eligible(campaign, account)
    if has_voted(campaign, member):
        raise Refused(ALREADY_VOTED)
    return member


def check_eligible(campaign, account):
    """check_can_vote without asking whether the member has voted (cast_ballot's flush answers that)."""
    member = account.member
    if campaign.state != CampaignState.open:
        raise Refused("本次评议当前不在投票时间内。" if campaign.state != CampaignState.closed else "本次评议已截止投票。")
    if campaign.closes_at is not None and utcnow() >= campaign.closes_at:
        raise Refused("本次评议已截止投票。")
    if member is None or not campaign.in_electorate(member):
        raise Refused("您不在本次评议的参评名单中。", 403)
    return member


def _lock_campaign_state(campaign):
    """Return the campaign's state as stored now, holding a share lock on its row (PostgreSQL).

    Closing takes a conflicting lock, so a ballot is either counted before voting closes or refused.
    """
    return db.session.scalar(select(Campaign.state).where(Campaign.id == campaign.id).with_for_update(read=True))


def cast_ballot(campaign, account, choices):
    """Record `choices` and return the voter's receipt code.

    `choices` maps item id to an option id (satisfaction, scale, single choice), a list of option ids
    (multiple choice) or a text (free text); None or empty means unanswered, allowed for optional items.
    """
    if _lock_campaign_state(campaign) != CampaignState.open:
        db.session.refresh(campaign)
    # Whether the member has voted is left to the participation's primary key, at the flush below:
    # asking first would cost every ballot a query and still race with a concurrent one.
    member = check_eligible(campaign, account)
    questionnaire = load_questionnaire(campaign)
    answers, texts = _validated_answers(questionnaire, choices)
    receipt = secrets.token_hex(8)
    db.session.add(Participation(campaign_id=campaign.id, member_id=member.id,
                                 voted_hour=utcnow().replace(minute=0, second=0, microsecond=0)))
    ballot = Ballot(id=secrets.token_hex(16), campaign_id=campaign.id, receipt_hash=receipt_digest(receipt),
                    **ballot_summary(questionnaire, answers),
                    answers=[Answer(campaign_id=campaign.id, item_id=item_id, option_id=option_id)
                             for item_id, option_id in answers])
    db.session.add(ballot)
    db.session.add_all(TextAnswer(id=secrets.token_hex(16), campaign_id=campaign.id, item_id=item_id, body=body)
                       for item_id, body in texts)
    try:
        db.session.flush()
    except IntegrityError:
        # The member has voted already (or a concurrent request won the race): the key refused this one.
        db.session.rollback()
        raise Refused(ALREADY_VOTED) from None
    # SQLite takes no row locks: look again now that this transaction holds the write lock. (On
    # PostgreSQL the share lock taken above keeps closing waiting until this ballot is committed.)
    if db.session.get_bind().dialect.name == "sqlite" and _lock_campaign_state(campaign) != CampaignState.open:
        db.session.rollback()
        raise Refused("本次评议已截止投票。")
    return receipt


def _validated_answers(questionnaire, choices):
    """Return ([(item id, option id)], [(item id, text)]) sorted, or refuse the whole ballot."""
    items = {item.id: item for item in questionnaire.items}
    if set(choices) - set(items):
        raise Refused("提交的选票包含不属于本次评议的题目。", 400)
    answers, texts, missing = [], [], []
    for item_id, item in items.items():
        value = choices.get(item_id)
        if item.kind == ItemKind.text:
            text = unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""
            if len(text) > MAX_TEXT_ANSWER:
                raise Refused(f"第 {item.position} 题的回答不能超过 {MAX_TEXT_ANSWER} 字。", 400)
            if text:
                texts.append((item_id, text))
            elif item.required:
                missing.append(item.position)
            continue
        chosen = _chosen_options(item, value)
        if not chosen and item.required:
            missing.append(item.position)
        answers.extend((item_id, option_id) for option_id in chosen)
    if missing:
        raise Refused("请回答所有必答题（第 {} 题未作答）。".format("、".join(map(str, sorted(missing)))), 400)
    return sorted(answers), sorted(texts)


def _chosen_options(item, value):
    """Return the option ids chosen for an option item, refusing ids that are not its options."""
    if value is None or value == "" or value == []:
        return []
    many = isinstance(value, (list, tuple, set))
    if many != (item.kind == ItemKind.multiple):
        raise Refused("提交的选项无效，请重新填写。", 400)
    chosen = set(value) if many else {value}
    if len(chosen) != (len(value) if many else 1) or not chosen <= {option.id for option in item.options}:
        raise Refused("提交的选项无效，请重新填写。", 400)
    if item.max_choices and len(chosen) > item.max_choices:
        raise Refused(f"第 {item.position} 题最多选择 {item.max_choices} 项。", 400)
    return sorted(chosen)


def ballot_summary(questionnaire, answers):
    """Return the ballot's derived columns (score, item_sum, uniform) from its (item, option) answers."""
    chosen = dict(answers)  # scored items take one option each
    scored = [item for item in questionnaire.items if item.scored]
    values, weights, positions = [], [], set()
    for item in scored:
        option = next((o for o in item.options if o.id == chosen.get(item.id)), None)
        if option is None:
            continue
        values.append(normalised(float(option.score), [float(o.score) for o in item.options]))
        weights.append(float(item.weight))
        positions.add(option.position)
    complete = bool(scored) and len(values) == len(scored)
    return {"score": sum(v * w for v, w in zip(values, weights)) / sum(weights) if values else None,
            "item_sum": sum(values) if complete else None,
            "uniform": complete and len(scored) >= 2 and len(positions) == 1}


def normalised_receipt(code):
    """A receipt code as typed, written as issued: spaces, dashes and other separators dropped,
    full-width characters (a Chinese input method's) folded, lower case."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", code).lower() if ch.isascii() and ch.isalnum())


def receipt_digest(code):
    return hashlib.sha256(normalised_receipt(code).encode()).hexdigest()


def receipt_status(code):
    """Return ("unknown" | "received" | "counted", campaign or None) for a receipt code.

    Only whether the ballot is in a published result, never what it says.
    """
    ballot = db.session.scalar(select(Ballot).where(Ballot.receipt_hash == receipt_digest(code)))
    if ballot is None:
        return "unknown", None
    published = ballot.campaign.state in (CampaignState.published, CampaignState.archived)
    return ("counted" if published else "received"), ballot.campaign
