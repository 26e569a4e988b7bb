"""Who appointed whom: whether two officials are independent enough to check each other.

Any officer can appoint officers within their own reach, so an account an officer appointed (or one
appointed by such an account, and so on) may be that officer under another name. The history comes
from the append-only audit log ("role.granted" entries), so revoking a grant does not erase it.
"""
import json
from dataclasses import dataclass

from sqlalchemy import select

from evalapp.accounts.models import Role
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.unions.models import Union


@dataclass(frozen=True)
class Lineage:
    #: Everyone who appointed the account, directly or through others.
    appointers: frozenset
    #: Paths of every union where the account or one of its appointers was ever made an officer:
    #: any of them could have appointed a made-up account anywhere in there.
    paths: frozenset


def lineage(account):
    appointers, union_ids, frontier = set(), set(), {account.id}
    while frontier:
        found = set()
        for appointer_id, details in db.session.execute(select(AuditEntry.actor_id, AuditEntry.details).where(
                AuditEntry.action == "role.granted", AuditEntry.object_type == "Account",
                AuditEntry.object_id.in_(frontier))):
            facts = json.loads(details)
            if facts.get("role") == Role.officer.value:
                union_ids.add(facts.get("union_id"))
            if appointer_id is not None and appointer_id not in appointers and appointer_id != account.id:
                found.add(appointer_id)
        appointers |= found
        frontier = found
    return Lineage(frozenset(appointers), frozenset(_paths(union_ids)))


def _paths(union_ids):
    ids = [union_id for union_id in union_ids if isinstance(union_id, int)]
    return db.session.scalars(select(Union.path).where(Union.id.in_(ids))).all() if ids else []


def reach_of(account):
    """The union paths `account` manages, as stored on a code ("*": everything)."""
    return ["*"] if account.is_admin else sorted(union.path for union in account.officer_unions)


def within_reach(union, reach):
    return "*" in reach or any(union.path.startswith(path) for path in reach)


def independence(issuer, stored_reach=None):
    """(reach, appointers) of `issuer`: where they or anyone who appointed them could have placed a
    made-up colleague, and who those appointers are (the issuer included)."""
    line = lineage(issuer)
    reach = set(json.loads(stored_reach)) if stored_reach else set(reach_of(issuer))
    return reach | set(reach_of(issuer)) | set(line.paths), line.appointers | {issuer.id}
