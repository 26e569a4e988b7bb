"""Campaign lifecycle: create, report, open, close, publish, archive."""
import logging

from sqlalchemy import func, insert, or_, select, text

from evalapp.accounts.models import Role, RoleGrant
from evalapp.campaigns import notices
from evalapp.campaigns.models import (
    Campaign,
    CampaignState,
    ElectorateEntry,
    ElectorateScope,
    SubjectKind,
)
from evalapp.campaigns.signals import campaign_closed, campaign_published
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import under_way
from evalapp.core.text import check_line
from evalapp.core.timeutil import utcnow
from evalapp.core.transitions import move_state
from evalapp.questionnaires.operations import freeze_copy, usable_templates
from evalapp.unions.models import Member, Union

logger = logging.getLogger(__name__)
#: Snapshots at least this big refresh the planner's statistics of the electorate table (PostgreSQL).
ANALYZE_AFTER_SNAPSHOT = 10_000


def create_campaign(actor, union, template, title, subject_kind: SubjectKind, subject_name="",
                    electorate_scope=ElectorateScope.union, opens_at=None, closes_at=None):
    if not actor.manages(union):
        raise Refused("无权为该工会创建评议活动。", 403)
    if union.dissolved_at is not None:
        raise Refused("该工会已撤销，不能发起评议。", 400)
    if template not in usable_templates(union):
        raise Refused("所选测评表不适用于该工会。", 400)
    if not template.items:
        raise Refused("所选测评表还没有题目。", 400)
    title = (title or "").strip()
    if not title:
        raise Refused("活动名称不能为空。", 400)
    check_line(title, "活动名称")
    check_line(subject_name, "评议对象")
    if opens_at and closes_at and closes_at <= opens_at:
        raise Refused("截止时间必须晚于开始时间。", 400)
    if subject_kind == SubjectKind.chair and not subject_name:
        subject_name = f"{union.name}主席"
    if subject_kind == SubjectKind.organisation and not (subject_name or "").strip():
        raise Refused("请填写被评议的单位或部门名称，例如“江门市人力资源和社会保障局”。", 400)
    campaign = Campaign(title=title, union=union, template=template, subject_kind=subject_kind,
                        subject_name=(subject_name or "").strip(), electorate_scope=electorate_scope,
                        opens_at=opens_at, closes_at=closes_at, created_by_id=actor.id)
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", campaign, actor=actor, title=title, union_id=union.id)
    return campaign


def _transition(campaign, actor, allowed_from, target):
    """Move `campaign` to `target` only if its state in the database is still one of `allowed_from`.

    The compare-and-set UPDATE makes a double-clicked button or two officers acting at once change
    the state exactly once; on PostgreSQL it also waits for ballots being cast (they hold a share
    lock on the campaign row), so nothing is accepted after voting closes.
    """
    if actor is not None and not campaign.can_manage(actor):  # None: the schedule acting by itself
        raise Refused("无权管理该评议活动。", 403)
    move_state(campaign, allowed_from, target, action="campaign.state_changed", actor=actor,
               refusal=lambda current: f"活动当前为“{current.label}”，不能转为“{target.label}”。")


def start_reporting(campaign, actor):
    """Let the chair write the duty report and announce the campaign to the electorate."""
    _transition(campaign, actor, {CampaignState.draft}, CampaignState.reporting)
    notices.report_requested(campaign)


def open_voting(campaign, actor):
    """Freeze the questionnaire, snapshot the electorate and start accepting ballots.

    Every refusal comes before the first write, so a refused opening (by an officer or by the
    schedule) leaves nothing behind.
    """
    allowed = _openable_states(campaign)
    reported = campaign.report is not None and bool(campaign.report.body)
    if campaign.has_report and campaign.state == CampaignState.reporting and not reported:
        raise Refused("工会主席尚未提交述职报告，不能开始评议。")
    if not campaign.template.items:
        raise Refused("测评表没有题目，不能开始评议。")
    if campaign.closes_at is not None and campaign.closes_at <= utcnow():
        raise Refused("投票截止时间已过，不能开始评议。")
    electorate = _electorate_query(campaign).subquery()
    if db.session.scalar(select(electorate.c.id).limit(1)) is None:
        raise Refused("该活动的参评范围内没有在册会员，不能开始评议。")
    _transition(campaign, actor, allowed, CampaignState.open)
    campaign.questionnaire = freeze_copy(campaign.template)
    # One INSERT…SELECT: a city-wide electorate of 300,000 never passes through Python.
    rows = select(db.literal(campaign.id), electorate.c.id, electorate.c.union_id)
    inserted = db.session.execute(
        insert(ElectorateEntry).from_select(["campaign_id", "member_id", "union_id"], rows)).rowcount
    if inserted is None or inserted < 0:  # a driver that does not report it
        inserted = db.session.scalar(
            select(func.count()).select_from(ElectorateEntry).filter_by(campaign_id=campaign.id))
    campaign.electorate_size = inserted
    if inserted >= ANALYZE_AFTER_SNAPSHOT and db.session.get_bind().dialect.name == "postgresql":
        # Until autovacuum gets round to it, the planner would take this campaign for an average one of
        # a hundred electors and pick turnout plans that crawl at 300,000. ANALYZE counts this
        # transaction's own rows; it samples a fixed number of rows, a fraction of a second.
        db.session.execute(text("ANALYZE electorate_entries"))
    campaign.opened_at = utcnow()
    db.session.flush()
    notices.voting_opened(campaign)


def _openable_states(campaign):
    """A chair must have reported first; a survey or an organisation's evaluation may open from draft."""
    if campaign.has_report:
        return (CampaignState.reporting,)
    return (CampaignState.draft, CampaignState.reporting)


def _electorate_query(campaign):
    """Return a select of the members (id, union_id) who may vote if voting opens now."""
    members = select(Member.id, Member.union_id).join(Union).where(Member.active.is_(True))
    if campaign.electorate_scope == ElectorateScope.subtree:
        members = members.where(Union.subtree_filter(campaign.union))
    else:
        members = members.where(Member.union_id == campaign.union_id)
    if campaign.subject_kind == SubjectKind.chair:
        # The chair does not evaluate themselves.
        chairs = select(RoleGrant.account_id).where(RoleGrant.union_id == campaign.union_id, RoleGrant.role == Role.chair)
        members = members.where(Member.account_id.is_(None) | Member.account_id.not_in(chairs))
    return members


def close_voting(campaign, actor):
    _transition(campaign, actor, {CampaignState.open}, CampaignState.closed)
    campaign.closed_at = utcnow()
    campaign_closed.send(campaign, actor=actor)


def publish(campaign, actor):
    """Show the result to members: the one counted at closing, which the officers have seen; the results
    package answers `campaign_published` (and counts the result first if it was not counted yet)."""
    _transition(campaign, actor, {CampaignState.closed}, CampaignState.published)
    campaign.published_at = utcnow()
    campaign_published.send(campaign, actor=actor)
    if campaign.result is None:  # nothing answered the signal: never a published campaign without its result
        raise RuntimeError(f"campaign {campaign.id} was published but no result was frozen")
    notices.result_published(campaign)
    return campaign.result


def apply_schedule(campaign, now=None):
    """Open or close `campaign` if its planned time has come; return "opened", "closed" or None."""
    now = now or utcnow()
    if campaign.state == CampaignState.open and campaign.closes_at is not None and campaign.closes_at <= now:
        try:
            close_voting(campaign, None)
        except Refused:  # an officer or another request closed it a moment ago: nothing to do
            return None
        return "closed"
    if campaign.opens_at is not None and campaign.opens_at <= now and campaign.state in _openable_states(campaign):
        try:
            open_voting(campaign, None)
        except Refused as refusal:  # nothing was written; the officers see the campaign still waiting
            logger.warning("scheduled opening of campaign %s refused: %s", campaign.id, refusal.message)
            return None
        return "opened"
    return None


def apply_schedules(campaigns, now=None):
    """Apply the schedule to each of `campaigns`; return how many changed state."""
    return sum(1 for campaign in campaigns if apply_schedule(campaign, now))


def run_schedule(now=None):
    """Apply the schedule to every campaign whose opening or closing time has come; commit each."""
    now = now or utcnow()
    due = select(Campaign.id).where(or_(
        (Campaign.state == CampaignState.open) & (Campaign.closes_at <= now),
        Campaign.state.in_((CampaignState.draft, CampaignState.reporting)) & (Campaign.opens_at <= now)))
    done = {"opened": 0, "closed": 0}
    for campaign_id in db.session.scalars(due).all():
        try:
            action = apply_schedule(db.session.get(Campaign, campaign_id), now)
            db.session.commit()
        except Exception:  # one campaign's trouble must not stop the others opening or closing
            db.session.rollback()
            logger.exception("schedule failed for campaign %s", campaign_id)
            continue
        if action:
            done[action] += 1
    return done


def archive(campaign, actor):
    _transition(campaign, actor, {CampaignState.published}, CampaignState.archived)


#: The officer's actions: name → (operation, button label). Counting and publishing belong to the
#: results package, whose own routes answer them (results.views); the others campaigns.views runs.
ACTIONS = {
    "start_reporting": (start_reporting, "发布活动，请主席述职"),
    "open": (open_voting, "开始评议"),
    "close": (close_voting, "截止评议"),
    "count": (None, "统计结果"),
    "publish": (None, "公布结果"),
    "archive": (archive, "归档"),
}
#: Actions that cannot be undone: the button leads to a page saying what will happen, whose own
#: button (a plain form, no script) does it.
CONFIRMED_ACTIONS = ("open", "close", "publish", "archive")


def available_actions(campaign):
    """Return the names of the officer's actions that fit the campaign's state."""
    closed = [] if under_way(campaign) else ["count"] if campaign.result is None else ["publish"]
    by_state = {
        CampaignState.draft: ["start_reporting"] + ([] if campaign.has_report else ["open"]),
        CampaignState.reporting: ["open"],
        CampaignState.open: ["close"],
        # A job working on the campaign (a large result being counted) takes its next step.
        CampaignState.closed: closed,
        CampaignState.published: ["archive"],
    }
    return by_state.get(campaign.state, [])


def electorate_if_opened_now(campaign):
    """How many members would be electors if voting opened now (the confirmation page says so)."""
    return db.session.scalar(select(func.count()).select_from(_electorate_query(campaign).subquery()))


def campaigns_for(account):
    """Return the campaigns `account` may see: managed, chaired, or voted in as a member."""
    from evalapp.unions.operations import managed_unions_query

    conditions = [Campaign.union_id.in_(managed_unions_query(account).with_only_columns(Union.id))]
    conditions.append(Campaign.chaired_condition(account))
    member = account.member
    if member is not None:
        snapshot = select(ElectorateEntry.campaign_id).where(ElectorateEntry.member_id == member.id)
        ancestors = member.union.lineage_ids
        not_yet_open = (Campaign.electorate_size.is_(None) & (Campaign.state == CampaignState.reporting)
                        & ((Campaign.union_id == member.union_id)
                           | ((Campaign.electorate_scope == ElectorateScope.subtree)
                              & Campaign.union_id.in_(ancestors))))
        conditions.append(Campaign.id.in_(snapshot) | not_yet_open)
    return list(db.session.scalars(select(Campaign).where(or_(*conditions)).order_by(Campaign.id.desc())))
