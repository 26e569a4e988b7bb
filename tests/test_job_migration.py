"""The one-job-model migration moves the old job tables' rows and the campaigns' publication columns into `jobs`.

And back on downgrade; on both databases.
"""
import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from evalapp import create_app
from evalapp.core.db import db
from tests.conftest import _postgres_schema_url

BEFORE = "e14c0ed1a001"
ONE_JOB_MODEL = "fb9f1192c363"
AT = datetime(2026, 11, 30, 8, 0, 0)
LATER = datetime(2026, 11, 30, 8, 5, 0)
REPORT = json.dumps({"counts": {"rows": 10, "new": 10, "errors": 0}, "errors": []})

ROSTER_ROWS = [
    dict(id=3, union_id=1, created_by_id=1, applied_by_id=1, created_at=AT, updated_at=LATER, finished_at=LATER,
         state="applied", filename="花名册.csv", stored_name=None, file_format="csv", skip_errors=True, total_rows=10,
         processed_rows=10, report=REPORT, message=None),
    dict(id=7, union_id=1, created_by_id=None, applied_by_id=None, created_at=AT, updated_at=LATER, finished_at=None,
         state="previewing", filename="全市.xlsx", stored_name="0123456789abcdef0123456789abcdef", file_format="xlsx",
         skip_errors=False, total_rows=None, processed_rows=2000, report=None, message=None),
]
REVIEW_ROWS = [
    dict(id=1, union_id=1, batch_id=None, period_start=date(2026, 1, 1), period_end=date(2026, 11, 30),
         requested_by_id=1, created_at=AT, updated_at=LATER, finished_at=LATER, state="done", total=4, processed=4,
         file_key="f" * 32, file_size=12345, message=None),
    dict(id=2, union_id=1, batch_id=None, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30),
         requested_by_id=1, created_at=AT, updated_at=LATER, finished_at=LATER, state="failed", total=None,
         processed=0, file_key=None, file_size=None, message="生成审阅报告时出错。"),
]

FAILURE = "统计结果时出错，结果没有公布。"
#: Campaign 1 was being published in the background, campaign 2's publication had failed, 3 neither.
CAMPAIGNS = [dict(id=number, title=f"评议{number}", union_id=1, subject_kind="chair", subject_name="", electorate_scope="union",
                  template_id=1, state="closed", rectification_months=1, created_at=AT, created_by_id=1, closed_at=AT,
                  publish_requested_at=requested, publish_failure=failure)
             for number, requested, failure in ((1, LATER, None), (2, None, FAILURE), (3, None, None))]
REQUESTS = [dict(id=number, seq=number, at=at, actor_id=1, action="campaign.publish_requested", object_type="Campaign",
                 object_id=number, details="{}", prev_hash="0" * 64, hash=f"{number}" * 64)
            for number, at in ((1, LATER), (2, AT))]


@pytest.fixture
def empty_database_url(app, tmp_path):
    """A database of its own (a file, or a PostgreSQL schema) for migrating step by step."""
    if app.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    url, admin_engine, schema = _postgres_schema_url()
    yield url
    with admin_engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin_engine.dispose()


def table(connection, name):
    return sa.Table(name, sa.MetaData(), autoload_with=connection)


def rows(connection, name):
    found = table(connection, name)
    return [dict(row._mapping) for row in connection.execute(sa.select(found).order_by(found.c.id))]


def test_upgrading_moves_the_old_job_rows_into_jobs_and_downgrading_moves_them_back(empty_database_url, tmp_path):
    node = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "x", "TESTING": True,
                       "UPLOAD_FOLDER": str(tmp_path), "RATELIMIT_STORAGE_URI": "memory://"})
    with node.app_context():
        try:
            upgrade(revision=BEFORE)
            with db.engine.begin() as connection:
                connection.execute(sa.insert(table(connection, "accounts")).values(
                    id=1, username="officer", display_name="区总工会干部", password_hash="x", is_admin=False,
                    active=True, must_change_password=False, session_token="t"))
                connection.execute(sa.insert(table(connection, "unions")).values(
                    id=1, name="新会区总工会", kind="county", path="/1/", depth=0, sector="other"))
                connection.execute(sa.insert(table(connection, "roster_import_jobs")), ROSTER_ROWS)
                connection.execute(sa.insert(table(connection, "review_jobs")), REVIEW_ROWS)
                connection.execute(sa.insert(table(connection, "questionnaires")).values(
                    id=1, owner_union_id=1, title="测评表", description="", is_snapshot=False, quorum_ratio="2/3",
                    grade_excellent=90, grade_good=80, grade_pass=60, rectify_below_rate=0.8))
                connection.execute(sa.insert(table(connection, "campaigns")), CAMPAIGNS)
                connection.execute(sa.insert(table(connection, "audit_entries")), REQUESTS)

            upgrade(revision=ONE_JOB_MODEL)
            with db.engine.begin() as connection:
                jobs = {row["id"]: row for row in rows(connection, "jobs")}
                imports = {row["id"]: row for row in rows(connection, "roster_imports")}
                reviews = {row["id"]: row for row in rows(connection, "review_reports")}
                names = set(sa.inspect(connection).get_table_names())
                campaign_columns = {column["name"] for column in sa.inspect(connection).get_columns("campaigns")}
            assert not names & {"roster_import_jobs", "review_jobs"}
            assert not campaign_columns & {"publish_requested_at", "publish_failure"}
            # Roster imports keep their ids (the audit log names them); reviews follow the largest.
            assert set(jobs) == {3, 7, 8, 9, 10, 11} and set(imports) == {3, 7} and set(reviews) == {8, 9}
            publications = [{key: job[key] for key in ("kind", "state", "stage", "subject_table", "subject_id",
                                                       "created_by_id", "created_at", "updated_at", "message")}
                            for job in (jobs[10], jobs[11])]
            assert publications == [
                {"kind": "publication", "state": "running", "stage": "counting", "subject_table": "campaigns",
                 "subject_id": 1, "created_by_id": 1, "created_at": LATER, "updated_at": LATER, "message": None},
                {"kind": "publication", "state": "failed", "stage": "failed", "subject_table": "campaigns",
                 "subject_id": 2, "created_by_id": 1, "created_at": AT, "updated_at": AT, "message": FAILURE}]
            assert {key: jobs[3][key] for key in ("kind", "state", "stage", "subject_table", "subject_id",
                                                  "created_by_id", "total", "processed", "attempts", "finished_at")} == {
                "kind": "roster_import", "state": "done", "stage": "applied", "subject_table": "unions",
                "subject_id": 1, "created_by_id": 1, "total": 10, "processed": 10, "attempts": 1, "finished_at": LATER}
            assert (jobs[7]["state"], jobs[7]["stage"], jobs[7]["processed"], jobs[7]["updated_at"]) == (
                "running", "previewing", 2000, LATER)
            assert imports[3] == {"id": 3, "union_id": 1, "applied_by_id": 1, "filename": "花名册.csv", "stored_name": None,
                                  "file_format": "csv", "skip_errors": True, "report": REPORT}
            assert imports[7]["stored_name"] == ROSTER_ROWS[1]["stored_name"] and imports[7]["file_format"] == "xlsx"
            assert (jobs[8]["kind"], jobs[8]["state"], jobs[8]["stage"], jobs[8]["total"]) == ("review_pdf", "done", "done", 4)
            assert (jobs[9]["state"], jobs[9]["message"], jobs[9]["created_by_id"]) == ("failed", "生成审阅报告时出错。", 1)
            assert reviews[8] == {"id": 8, "union_id": 1, "batch_id": None, "period_start": date(2026, 1, 1),
                                  "period_end": date(2026, 11, 30), "file_key": "f" * 32, "file_size": 12345}

            with db.engine.begin() as connection:  # a new job is numbered after the moved ones
                new_id = connection.execute(sa.insert(table(connection, "jobs")).values(
                    kind="review_pdf", state="queued", stage="queued", created_by_id=1, created_at=AT, updated_at=AT, processed=0,
                    attempts=1)).inserted_primary_key[0]
                connection.execute(sa.insert(table(connection, "review_reports")).values(
                    id=new_id, union_id=1, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)))
            assert new_id == 12

            downgrade(revision=BEFORE)
            with db.engine.begin() as connection:
                assert rows(connection, "roster_import_jobs") == ROSTER_ROWS
                moved_back = rows(connection, "review_jobs")
                campaigns = rows(connection, "campaigns")
                assert not set(sa.inspect(connection).get_table_names()) & {"jobs", "roster_imports", "review_reports"}
            assert moved_back[:2] == [row | {"id": row["id"] + 7} for row in REVIEW_ROWS]
            assert (moved_back[2]["id"], moved_back[2]["state"]) == (12, "queued") and len(moved_back) == 3
            assert [(c["publish_requested_at"], c["publish_failure"]) for c in campaigns] == [
                (c["publish_requested_at"], c["publish_failure"]) for c in CAMPAIGNS]
        finally:
            db.engine.dispose()
