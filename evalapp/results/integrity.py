"""A result's integrity report: changes to who could act as an elector, near and during voting.

An official who wants to vote in members' names has to enrol, move, re-phone, activate or reset
them first; every such change is a member event (evalapp/unions/events.py). The report counts, for
the officers above, the electors touched from 30 days before voting opened until it closed, by
kind and by official, and how many of those electors then voted. Counts only: it names no member
and says nothing about any ballot.
"""
import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from evalapp.accounts.models import Account, Role
from evalapp.campaigns.models import ElectorateEntry
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.unions.events import MemberEvent, MemberEventKind
from evalapp.unions.models import Union
from evalapp.voting.models import Participation

WINDOW_BEFORE_OPENING = timedelta(days=30)


@dataclass
class IntegrityLine:
    kind: MemberEventKind
    electors: int
    voted: int
    #: (official's name, electors) pairs, most first; "本人或系统" for changes nobody made by hand.
    by: list = field(default_factory=list)


@dataclass(frozen=True)
class Appointment:
    """An officer appointed, within the window, to the campaign's union, a union above it or one below it."""

    at: object
    appointer: str
    appointee: str
    union: str


@dataclass
class IntegrityReport:
    window_start: object
    window_end: object
    electors: int
    voted: int
    reported: int
    lines: list
    #: Officers appointed near and during voting where they could print or confirm the electors' codes.
    appointments: list = field(default_factory=list)

    @property
    def clean(self):
        return not self.lines and not self.appointments


def integrity_report(campaign):
    """Return the campaign's IntegrityReport, or None before voting has opened."""
    return integrity_reports([campaign]).get(campaign.id)


def integrity_reports(campaigns):
    """Return {campaign id: IntegrityReport} for the campaigns that have opened, in a few queries."""
    windows = {c.id: (c.opened_at - WINDOW_BEFORE_OPENING, c.closed_at or utcnow()) for c in campaigns if c.opened_at}
    if not windows:
        return {}
    earliest, latest = min(start for start, _ in windows.values()), max(end for _, end in windows.values())
    rows = db.session.execute(
        select(ElectorateEntry.campaign_id, MemberEvent.kind, MemberEvent.member_id, MemberEvent.actor_id,
               MemberEvent.at, MemberEvent.reported_at)
        .join(ElectorateEntry, ElectorateEntry.member_id == MemberEvent.member_id)
        .where(ElectorateEntry.campaign_id.in_(windows), MemberEvent.at >= earliest, MemberEvent.at <= latest)).all()
    events = {campaign_id: [] for campaign_id in windows}
    for row in rows:
        start, end = windows[row.campaign_id]
        if start <= row.at <= end:
            events[row.campaign_id].append(row)
    touched = {(row.campaign_id, row.member_id) for rows_of in events.values() for row in rows_of}
    voted = set()
    for campaign_id in {campaign_id for campaign_id, _ in touched}:
        members = [member_id for c, member_id in touched if c == campaign_id]
        voted.update((campaign_id, member_id) for member_id in db.session.scalars(select(Participation.member_id).where(
            Participation.campaign_id == campaign_id, Participation.member_id.in_(members))))
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    names = dict(db.session.execute(select(Account.id, Account.display_name).where(Account.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    reports = {campaign_id: _report(campaign_id, windows[campaign_id], events[campaign_id], voted, names)
               for campaign_id in windows}
    appointments = _officer_appointments(earliest, latest)
    for campaign in campaigns:
        if campaign.id in reports:
            start, end = windows[campaign.id]
            path = campaign.union.path
            reports[campaign.id].appointments = [
                appointment for appointment, union_path in appointments
                if start <= appointment.at <= end and (path.startswith(union_path) or union_path.startswith(path))]
    return reports


def _officer_appointments(start, end):
    """[(Appointment, the union's path)] of the officer posts granted from `start` to `end` (the audit log)."""
    grants = [(at, appointer_id, appointee_id, json.loads(details)) for at, appointer_id, appointee_id, details in
              db.session.execute(select(AuditEntry.at, AuditEntry.actor_id, AuditEntry.object_id, AuditEntry.details)
                                 .where(AuditEntry.action == "role.granted", AuditEntry.at >= start, AuditEntry.at <= end)
                                 .order_by(AuditEntry.at))]
    grants = [(at, appointer_id, appointee_id, facts["union_id"]) for at, appointer_id, appointee_id, facts in grants
              if facts.get("role") == Role.officer.value]
    if not grants:
        return []
    unions = {union.id: union for union in db.session.scalars(select(Union).where(
        Union.id.in_({union_id for *_rest, union_id in grants})))}
    names = dict(db.session.execute(select(Account.id, Account.display_name).where(Account.id.in_(
        {account_id for _at, appointer_id, appointee_id, _u in grants for account_id in (appointer_id, appointee_id)
         if account_id is not None}))).all())
    return [(Appointment(at, names.get(appointer_id, "系统"), names.get(appointee_id, "?"), unions[union_id].name),
             unions[union_id].path) for at, appointer_id, appointee_id, union_id in grants if union_id in unions]


def _report(campaign_id, window, events, voted, names):
    voters = {member_id for c, member_id in voted if c == campaign_id}
    lines = []
    for kind in MemberEventKind:
        of_kind = [event for event in events if event.kind == kind.value]
        if not of_kind:
            continue
        members = {event.member_id for event in of_kind}
        by_actor = {}
        for event in of_kind:
            by_actor.setdefault(names.get(event.actor_id, "本人或系统"), set()).add(event.member_id)
        lines.append(IntegrityLine(kind, len(members), len(members & voters),
                                   sorted(((name, len(ids)) for name, ids in by_actor.items()), key=lambda p: (-p[1], p[0]))))
    touched = {event.member_id for event in events}
    reported = len({event.member_id for event in events if event.reported_at is not None})
    return IntegrityReport(window[0], window[1], len(touched), len(touched & voters), reported, lines)
