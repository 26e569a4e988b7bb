"""Coverage and yearly figures, counted in SQL over the materialised path.

A union must be evaluated in a year when it matches the rule in the configuration (by default every
town/street union, and every non-public-enterprise grassroots union with 100 or more active members);
it was evaluated when a chair evaluation of that union was published in that calendar year
(Asia/Shanghai). See docs/statistics.md, "Coverage and yearly figures".
"""
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import aliased

from evalapp.campaigns.models import Campaign, SubjectKind, published_within
from evalapp.core.db import db
from evalapp.core.timeutil import local_today, utc_bounds
from evalapp.rectification.models import Rectification
from evalapp.results.models import Result
from evalapp.suggestions.models import Suggestion
from evalapp.unions.models import Member, Union, UnionKind, UnionSector

PAGE_SIZE = 100
DEFAULT_RULES = {"kinds": ["town"], "sectors": ["non_public_enterprise"], "min_members": 100}


def rules():
    """The configured rule: COVERAGE_RULES = {"kinds": [...], "sectors": [...], "min_members": n}."""
    configured = current_app.config.get("COVERAGE_RULES") or {}
    return {**DEFAULT_RULES, **configured}


def _members(root):
    """Subquery: active members on the own roster (as batches count them, `active_member_counts`) of
    each grassroots union of the configured sectors in `root`'s subtree; no other union needs a count."""
    return (select(Member.union_id, func.count().label("members")).join(Union, Union.id == Member.union_id)
            .where(Member.active.is_(True), Union.subtree_filter(root), Union.kind == UnionKind.grassroots,
                   Union.sector.in_(_sectors()))
            .group_by(Member.union_id).subquery())


def _sectors():
    return [UnionSector(s) for s in rules()["sectors"]]


def required_condition(members):
    """SQL on Union (joined with the `members` subquery): the union must be evaluated."""
    rule = rules()
    grassroots = and_(Union.kind == UnionKind.grassroots, Union.sector.in_(_sectors()),
                      func.coalesce(members.c.members, 0) >= rule["min_members"])
    kinds = [UnionKind(k) for k in rule["kinds"] if k != "grassroots"]
    return or_(Union.kind.in_(kinds) if kinds else false(), grassroots)


def _published_in(year):
    return published_within(*utc_bounds(date(year, 1, 1), date(year, 12, 31)))


def _valid_evaluation(year):
    """SQL on Campaign: a chair evaluation published in `year` whose result is valid. A void one (no
    quorum) counts for nothing: the union needs a new evaluation."""
    return ((Campaign.subject_kind == SubjectKind.chair) & _published_in(year)
            & exists().where(Result.campaign_id == Campaign.id, Result.quorum_met))


def evaluated_condition(year):
    """SQL on Union: a valid chair evaluation of this union was published in `year`."""
    return exists().where(Campaign.union_id == Union.id, _valid_evaluation(year))


def evaluated_in(union_ids, year):
    """{union id: title} of the unions among `union_ids` (a select) validly evaluated in `year`."""
    return dict(db.session.execute(select(Campaign.union_id, Campaign.title)
                                   .where(Campaign.union_id.in_(union_ids), _valid_evaluation(year))
                                   .order_by(Campaign.id)).all())


@dataclass
class Coverage:
    required: int
    evaluated: int

    @property
    def rate(self):
        return self.evaluated / self.required if self.required else None


def _required_query(root, columns):
    members = _members(root)
    return (select(*columns).select_from(Union).outerjoin(members, members.c.union_id == Union.id)
            .where(Union.subtree_filter(root), required_condition(members)))


def coverage(root, year):
    evaluated = evaluated_condition(year)
    required, done = db.session.execute(_required_query(
        root, [func.count(), func.sum(case((evaluated, 1), else_=0))])).one()
    return Coverage(required, int(done or 0))


@dataclass
class CoverageRow:
    union: Union
    #: The county and the town/street union the union lies in (None where there is none).
    county: Union | None
    town: Union | None
    #: For an evaluated union: its latest chair evaluation published in the year, and that result.
    campaign: Campaign | None = None
    result: Result | None = None
    #: For a union not evaluated: its evaluation this year was published void (no quorum).
    void: bool = False


def coverage_list(root, year, evaluated, page=1):
    """One page of required unions that were (or were not) evaluated, as [CoverageRow], and the count.

    Two queries: the count, and the page (each union with its parent and grandparent, which name its
    county and town, and for the evaluated ones the latest campaign of the year with its result).
    """
    parent, grandparent = aliased(Union, name="parent"), aliased(Union, name="grandparent")
    if evaluated:
        latest = (select(Campaign.union_id, func.max(Campaign.id).label("campaign_id"))
                  .where(_valid_evaluation(year))
                  .group_by(Campaign.union_id).subquery())
        query = (_required_query(root, [Union, parent, grandparent, Campaign, Result])
                 .join(latest, latest.c.union_id == Union.id).join(Campaign, Campaign.id == latest.c.campaign_id)
                 .outerjoin(Result, Result.campaign_id == Campaign.id))
    else:
        # Not validly evaluated; `void`: a chair evaluation was published this year all the same, without quorum.
        void = exists().where(Campaign.union_id == Union.id, Campaign.subject_kind == SubjectKind.chair,
                              _published_in(year)).label("void")
        query = _required_query(root, [Union, parent, grandparent, void]).where(~evaluated_condition(year))
    total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
    query = (query.outerjoin(parent, parent.id == Union.parent_id)
             .outerjoin(grandparent, grandparent.id == parent.parent_id))
    rows = db.session.execute(query.order_by(Union.path).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return [_coverage_row(row) for row in rows], total


def _coverage_row(row):
    """A CoverageRow from a row of the page query: the county and town read off the two ancestors."""
    ancestors = [u for u in (row.parent, row.grandparent) if u is not None]
    county = next((u for u in ancestors if u.kind == UnionKind.county), None)
    town = next((u for u in ancestors if u.kind == UnionKind.town), None)
    if len(row) == 4:                                       # the not-evaluated list: whether a void result is why
        return CoverageRow(row.Union, county, town, void=row.void)
    return CoverageRow(row.Union, county, town, *(row[3:] if len(row) > 3 else ()))


@dataclass
class Figures:
    name: str
    union_id: int
    campaigns: int = 0
    electorate: int = 0
    turnout: int = 0
    suggestions: int = 0
    answered: int = 0
    rectifications: int = 0
    overdue: int = 0
    required: int = 0
    evaluated: int = 0

    @property
    def turnout_rate(self):
        return self.turnout / self.electorate if self.electorate else None

    @property
    def coverage_rate(self):
        return self.evaluated / self.required if self.required else None


def yearly_figures(root, year, today=None):
    """Return (total Figures for `root`'s subtree, [Figures per direct child union]) for `year`.

    Campaigns, electorate and turnout count the results published in the year; suggestions and
    rectification items are those of these campaigns; overdue is as of `today`. Each figure is one
    GROUP BY over the subtree, joined to the child union whose path the union's path starts with.
    """
    today = today or local_today()
    children = list(db.session.scalars(select(Union).where(Union.parent_id == root.id).order_by(Union.name)))
    total, rows = Figures(root.name, root.id), {child.id: Figures(child.name, child.id) for child in children}
    child = aliased(Union)

    def grouped(query):
        """Run `query` for the whole subtree and once grouped by child: yield (Figures, row)."""
        yield from ((total, row) for row in db.session.execute(query.where(Union.subtree_filter(root))))
        by_child = (query.add_columns(child.id).join(child, Union.path.startswith(child.path))
                    .where(child.parent_id == root.id).group_by(child.id))
        for row in db.session.execute(by_child):
            yield rows[row[-1]], row

    published = (select(Campaign.id).join(Union, Union.id == Campaign.union_id)).where(_published_in(year))
    base = published.join(Result, Result.campaign_id == Campaign.id)
    for figures, row in grouped(base.with_only_columns(func.count(), func.coalesce(func.sum(Result.electorate_size), 0),
                                                       func.coalesce(func.sum(Result.turnout), 0))):
        figures.campaigns, figures.electorate, figures.turnout = row[0], int(row[1]), int(row[2])
    feedback = published.join(Suggestion, Suggestion.campaign_id == Campaign.id).with_only_columns(
        func.count(), func.sum(case((Suggestion.response.is_not(None), 1), else_=0)))
    for figures, row in grouped(feedback):
        figures.suggestions, figures.answered = row[0], int(row[1] or 0)
    items = published.join(Rectification, Rectification.campaign_id == Campaign.id).with_only_columns(
        func.count(), func.sum(case((Rectification.overdue_condition(today), 1), else_=0)))
    for figures, row in grouped(items):
        figures.rectifications, figures.overdue = row[0], int(row[1] or 0)
    members = _members(root)
    evaluated = evaluated_condition(year)
    required = (select(func.count(), func.sum(case((evaluated, 1), else_=0))).select_from(Union)
                .outerjoin(members, members.c.union_id == Union.id).where(required_condition(members)))
    for figures, row in grouped(required):
        figures.required, figures.evaluated = row[0], int(row[1] or 0)
    return total, [rows[c.id] for c in children]
