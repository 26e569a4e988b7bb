"""The lists: a chair's items per campaign, and an officer's whole subtree by state, overdue first.

Everything is counted and ordered in SQL (one GROUP BY for the counts, one paginated SELECT for the
rows), so the officer's page costs the same few queries for ten items or ten thousand.
"""
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from evalapp.campaigns.models import Campaign
from evalapp.core.db import db
from evalapp.rectification.models import OPEN_STATES, Rectification, RectificationState
from evalapp.unions.models import Union

#: Filters offered besides the states themselves.
OPEN, OVERDUE = "open", "overdue"


def _base(scope, union=None, campaign=None):
    query = (select(Rectification).join(Campaign, Campaign.id == Rectification.campaign_id)
             .join(Union, Union.id == Campaign.union_id).where(scope))
    if union is not None:
        query = query.where(Union.subtree_filter(union))
    if campaign is not None:
        query = query.where(Rectification.campaign_id == campaign.id)
    return query


def state_counts(scope, today, union=None, campaign=None):
    """Return ({state value: count}, overdue count) in one query."""
    overdue = func.sum(case((Rectification.overdue_condition(today), 1), else_=0))
    query = _base(scope, union, campaign).with_only_columns(Rectification.state, func.count(), overdue) \
        .group_by(Rectification.state)
    counts, overdue_total = dict.fromkeys((s.value for s in RectificationState), 0), 0
    for state, count, late in db.session.execute(query).all():
        counts[RectificationState(state).value] = count
        overdue_total += late or 0
    return counts, overdue_total


def item_list(scope, today, state=OPEN, union=None, campaign=None):
    """Return a select of the items, overdue first, then by the nearest deadline."""
    query = _base(scope, union, campaign)
    if state == OPEN:
        query = query.where(Rectification.state.in_([s.value for s in OPEN_STATES]))
    elif state == OVERDUE:
        query = query.where(Rectification.overdue_condition(today))
    elif state is not None:
        query = query.where(Rectification.state == RectificationState(state).value)
    overdue_first = case((Rectification.overdue_condition(today), 0), else_=1)
    return (query.options(contains_eager(Rectification.campaign).contains_eager(Campaign.union))
            .order_by(overdue_first, Rectification.deadline.is_(None), Rectification.deadline,
                      Rectification.due_date, Rectification.id))


def chair_items(account):
    """Return [(campaign, [items])] for the campaigns `account` chairs, newest campaign first."""
    if not account.chaired_unions:
        return []
    query = (select(Rectification).join(Campaign, Campaign.id == Rectification.campaign_id)
             .join(Union, Union.id == Campaign.union_id).where(Campaign.chaired_condition(account))
             .options(contains_eager(Rectification.campaign).contains_eager(Campaign.union))
             .order_by(Campaign.id.desc(), Rectification.id))
    grouped = {}
    for rectification in db.session.scalars(query).unique():
        grouped.setdefault(rectification.campaign, []).append(rectification)
    return list(grouped.items())
