"""Members' suggestions, the chair's responses, and moderation by officers of superior unions."""
from sqlalchemy import exists, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.campaigns.people import owner_accounts
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.timeutil import local_today, utcnow
from evalapp.core.transitions import compare_and_set
from evalapp.notifications.operations import notify
from evalapp.rectification.models import Rectification
from evalapp.suggestions.models import Suggestion, SuggestionState
from evalapp.unions.models import Union

MAX_LENGTH = 2000
MAX_REASON_LENGTH = 500
FLAGGED_NOT_HIDDEN = "该意见建议已列为整改事项，整改事项的问题描述向参评会员公开，不能再隐藏该意见建议。"


def _check_can_suggest(campaign, account):
    """Return the member writing; refuse with the reason when `campaign.can_suggest(account)` is false."""
    if campaign.can_suggest(account):
        return account.member
    if not campaign.in_electorate(account.member):
        raise Refused("只有参评会员可以提出意见建议。", 403)
    raise Refused("评议开始后才能提出意见建议。" if campaign.state in (CampaignState.draft, CampaignState.reporting)
                  else "本次评议已归档，不再接收意见建议。")


def add_suggestion(campaign, account, body, named=False):
    member = _check_can_suggest(campaign, account)
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
    _tell_answerers(campaign)
    return suggestion


def _tell_answerers(campaign):
    """Tell the chair (or the officers who answer) that suggestions wait: once a day per campaign,
    however many arrive."""
    today = local_today()
    for account in owner_accounts(campaign):
        notify(account, "suggestion.received", f"“{campaign.title}”收到了新的意见建议，请查看并回复。",
               f"/suggestions?campaign={campaign.id}&state=unanswered",
               key=f"suggestion.received:{campaign.id}:{account.id}:{today.isoformat()}")


def _suggestion_link(suggestion):
    # By hand, like every notification link: notices may be written outside a request.
    return f"/campaigns/{suggestion.campaign_id}/suggestions#s{suggestion.id}"


def _tell_author(suggestion, text):
    author = suggestion.member.account
    if author is not None:
        notify(author, "suggestion", text, _suggestion_link(suggestion))


def _excerpt(text, length=20):
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length] + "…"


# --- Steps -----------------------------------------------------------------------------------------

def respond(suggestion, account, text):
    if not suggestion.can_respond(account):
        raise Refused("您无权回应该意见建议。", 403)
    if suggestion.is_hidden:
        raise Refused("该意见建议已被上级工会隐藏，不能回应。")
    text = (text or "").strip()
    if not text:
        raise Refused("回应内容不能为空。", 400)
    if len(text) > MAX_LENGTH:
        raise Refused(f"回应不能超过 {MAX_LENGTH} 字。", 400)
    before = suggestion.response
    if before == text:
        return
    suggestion.response, suggestion.responded_at, suggestion.responded_by_id = text, utcnow(), account.id
    db.session.flush()
    audit.record("suggestion.responded", suggestion, actor=account, before=before, after=text)
    verb = "更新了对" if before is not None else "回应了"
    _tell_author(suggestion, f"{'工会主席' if suggestion.campaign.has_report else '工会'}{verb}您在“{suggestion.campaign.title}”"
                             f"中提出的意见建议“{_excerpt(suggestion.body)}”。")


def hide(suggestion, actor, reason):
    """Hide an abusive suggestion from the chair; it stays in the record, for its author and the officers."""
    if not suggestion.can_moderate(actor):
        raise Refused("只有上级工会的工作人员可以隐藏意见建议。", 403)
    if suggestion.is_hidden:
        raise Refused("该意见建议已被隐藏。")
    if suggestion.rectification is not None:
        raise Refused(FLAGGED_NOT_HIDDEN)
    # One line, as it is shown and sent on (a line break would also break the author's mail).
    reason = " ".join((reason or "").split())
    if not reason:
        raise Refused("请填写隐藏理由。", 400)
    if len(reason) > MAX_REASON_LENGTH:
        raise Refused(f"隐藏理由不能超过 {MAX_REASON_LENGTH} 字。", 400)
    # Lock the row first, so that the compare-and-set below (a statement of its own, reading afresh)
    # also sees an item that a concurrent flag has just opened for this suggestion.
    db.session.execute(select(Suggestion.id).where(Suggestion.id == suggestion.id).with_for_update())
    if not compare_and_set(suggestion, Suggestion.hidden_at.is_(None),  # a double click, or another officer
                           ~exists().where(Rectification.suggestion_id == Suggestion.id),
                           hidden_at=utcnow(), hidden_by_id=actor.id, hidden_reason=reason):
        raise Refused("该意见建议已被隐藏。" if suggestion.is_hidden else FLAGGED_NOT_HIDDEN)
    audit.record("suggestion.hidden", suggestion, actor=actor, campaign_id=suggestion.campaign_id, reason=reason)
    _tell_author(suggestion, f"您在“{suggestion.campaign.title}”中提出的意见建议已被上级工会隐藏，理由：{reason}")


def unhide(suggestion, actor):
    if not suggestion.can_moderate(actor):
        raise Refused("只有上级工会的工作人员可以恢复显示意见建议。", 403)
    if not suggestion.is_hidden:
        raise Refused("该意见建议没有被隐藏。")
    before_at, before = suggestion.hidden_at, suggestion.hidden_reason
    # Only the hiding this officer saw is undone: a double click, or a hide and unhide in between, does not count twice.
    if not compare_and_set(suggestion, Suggestion.hidden_at == before_at,
                           hidden_at=None, hidden_by_id=None, hidden_reason=None):
        raise Refused("该意见建议刚刚被他人处理过，请刷新后再试。" if suggestion.is_hidden else "该意见建议没有被隐藏。")
    audit.record("suggestion.unhidden", suggestion, actor=actor, campaign_id=suggestion.campaign_id,
                 before_reason=before)


def flag(suggestion, actor, problem):
    """Turn a suggestion into a rectification item with the problem as the flagging person words it."""
    from evalapp.rectification.operations import open_from_suggestion

    if not suggestion.can_flag(actor):
        raise Refused("只有上级工会的工作人员或工会主席可以将意见建议列为整改事项。", 403)
    if suggestion.is_hidden:
        raise Refused("已隐藏的意见建议不能列为整改事项。")
    if suggestion.rectification is not None:
        raise Refused("该意见建议已列为整改事项。")
    # Compare-and-set on "not hidden", which also locks the row against a concurrent hide until we commit.
    if not compare_and_set(suggestion, Suggestion.hidden_at.is_(None), hidden_at=None):
        raise Refused("已隐藏的意见建议不能列为整改事项。")
    try:
        with db.session.begin_nested():
            rectification = open_from_suggestion(suggestion, actor, problem)
    except IntegrityError:  # flagged by someone else a moment ago: the unique suggestion_id says so
        raise Refused("该意见建议已列为整改事项。") from None
    audit.record("suggestion.flagged", suggestion, actor=actor, rectification_id=rectification.id)
    _tell_author(suggestion, f"您在“{suggestion.campaign.title}”中提出的意见建议已被列为整改事项，整改进展可在评议活动页面查看。")
    return rectification


# --- Lists -----------------------------------------------------------------------------------------

def staff_scope(account):
    """SQL condition on Campaign/Union: the campaigns whose suggestions `account` reads as chair or
    officer (`Campaign.can_see_internals`, for queries)."""
    from evalapp.unions.operations import managed_condition

    return or_(managed_condition(account), Campaign.chaired_condition(account))


def _conditions(account, mine, campaign, union):
    if mine:
        member = account.member
        conditions = [Suggestion.member_id == member.id if member is not None else false()]
    else:
        conditions = [staff_scope(account)]
    if campaign is not None:
        conditions.append(Suggestion.campaign_id == campaign.id)
    if union is not None:
        conditions.append(Union.subtree_filter(union))
    return conditions


def _joined(query):
    return query.join(Campaign, Campaign.id == Suggestion.campaign_id).join(Union, Union.id == Campaign.union_id)


def suggestion_list(account, *, mine=False, state=None, campaign=None, union=None):
    """Return a select of the suggestions `account` may list, filtered, unanswered first.

    `mine` lists the account's own suggestions (as a member); otherwise those it reads as chair or
    officer. `union` narrows to that union's subtree, `campaign` to one campaign.
    """
    query = _joined(select(Suggestion)).where(*_conditions(account, mine, campaign, union))
    if state is not None:
        query = query.where(Suggestion.state_condition(SuggestionState(state)))
    return (query.options(joinedload(Suggestion.campaign).joinedload(Campaign.union), joinedload(Suggestion.member))
            .order_by(*Suggestion.unanswered_first()))


def state_counts(account, *, mine=False, campaign=None, union=None):
    """Return {state value: count} under the same filters, in one query (for the filter bar)."""
    # Grouped by plain IS NULL tests: a CASE with bound labels would not match itself in PostgreSQL's GROUP BY.
    hidden, unanswered = Suggestion.hidden_at.is_not(None), Suggestion.response.is_(None)
    rows = db.session.execute(_joined(select(hidden, unanswered, func.count()).select_from(Suggestion))
                              .where(*_conditions(account, mine, campaign, union)).group_by(hidden, unanswered)).all()
    counts = dict.fromkeys((s.value for s in SuggestionState), 0)
    for is_hidden, is_unanswered, count in rows:
        state = SuggestionState.hidden if is_hidden else (
            SuggestionState.unanswered if is_unanswered else SuggestionState.answered)
        counts[state.value] += count
    return counts


def report_listing(campaign):
    """Return (visible suggestions as plain data, number hidden) for a campaign's result report.

    The report goes to the chair and the superior unions: authors appear only where they signed,
    and hidden (abusive) suggestions are counted, not printed.
    """
    suggestions = list(db.session.scalars(
        select(Suggestion).where(Suggestion.campaign_id == campaign.id, Suggestion.hidden_at.is_(None))
        .options(joinedload(Suggestion.member)).order_by(Suggestion.created_at, Suggestion.id)))
    hidden = db.session.scalar(select(func.count()).select_from(Suggestion).where(
        Suggestion.campaign_id == campaign.id, Suggestion.hidden_at.is_not(None)))
    return [{"author": s.author_label, "body": s.body, "created_at": s.created_at,
             "response": s.response, "responded_at": s.responded_at} for s in suggestions], hidden
