"""Who took part, while voting is open and after: who may vote, how many did, by union, and who has not yet.

Everything here is counted from the electorate snapshot and the participation records; ballots are
never read, so nothing shown says anything about what anyone voted. The non-voter lists carry names
and unions only (no phone numbers), for reminding people on a notice board or in a meeting.
"""
import csv
import io
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select

from evalapp.campaigns.models import Campaign, CampaignState, ElectorateEntry, ElectorateScope
from evalapp.core.db import db
from evalapp.core.spreadsheets import spreadsheet_safe
from evalapp.unions.models import Member, Union
from evalapp.voting.models import Participation

#: States in which an electorate snapshot exists and turnout means something.
COUNTED_STATES = (CampaignState.open, CampaignState.closed, CampaignState.published, CampaignState.archived)
CSV_HEADER = ["工会", "姓名"]


@dataclass
class Turnout:
    name: str
    electorate: int
    voted: int
    union_id: int | None = None
    path: str = ""

    @property
    def rate(self):
        return self.voted / self.electorate if self.electorate else None

    @property
    def not_voted(self):
        return self.electorate - self.voted


def non_voter_union(campaign, account, requested_union_id):
    """Return the union id whose non-voters `account` may list (None: all), or raise LookupError.

    The chair sees only the members of their own union; officers see any union of the electorate,
    and only those: the page names the union asked for, and a union elsewhere (another county's,
    say) is none of this campaign's business.
    """
    if campaign.can_manage(account):
        if requested_union_id is not None and not _in_electorate(campaign, requested_union_id):
            raise LookupError(requested_union_id)
        return requested_union_id
    if campaign.is_chaired_by(account):
        if requested_union_id not in (None, campaign.union_id):
            raise LookupError(requested_union_id)
        return campaign.union_id
    raise LookupError(requested_union_id)


def _in_electorate(campaign, union_id):
    return db.session.scalar(select(exists().where(
        ElectorateEntry.campaign_id == campaign.id, ElectorateEntry.union_id == union_id)))


def _participated():
    return and_(Participation.campaign_id == ElectorateEntry.campaign_id,
                Participation.member_id == ElectorateEntry.member_id)


def overall(campaign):
    """Return the campaign's Turnout (electorate from the snapshot, voters from participations)."""
    voted = db.session.scalar(select(func.count()).select_from(Participation).where(
        Participation.campaign_id == campaign.id))
    return Turnout(campaign.title, campaign.electorate_size or 0, voted)


def by_union(campaign):
    """Return one Turnout per union of the electorate, lowest rate first (GROUP BY in the database)."""
    counts = (select(ElectorateEntry.union_id, func.count().label("electorate"),
                     func.count(Participation.member_id).label("voted"))
              .outerjoin(Participation, _participated())
              .where(ElectorateEntry.campaign_id == campaign.id)
              .group_by(ElectorateEntry.union_id).subquery())
    rows = db.session.execute(select(Union.id, Union.name, Union.path, counts.c.electorate, counts.c.voted)
                              .join(counts, counts.c.union_id == Union.id))
    result = [Turnout(name, electorate, voted, union_id, path) for union_id, name, path, electorate, voted in rows]
    return sorted(result, key=lambda t: (t.rate, t.name))


def by_branch(campaign, unions):
    """Roll `unions` (from `by_union`) up to the campaign union's direct children, lowest rate first.

    For a city-wide electorate this gives one line per county; members on the campaign union's own
    roster make a line of their own.
    """
    if campaign.electorate_scope != ElectorateScope.subtree:
        return []
    depth = campaign.union.depth
    branches = {}
    for row in unions:
        lineage = [int(part) for part in row.path.strip("/").split("/")] if row.path else []
        key = lineage[depth + 1] if len(lineage) > depth + 1 else campaign.union_id
        branch = branches.setdefault(key, Turnout("", 0, 0, key))
        branch.electorate += row.electorate
        branch.voted += row.voted
    if len(branches) < 2:
        return []
    names = dict(db.session.execute(select(Union.id, Union.name).where(Union.id.in_(list(branches)))).all())
    for key, branch in branches.items():
        branch.name = names.get(key, "") + ("（本级）" if key == campaign.union_id else "")
    return sorted(branches.values(), key=lambda t: (t.rate, t.name))


def for_batch(batch):
    """Return {campaign id: voters} for the campaigns of `batch`, in one GROUP BY."""
    return dict(db.session.execute(
        select(Participation.campaign_id, func.count())
        .where(Participation.campaign_id.in_(select(Campaign.id).where(Campaign.batch_id == batch.id)))
        .group_by(Participation.campaign_id)).all())


def _has_not_voted():
    """The condition "no participation for this elector", as a per-row primary-key probe.

    Written as a count rather than NOT EXISTS on purpose: PostgreSQL turns NOT EXISTS into an anti
    join, and while the statistics still show a campaign's participations as a handful (they lag behind
    voting), it picks a nested loop over all of them for every elector: seconds for a page of 200
    names once 100,000 have voted. A scalar subquery stays one index probe per elector whatever the
    statistics say.
    """
    voted = select(func.count()).select_from(Participation).where(_participated()).scalar_subquery()
    return voted == 0


def non_voters_query(campaign, union_id=None):
    """Return a select of (union name, member name) of the electorate without a participation, by union."""
    query = (select(Union.name, Member.name)
             .select_from(ElectorateEntry)
             .join(Member, Member.id == ElectorateEntry.member_id)
             .join(Union, Union.id == ElectorateEntry.union_id)
             .where(ElectorateEntry.campaign_id == campaign.id, _has_not_voted())
             .order_by(ElectorateEntry.union_id, ElectorateEntry.member_id))
    if union_id is not None:
        query = query.where(ElectorateEntry.union_id == union_id)
    return query


def count_non_voters(campaign, union_id=None):
    if union_id is None:
        return overall(campaign).not_voted
    return db.session.scalar(select(func.count()).select_from(ElectorateEntry).where(
        ElectorateEntry.campaign_id == campaign.id, ElectorateEntry.union_id == union_id, _has_not_voted()))


def non_voters_csv(campaign, union_id=None):
    """Return the non-voter list as CSV text (UTF-8 with BOM, for Excel), safe against formula injection."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    rows = db.session.execute(non_voters_query(campaign, union_id).execution_options(yield_per=5000))
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()
