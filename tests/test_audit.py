"""The audit log is hash-chained and the verify command finds tampering."""
from sqlalchemy import func, select, text

from evalapp.core.audit import APPEND_ONLY_TRIGGERS, DROP_APPEND_ONLY_TRIGGERS, AuditEntry
from evalapp.core.db import db
from tests.factories import make_campaign


def test_state_changes_are_audited_with_before_and_after(world):
    make_campaign(world, "closed")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.state_changed")
                                 .order_by(AuditEntry.seq)).all()
    assert [e.details for e in entries][-1] == '{"after": "closed", "before": "open"}'
    assert all(e.actor_id == world.county_officer.id for e in entries)


def test_verify_command_accepts_an_intact_chain_and_names_a_tampered_entry(app, world):
    make_campaign(world, "open")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output

    target = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.created"))
    # A database owner lifts the append-only triggers and rewrites history; the chain tells.
    for statement in DROP_APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE audit_entries SET details = :d WHERE id = :i"),
                       {"d": '{"title": "forged"}', "i": target.id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"entry {target.seq}" in result.output
    for statement in APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(text(statement))
    db.session.commit()


def test_the_database_refuses_to_change_or_delete_audit_entries(world):
    import pytest
    from sqlalchemy.exc import DatabaseError

    entry_id = db.session.scalar(select(AuditEntry.id).limit(1))
    for statement in ("UPDATE audit_entries SET action = 'x' WHERE id = :i", "DELETE FROM audit_entries WHERE id = :i"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement), {"i": entry_id})
        db.session.rollback()
    assert db.session.get(AuditEntry, entry_id).action != "x"


def test_votes_are_not_audited(world):
    make_campaign(world, "open", votes=[[1, 1, 1], [2, 2, 2]])
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert not any("ballot" in action or "vote" in action for action in actions)


def _lift_triggers(app):
    for statement in DROP_APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(text(statement))


def test_the_chain_tip_cannot_be_deleted_and_truncation_is_refused(app, world):
    import pytest
    from sqlalchemy.exc import DatabaseError

    statements = ["DELETE FROM audit_head"]
    if app.backend == "postgresql":
        statements += ["TRUNCATE audit_entries", "TRUNCATE audit_head"]
    for statement in statements:
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_removing_the_tip_and_entries_is_detected(app, world):
    make_campaign(world, "draft")
    last = db.session.scalar(select(db.func.max(AuditEntry.seq)))
    _lift_triggers(app)
    db.session.execute(text("DELETE FROM audit_head"))
    db.session.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": last})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "broken" in result.output


def test_a_rewritten_history_with_recomputed_plain_hashes_is_detected(app, world):
    """Someone with write access to the database but not the key rewrites an entry and re-chains."""
    import hashlib
    import json

    make_campaign(world, "draft")
    _lift_triggers(app)
    db.session.execute(text("UPDATE audit_entries SET details = :d WHERE seq = 1"), {"d": '{"forged": true}'})
    prev = "0" * 64
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all():
        payload = json.dumps([entry.seq, entry.at.isoformat(), entry.actor_id, entry.action, entry.object_type,
                              entry.object_id, entry.details, prev], ensure_ascii=False, separators=(",", ":"))
        new_hash = hashlib.sha256(payload.encode()).hexdigest()
        db.session.execute(text("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE id = :i"),
                           {"p": prev, "h": new_hash, "i": entry.id})
        prev = new_hash
    db.session.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "entry 1" in result.output


def test_a_rotated_audit_key_keeps_old_entries_verifiable_and_a_missing_one_is_named_not_taken_for_tampering(
        app, world, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "AUDIT_KEY", "first-audit-key-" + "a" * 32)
    make_campaign(world, "open")                                    # entries signed with the first key
    old_entries = db.session.scalar(select(func.max(AuditEntry.seq)))
    monkeypatch.setitem(app.config, "AUDIT_KEY", "second-audit-key-" + "b" * 32)
    # Rotated without telling evalapp the old key: the first entry the new key cannot check is named.
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "AUDIT_OLD_KEYS" in result.output and "broken" not in result.output
    # (The world was built before any AUDIT_KEY: its entries are signed with the secret key.)
    monkeypatch.setitem(app.config, "AUDIT_OLD_KEYS", f"first-audit-key-{'a' * 32}, {app.config['SECRET_KEY']}")
    make_campaign(world, "closed")                                  # new entries signed with the second key
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output
    key_ids = set(db.session.scalars(select(AuditEntry.key_id).where(AuditEntry.seq > old_entries)))
    assert len(key_ids) == 1 and key_ids != set(db.session.scalars(
        select(AuditEntry.key_id).where(AuditEntry.seq <= old_entries)))
    # A forged key id does not help a forger: the entry must still verify with the key it names.
    for statement in DROP_APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE audit_entries SET details = '{}' WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "broken at entry 2" in result.output
    for statement in APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(text(statement))
    db.session.commit()
