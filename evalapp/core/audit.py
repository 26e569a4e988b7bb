"""The append-only, hash-chained audit log of state changes."""
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow

logger = logging.getLogger(__name__)
GENESIS = "0" * 64

#: Triggers that make the database itself refuse to change or delete audit entries. A database
#: superuser can still drop them; the hash chain is what then shows the change (`flask audit verify`).
APPEND_ONLY_TRIGGERS = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER audit_head_kept BEFORE DELETE OR TRUNCATE ON audit_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
}
DROP_APPEND_ONLY_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
                   "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
                   "DROP TRIGGER IF EXISTS audit_head_kept ON audit_head"],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_entries_no_update", "DROP TRIGGER IF EXISTS audit_entries_no_delete",
               "DROP TRIGGER IF EXISTS audit_head_kept"],
}


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    # Looked up by object (an account's appointment history: evalapp/unions/appointments.py) and by
    # action and time (the appointments near a campaign's voting: evalapp/results/integrity.py).
    __table_args__ = (db.Index("ix_audit_entries_object_type_object_id", "object_type", "object_id"),
                      db.Index("ix_audit_entries_action_at", "action", "at"))

    id = db.Column(db.Integer, primary_key=True)
    #: Position in the chain; gapless and unique, so a deleted row is detected.
    seq = db.Column(db.Integer, nullable=False, unique=True)
    at = db.Column(db.DateTime, nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    action = db.Column(db.String(64), nullable=False)
    object_type = db.Column(db.String(32), nullable=False)
    object_id = db.Column(db.Integer, nullable=True)
    #: Before/after values and other facts, as canonical JSON.
    details = db.Column(db.Text, nullable=False, default="{}")
    prev_hash = db.Column(db.String(64), nullable=False)
    hash = db.Column(db.String(64), nullable=False)
    #: Which key signed the entry (`key_id`); None for entries written before keys had ids.
    key_id = db.Column(db.String(12), nullable=True)

    def compute_hash(self, key=None):
        """HMAC-SHA256 of the entry and its predecessor's hash, keyed outside the database.

        With a plain hash, whoever can write to the database could rewrite history and recompute
        the chain; the key (AUDIT_KEY, else the instance's secret key) is not in the database.
        """
        fields = [self.seq, self.at.isoformat(), self.actor_id, self.action, self.object_type,
                  self.object_id, self.details, self.prev_hash]
        if self.key_id is not None:
            fields.append(self.key_id)
        payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hmac.new((key or current_key()).encode(), payload.encode(), hashlib.sha256).hexdigest()


def current_key():
    return current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]


def key_id(key):
    """A key's public name: the first 12 hex digits of its SHA-256 (it tells keys apart, reveals nothing)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def known_keys():
    """The current key and the retired ones (AUDIT_OLD_KEYS, comma-separated), by id."""
    keys = [current_key(), *(k.strip() for k in (current_app.config.get("AUDIT_OLD_KEYS") or "").split(",") if k.strip())]
    return {key_id(key): key for key in keys}


class AuditHead(db.Model):
    """One row that holds the chain's tip; locking it serialises appends across processes."""

    __tablename__ = "audit_head"

    id = db.Column(db.Integer, primary_key=True)
    seq = db.Column(db.Integer, nullable=False)
    hash = db.Column(db.String(64), nullable=False)


#: Pass as `actor` to fall back on the logged-in account; pass None for no actor (anonymous acts).
CURRENT_USER = object()


def record(action, obj, actor=CURRENT_USER, **details):
    """Append an entry for `action` on `obj` by `actor` (by default the logged-in account)."""
    if actor is CURRENT_USER:
        actor = current_user if current_user and getattr(current_user, "is_authenticated", False) else None
    head = db.session.execute(select(AuditHead).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        db.session.add(head)
    entry = AuditEntry(
        seq=head.seq + 1, at=utcnow(), actor_id=actor.id if actor else None, action=action,
        object_type=type(obj).__name__, object_id=obj.id,
        details=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=head.hash, key_id=key_id(current_key()),
    )
    entry.hash = entry.compute_hash()
    head.seq, head.hash = entry.seq, entry.hash
    db.session.add(entry)
    db.session.flush()
    # The log names no account, member or actor (docs/deployment.md); the entry's number leads an
    # operator with database access to the rest.
    logger.info("%s %s (audit entry %s)", action, entry.object_type, entry.seq)
    return entry


def verify_chain():
    """Return None when the chain is intact, else the seq of the first broken entry."""
    return check_chain().broken


@dataclass
class ChainCheck:
    #: The seq of the first entry that does not verify (None: intact).
    broken: int | None = None
    #: Why, when it is a key this installation does not have (not tampering: AUDIT_OLD_KEYS lacks it).
    missing_key: str | None = None
    entries: int = 0


def check_chain():
    """Verify every entry with the key it names (an entry without a key id: any known key)."""
    keys = known_keys()
    expected_prev, expected_seq = GENESIS, 1
    for entry in db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        if entry.seq != expected_seq or entry.prev_hash != expected_prev:
            return ChainCheck(entry.seq, entries=expected_seq - 1)
        if entry.key_id is not None and entry.key_id not in keys:
            return ChainCheck(entry.seq, missing_key=entry.key_id, entries=expected_seq - 1)
        candidates = [keys[entry.key_id]] if entry.key_id is not None else list(keys.values())
        if not any(hmac.compare_digest(entry.hash, entry.compute_hash(key)) for key in candidates):
            return ChainCheck(entry.seq, entries=expected_seq - 1)
        expected_prev, expected_seq = entry.hash, expected_seq + 1
    head = db.session.get(AuditHead, 1)
    if head is None:  # entries without a recorded tip: the tip (and maybe more) was removed
        return ChainCheck(None if expected_seq == 1 else expected_seq - 1, entries=expected_seq - 1)
    if head.seq != expected_seq - 1 or head.hash != expected_prev:
        return ChainCheck(expected_seq, entries=expected_seq - 1)
    return ChainCheck(None, entries=expected_seq - 1)
