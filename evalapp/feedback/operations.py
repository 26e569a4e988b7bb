"""Members' suggestions and the chair's responses."""
from sqlalchemy import select

from evalapp.campaigns.models import CampaignState, SubjectKind
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import utcnow
from evalapp.feedback.models import Suggestion

MAX_LENGTH = 2000
OPEN_FOR_SUGGESTIONS = (CampaignState.open, CampaignState.closed, CampaignState.published)


def _check_may_suggest(campaign, account):
    member = account.member
    if member is None or not campaign.in_electorate(member):
        raise Refused("只有参评会员可以提出意见建议。", 403)
    if campaign.state not in OPEN_FOR_SUGGESTIONS:
        raise Refused("评议开始后才能提出意见建议。")
    return member


def may_suggest(campaign, account):
    """Return whether `account` may write a suggestion now (the form is shown only then)."""
    try:
        _check_may_suggest(campaign, account)
    except Refused:
        return False
    return True


def add_suggestion(campaign, account, body, named=False):
    member = _check_may_suggest(campaign, account)
    body = (body or "").strip()
    if not body:
        raise Refused("意见建议内容不能为空。", 400)
    if len(body) > MAX_LENGTH:
        raise Refused(f"意见建议不能超过 {MAX_LENGTH} 字。", 400)
    suggestion = Suggestion(campaign=campaign, member=member, body=body, named=bool(named))
    db.session.add(suggestion)
    db.session.flush()
    # The author is not written to the audit log: suggestions are anonymous unless named.
    audit.record("suggestion.added", suggestion, actor=account if named else None, campaign_id=campaign.id)
    return suggestion


def can_respond(suggestion, account):
    """The chair answers; an officer answers where there is no chair being evaluated."""
    campaign = suggestion.campaign
    if campaign.subject_kind == SubjectKind.chair:
        return campaign.is_chaired_by(account)
    return campaign.can_manage(account)


def respond(suggestion, account, text):
    if not can_respond(suggestion, account):
        raise Refused("您无权回应该意见建议。", 403)
    text = (text or "").strip()
    if not text:
        raise Refused("回应内容不能为空。", 400)
    if len(text) > MAX_LENGTH:
        raise Refused(f"回应不能超过 {MAX_LENGTH} 字。", 400)
    before = suggestion.response
    suggestion.response, suggestion.responded_at, suggestion.responded_by_id = text, utcnow(), account.id
    db.session.flush()
    audit.record("suggestion.responded", suggestion, actor=account, before=before, after=text)


def suggestions_for(campaign, account):
    """Return the suggestions `account` may read: all for the chair and officers, own for members."""
    query = select(Suggestion).where(Suggestion.campaign_id == campaign.id)
    if not (campaign.can_manage(account) or campaign.is_chaired_by(account)):
        member = account.member
        if member is None:
            return []
        query = query.where(Suggestion.member_id == member.id)
    return list(db.session.scalars(query.order_by(Suggestion.responded_at.is_not(None), Suggestion.id.desc())))
