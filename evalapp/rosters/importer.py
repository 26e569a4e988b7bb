"""Comparing a staged roster file with the rosters of a scope, and applying it, in set-based SQL.

One transaction per run: read and check the file in Python, stage the rows, find what needs the
database (duplicates in the file, people on rosters outside the scope) and count what would
change; a preview then drops everything, an apply writes three statements, one audit entry and
the job's report, and commits. Nothing is deleted; members absent from the file become inactive.
"""
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select, text, update

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.job_records import Job
from evalapp.core.timeutil import utcnow
from evalapp.rosters import staging
from evalapp.rosters.checking import ERROR_LIMIT, ErrorLog, RowChecker, UnionDirectory
from evalapp.rosters.models import ImportJob, ImportStage
from evalapp.rosters.parsing import ID_NUMBER, READ_COLUMNS, open_roster
from evalapp.rosters.progress import STRIDE
from evalapp.unions.models import Union, UnionKind

logger = logging.getLogger(__name__)
#: pg_advisory_xact_lock key: one roster import writes at a time.
APPLY_LOCK_KEY = 0x526F73746572

DUPLICATE_COUNT = text(
    "SELECT COUNT(*) FROM (SELECT id_hash FROM roster_stage GROUP BY id_hash HAVING COUNT(*) > 1) AS d")
DUPLICATE_LIST = text("""
    SELECT row_no, first_row, next_row FROM (
        SELECT row_no, MIN(row_no) OVER (PARTITION BY id_hash) AS first_row,
               LEAD(row_no) OVER (PARTITION BY id_hash ORDER BY row_no) AS next_row,
               COUNT(*) OVER (PARTITION BY id_hash) AS n
        FROM roster_stage) AS d
    WHERE n > 1 ORDER BY row_no LIMIT :limit""")
DUPLICATE_FLAG = text("""
    UPDATE roster_stage SET ok = FALSE
    WHERE ok AND id_hash IN (SELECT id_hash FROM roster_stage GROUP BY id_hash HAVING COUNT(*) > 1)""")
#: Active members of unions outside the scope: the file may not take them over.
ELSEWHERE = """
    SELECT m.id_number_hash FROM members m JOIN unions u ON u.id = m.union_id
    WHERE m.active AND m.id_number_hash IS NOT NULL AND u.path NOT LIKE :prefix"""
# Built from the constant above (no user input), hence the nosec.
ELSEWHERE_LIST = text(f"SELECT row_no FROM roster_stage WHERE id_hash IN ({ELSEWHERE}) ORDER BY row_no LIMIT :limit")  # nosec B608
ELSEWHERE_FLAG = text(f"UPDATE roster_stage SET ok = FALSE WHERE ok AND id_hash IN ({ELSEWHERE})")  # nosec B608
#: What the good rows would do, person by person.
CHANGES = text("""
    SELECT COUNT(*) AS good,
        SUM(CASE WHEN m.id IS NULL THEN 1 ELSE 0 END) AS new,
        SUM(CASE WHEN m.union_id <> s.union_id THEN 1 ELSE 0 END) AS moved,
        SUM(CASE WHEN m.union_id <> s.union_id AND mu.path NOT LIKE :prefix THEN 1 ELSE 0 END) AS transferred_in,
        SUM(CASE WHEN m.union_id = s.union_id AND NOT m.active THEN 1 ELSE 0 END) AS reactivated,
        SUM(CASE WHEN m.union_id = s.union_id AND m.active AND (m.name <> s.name
                 OR (s.phone IS NOT NULL AND (m.phone IS NULL OR m.phone <> s.phone))) THEN 1 ELSE 0 END) AS updated
    FROM roster_stage s LEFT JOIN members m ON m.id_number_hash = s.id_hash LEFT JOIN unions mu ON mu.id = m.union_id
    WHERE s.ok""")
#: Active members of the scope that the file does not name (rows with errors still name them).
ABSENT = text("""
    SELECT SUM(CASE WHEN m.id_number_hash IS NOT NULL AND s.id_hash IS NULL THEN 1 ELSE 0 END) AS deactivated,
           SUM(CASE WHEN m.id_number_hash IS NULL THEN 1 ELSE 0 END) AS without_id, COUNT(*) AS active
    FROM members m JOIN unions u ON u.id = m.union_id
    LEFT JOIN (SELECT DISTINCT id_hash FROM roster_stage) s ON s.id_hash = m.id_number_hash
    WHERE m.active AND u.path LIKE :prefix""")
APPLY_UPDATES = text("""
    UPDATE members SET name = s.name, phone = COALESCE(s.phone, members.phone), union_id = s.union_id, active = TRUE
    FROM roster_stage s
    WHERE s.ok AND members.id_number_hash = s.id_hash
      AND (members.union_id <> s.union_id OR NOT members.active OR members.name <> s.name
           OR (s.phone IS NOT NULL AND (members.phone IS NULL OR members.phone <> s.phone)))""")
APPLY_INSERTS = text("""
    INSERT INTO members (union_id, name, phone, id_number_hash, id_number_last4, active)
    SELECT s.union_id, s.name, s.phone, s.id_hash, s.last4, TRUE FROM roster_stage s
    WHERE s.ok AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id_number_hash = s.id_hash)
    ORDER BY s.row_no""")
#: Member events (evalapp/unions/events.py) for what an apply changes about who can act as a member;
#: recorded before the updates (they compare the old rows) and, for new members, after the inserts.
EVENTS_BEFORE_UPDATES = text("""
    INSERT INTO member_events (member_id, kind, actor_id, at)
    SELECT m.id, CASE WHEN m.union_id <> s.union_id THEN 'moved_in'
                      WHEN NOT m.active THEN 'reactivated' ELSE 'phone_changed' END, CAST(:actor_id AS INTEGER), :at
    FROM members m JOIN roster_stage s ON s.id_hash = m.id_number_hash
    WHERE s.ok AND (m.union_id <> s.union_id OR NOT m.active
                    OR (s.phone IS NOT NULL AND (m.phone IS NULL OR m.phone <> s.phone)))""")
PHONE_EVENTS_OF_MOVES = text("""
    INSERT INTO member_events (member_id, kind, actor_id, at)
    SELECT m.id, 'phone_changed', CAST(:actor_id AS INTEGER), :at
    FROM members m JOIN roster_stage s ON s.id_hash = m.id_number_hash
    WHERE s.ok AND (m.union_id <> s.union_id OR NOT m.active)
      AND s.phone IS NOT NULL AND (m.phone IS NULL OR m.phone <> s.phone)""")
EVENTS_OF_INSERTS = text("""
    INSERT INTO member_events (member_id, kind, actor_id, at)
    SELECT m.id, 'enrolled', CAST(:actor_id AS INTEGER), :at
    FROM members m JOIN roster_stage s ON s.id_hash = m.id_number_hash
    WHERE s.ok AND m.id > :last_id""")
APPLY_DEACTIVATIONS = text("""
    UPDATE members SET active = FALSE
    WHERE active AND id_number_hash IS NOT NULL
      AND union_id IN (SELECT id FROM unions WHERE path LIKE :prefix)
      AND NOT EXISTS (SELECT 1 FROM roster_stage s WHERE s.id_hash = members.id_number_hash)""")


class StaleErrors(Exception):
    """Applying found errors, or changes, that the approved preview had not shown."""

    def __init__(self, report, changed=False):
        super().__init__("the rosters changed since the preview")
        self.report, self.changed = report, changed


#: The counts an officer approves in the preview; applying anything else needs a new look.
APPROVED_COUNTS = ("new", "moved", "transferred_in", "reactivated", "updated", "deactivated")


@dataclass(frozen=True)
class Scope:
    """The union an import starts from, as plain values that survive the end of a transaction."""

    union_id: int
    name: str
    path: str
    grassroots: bool

    @classmethod
    def of(cls, union):
        return cls(union.id, union.name, union.path, union.kind == UnionKind.grassroots)

    @property
    def params(self):
        return {"prefix": self.path + "%"}


def preview(scope, path, file_format, progress):
    """Return the report of what importing the file would do; changes nothing."""
    connection, report = _stage_and_compare(scope, path, file_format, progress)
    staging.drop(connection)
    db.session.rollback()
    return report


def apply(job_id, scope, path, file_format, progress, actor=None, skip_errors=False, approved=None):
    """Import the file into the scope's rosters and record the job as applied, in one transaction.

    Raises StaleErrors (nothing written) when rows have errors and `skip_errors` is false.
    """
    connection, report = _stage_and_compare(scope, path, file_format, progress, lock_job_id=job_id)
    counts = report["counts"]
    if counts["errors"] and not skip_errors:
        staging.drop(connection)
        db.session.rollback()
        raise StaleErrors(report)
    if approved is not None and any(counts.get(key, 0) != approved.get(key, 0) for key in APPROVED_COUNTS):
        # Someone changed the rosters since the preview (another import, say): what would be written
        # is no longer what the officer approved.
        staging.drop(connection)
        db.session.rollback()
        raise StaleErrors(report, changed=True)
    params = scope.params
    event_params = {"actor_id": actor.id if actor is not None else None, "at": utcnow()}
    connection.execute(EVENTS_BEFORE_UPDATES, event_params)
    connection.execute(PHONE_EVENTS_OF_MOVES, event_params)
    last_id = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM members")).scalar()
    written = {
        "updated": connection.execute(APPLY_UPDATES).rowcount,
        "new": connection.execute(APPLY_INSERTS).rowcount,
        "deactivated": connection.execute(APPLY_DEACTIVATIONS, params).rowcount if not counts["unusable_ids"] else 0,
    }
    expected = {"updated": counts["moved"] + counts["reactivated"] + counts["updated"], "new": counts["new"],
                "deactivated": counts["deactivated"]}
    connection.execute(EVENTS_OF_INSERTS, {**event_params, "last_id": last_id})
    if written != expected:
        raise RuntimeError(f"rosters changed during the import: wrote {written}, expected {expected}")
    counts["skipped"] = counts["errors"]
    staging.drop(connection)
    job = db.session.get(ImportJob, job_id)
    job.stage, job.report = ImportStage.applied, report_json(report)
    job.processed = job.total = counts["rows"]
    job.stored_name = None  # the caller deletes the file once this is committed
    audit.record("roster.imported", job, actor=actor, union_id=scope.union_id, filename=job.filename,
                 skip_errors=skip_errors, **counts)
    db.session.commit()
    logger.info("roster import %s applied to union %s: %s", job_id, scope.union_id, counts)
    return report


def _stage_and_compare(scope, path, file_format, progress, lock_job_id=None):
    """Check and stage the file's rows, then compare them with the rosters; the transaction stays open."""
    directory = _directory(scope)
    db.session.rollback()  # end the read: on SQLite, progress commits must not predate our snapshot
    connection = db.session.connection()
    staging.create(connection)
    errors = ErrorLog()
    with open_roster(path, file_format, union_required=not scope.grassroots) as roster:
        progress(0, roster.total_estimate, force=True)
        check = RowChecker(roster.columns, directory, errors)
        staging.fill(connection, _checked(roster.rows(), check, progress, roster.total_estimate))
    if not check.rows:
        raise Refused("文件中没有会员数据（只有表头）。", 400)
    progress(check.rows, check.rows, force=True)
    if lock_job_id is not None:
        _lock(connection, lock_job_id)
    staging.finish(connection)
    return connection, _compare(connection, scope, errors, check.rows)


def _directory(scope):
    unions = db.session.execute(
        select(Union.id, Union.name, Union.code).where(Union.path.startswith(scope.path, autoescape=True))).all()
    return UnionDirectory(scope.name, scope.grassroots, scope.union_id, unions)


def _checked(rows, check, progress, total):
    """Yield the rows to stage, reporting progress every few thousand rows."""
    stride = STRIDE
    for row_no, cells in rows:
        staged = check(row_no, cells)
        if staged is not None:
            yield staged
        if not row_no % stride:
            progress(check.rows, total)


def _lock(connection, job_id):
    """Take the write locks before comparing: imports queue, and SQLite's snapshot starts here."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK_KEY})
    connection.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow()))


def _compare(connection, scope, errors, rows):
    params = scope.params
    entries, error_rows = list(errors.entries), errors.rows
    if connection.execute(DUPLICATE_COUNT).scalar():
        for row_no, first_row, next_row in connection.execute(DUPLICATE_LIST, {"limit": ERROR_LIMIT}):
            message = (f"身份证号码在文件中重复出现（与第 {next_row} 行相同）。" if row_no == first_row
                       else f"身份证号码与第 {first_row} 行重复。")
            entries.append((row_no, ID_NUMBER, message))
        error_rows += connection.execute(DUPLICATE_FLAG).rowcount
    elsewhere = connection.execute(ELSEWHERE_LIST, {**params, "limit": ERROR_LIMIT}).scalars().all()
    if elsewhere:
        message = "此人已在本次导入范围以外的工会花名册中（在册），不能导入；请联系共同的上级工会处理。"
        entries.extend((row_no, ID_NUMBER, message) for row_no in elsewhere)
        error_rows += connection.execute(ELSEWHERE_FLAG, params).rowcount
    changes = connection.execute(CHANGES, params).mappings().one()
    absent = connection.execute(ABSENT, params).mappings().one()
    counts = {key: int(changes[key] or 0) for key in ("new", "moved", "transferred_in", "reactivated", "updated")}
    counts["unchanged"] = int(changes["good"]) - counts["new"] - counts["moved"] - counts["reactivated"] - counts["updated"]
    counts["deactivated"] = int(absent["deactivated"] or 0)
    counts["without_id"] = int(absent["without_id"] or 0)
    counts["active_before"] = int(absent["active"] or 0)
    counts["rows"], counts["errors"] = rows, error_rows
    # A row whose ID number is unusable cannot be matched to anyone; it may be a person who is still
    # there, so nobody is marked as having left until those rows are corrected.
    staged = connection.execute(text("SELECT COUNT(*) FROM roster_stage")).scalar()
    counts["unusable_ids"] = rows - int(staged)
    if counts["unusable_ids"]:
        counts["deactivation_withheld"], counts["deactivated"] = counts["deactivated"], 0
    order = {column: position for position, column in enumerate(READ_COLUMNS)}
    entries.sort(key=lambda entry: (entry[0], order[entry[1]]))
    shown = entries[:ERROR_LIMIT]
    return {"counts": counts, "errors": [list(entry) for entry in shown],
            "errors_truncated": len(entries) > ERROR_LIMIT or error_rows > len({entry[0] for entry in shown})}


def report_json(report):
    return json.dumps(report, ensure_ascii=False)
