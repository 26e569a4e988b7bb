"""A result's integrity report: changes to who could act as an elector, near and during voting.

An official who wants to vote in members' names has to enrol, move, re-phone, activate or reset
them first; every such change is a member event (evalapp/unions/events.py). The report counts, for
the officers above, the electors touched from 30 days before voting opened until it closed, by
kind and by official, and how many of those electors then voted. Counts only: it names no member
and says nothing about any ballot.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from evalapp.accounts.models import Account
from evalapp.campaigns.models import ElectorateEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.unions.events import MemberEvent, MemberEventKind
from evalapp.voting.models import Participation

WINDOW_BEFORE_OPENING = timedelta(days=30)


@dataclass
class IntegrityLine:
    kind: MemberEventKind
    electors: int
    voted: int
    #: (official's name, electors) pairs, most first; "本人或系统" for changes nobody made by hand.
    by: list = field(default_factory=list)


@dataclass
class IntegrityReport:
    window_start: object
    window_end: object
    electors: int
    voted: int
    reported: int
    lines: list

    @property
    def clean(self):
        return not self.lines


def integrity_report(campaign):
    """Return the campaign's IntegrityReport, or None before voting has opened."""
    if campaign.opened_at is None:
        return None
    start, end = campaign.opened_at - WINDOW_BEFORE_OPENING, campaign.closed_at or utcnow()
    events = db.session.execute(
        select(MemberEvent.kind, MemberEvent.member_id, MemberEvent.actor_id, MemberEvent.reported_at)
        .join(ElectorateEntry, ElectorateEntry.member_id == MemberEvent.member_id)
        .where(ElectorateEntry.campaign_id == campaign.id, MemberEvent.at >= start, MemberEvent.at <= end)).all()
    touched = {event.member_id for event in events}
    voted = set(db.session.scalars(select(Participation.member_id).where(
        Participation.campaign_id == campaign.id, Participation.member_id.in_(touched)))) if touched else set()
    names = dict(db.session.execute(select(Account.id, Account.display_name).where(
        Account.id.in_({event.actor_id for event in events if event.actor_id is not None}))).all())
    lines = []
    for kind in MemberEventKind:
        of_kind = [event for event in events if event.kind == kind.value]
        if not of_kind:
            continue
        members = {event.member_id for event in of_kind}
        by_actor = {}
        for event in of_kind:
            by_actor.setdefault(names.get(event.actor_id, "本人或系统"), set()).add(event.member_id)
        lines.append(IntegrityLine(kind, len(members), len(members & voted),
                                   sorted(((name, len(ids)) for name, ids in by_actor.items()), key=lambda p: (-p[1], p[0]))))
    reported = len({event.member_id for event in events if event.reported_at is not None})
    return IntegrityReport(start, end, len(touched), len(voted), reported, lines)
