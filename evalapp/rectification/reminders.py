"""Reminders of deadlines: a week before, on the day, and once it has passed.

`flask rectification remind` runs this from cron (daily is enough; more often does no harm): every
reminder is keyed by item, deadline and kind, and a unique index on the key means none is ever sent
twice, however often or concurrently the command runs. A moved deadline is a new deadline, with
reminders of its own.
"""
import logging
from datetime import timedelta

from sqlalchemy import select

from evalapp.campaigns.people import owner_accounts, supervisors
from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.timeutil import local_today
from evalapp.notifications.delivery import deliver_due
from evalapp.notifications.operations import notify
from evalapp.rectification.models import CHAIR_TURN_STATES, PLAN_DUE_STATES, Rectification
from evalapp.rectification.operations import headline, link_for

logger = logging.getLogger(__name__)
#: Days before the deadline at which the first and the second reminder go out.
FIRST_REMINDER_DAYS = 7
LAST_REMINDER_DAYS = 0


def reminder_kind(days_left):
    """Return "week", "day", "overdue" or None for a deadline `days_left` days away (negative: passed)."""
    if days_left < 0:
        return "overdue"
    if days_left <= LAST_REMINDER_DAYS:
        return "day"
    if days_left <= FIRST_REMINDER_DAYS:
        return "week"
    return None


def _text(rectification, kind, days_left, for_supervisor=False):
    what = "整改方案提交期限" if rectification.state in PLAN_DUE_STATES else "整改完成时限"
    problem, deadline = headline(rectification), rectification.deadline
    if kind == "overdue":
        if for_supervisor:
            return f"{rectification.campaign.union.name}的整改事项{problem}已逾期：{what}为 {deadline}。"
        return f"整改事项{problem}已逾期：{what}为 {deadline}，已超过 {-days_left} 天，请尽快办理。"
    when = {0: "今天到期", 1: "明天到期"}.get(days_left, f"还有 {days_left} 天到期")
    return f"提醒：整改事项{problem}的{what}为 {deadline}，{when}。"


def run_reminders(today=None):
    """Send the reminders due today (a Shanghai calendar date); return counts by kind."""
    today = today or local_today()
    horizon = today + timedelta(days=FIRST_REMINDER_DAYS)
    due = select(Rectification.id).where(Rectification.state.in_([s.value for s in CHAIR_TURN_STATES]),
                                         Rectification.deadline <= horizon).order_by(Rectification.id)
    counts = {"week": 0, "day": 0, "overdue": 0}
    for rectification_id in db.session.scalars(due).all():
        rectification = db.session.get(Rectification, rectification_id)
        days_left = (rectification.deadline - today).days
        kind = reminder_kind(days_left)
        if kind is None:
            continue
        phase = "plan" if rectification.state in PLAN_DUE_STATES else "work"
        key = f"remind:{rectification.id}:{phase}:{rectification.deadline.isoformat()}:{kind}"
        recipients = [(account, False) for account in owner_accounts(rectification.campaign)]
        if kind == "overdue":
            campaign = rectification.campaign
            above = campaign.union.parent or campaign.union
            recipients += [(account, True) for account in supervisors(above)]
        written = 0
        for account, for_supervisor in recipients:
            notice = notify(account, "rectification.reminder", _text(rectification, kind, days_left, for_supervisor),
                            link_for(rectification), key=f"{key}:{account.id}", deliver_after=False)
            written += notice is not None
        if written:
            audit.record("rectification.reminded", rectification, actor=None, reminder=kind,
                         deadline=rectification.deadline.isoformat(), recipients=written)
            counts[kind] += 1
        db.session.commit()
    return counts


def run(today=None):
    """The command's work: reminders, then their copies by e-mail and SMS (and any others due)."""
    counts = run_reminders(today)
    sent, failed = deliver_due()
    return counts, sent, failed
