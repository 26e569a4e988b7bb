"""Background jobs of every kind: a stalled job shown alike, a failed or stalled one started again, the status list.

The kinds: roster imports, review PDFs, and the count of a large result.
"""
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.job_records import JobState
from evalapp.core.timeutil import local_today, utcnow
from evalapp.results import publication
from evalapp.results.models import PublicationJob, PublicationStage
from evalapp.reviews.models import ReviewJob, ReviewStage
from evalapp.rosters import operations
from evalapp.rosters.models import ImportJob, ImportStage
from tests import test_rosters
from tests.factories import make_campaign
from tests.test_rosters import csv_file, job_of, make_id, upload

upload_folder = test_rosters.upload_folder

STALLED = "该任务已经很久没有进展"
REFRESH = 'http-equiv="refresh"'


def roster_import(world, stage, minutes_ago, **values):
    job = ImportJob(union=world.county, subject=world.county, created_by=world.county_officer, filename="x.csv",
                    stage=stage, **values)
    db.session.add(job)
    db.session.flush()
    job.updated_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return job, f"/rosters/jobs/{job.id}", f"/rosters/jobs/{job.id}/retry"


def review_pdf(world, stage, minutes_ago):
    job = ReviewJob(union=world.town, subject=world.town, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                    created_by_id=world.county_officer.id, stage=stage)
    db.session.add(job)
    db.session.flush()
    job.updated_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return job, f"/reviews/{job.id}", f"/reviews/{job.id}/retry"


def large_publication(world, stage, minutes_ago):
    """A closed campaign too large to have been counted at closing, and a job counting it."""
    threshold, publication.COUNT_IN_BACKGROUND_FROM = publication.COUNT_IN_BACKGROUND_FROM, 3
    try:
        campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    finally:
        publication.COUNT_IN_BACKGROUND_FROM = threshold
    job = PublicationJob(subject=campaign, created_by=world.county_officer, stage=stage)
    db.session.add(job)
    db.session.flush()
    job.updated_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return job, f"/campaigns/{campaign.id}", f"/campaigns/{campaign.id}/actions/count"


@pytest.fixture
def large_from_three(monkeypatch):
    """Treat three ballots as "large", so the background path runs on a small campaign."""
    monkeypatch.setattr(publication, "COUNT_IN_BACKGROUND_FROM", 3)


#: A job of each kind at a running step: (make it, its kind's stalled limit in minutes).
RUNNING = {
    "roster import": (lambda world, minutes: roster_import(world, ImportStage.previewing, minutes), 10),
    "review PDF": (lambda world, minutes: review_pdf(world, ReviewStage.collecting, minutes), 15),
    "publication": (lambda world, minutes: large_publication(world, PublicationStage.counting, minutes), 30),
}


@pytest.mark.parametrize("kind", RUNNING)
def test_a_job_without_a_heartbeat_for_its_kinds_limit_shows_as_stalled_the_same_way(world, login, kind):
    make, limit = RUNNING[kind]
    client = login("county_officer")
    _job, page_url, retry_url = make(world, limit - 1)
    response = client.get(page_url)
    page = response.get_data(as_text=True)
    assert STALLED not in page and REFRESH in page and f'action="{retry_url}"' not in page

    _job, page_url, retry_url = make(world, limit + 1)
    response = client.get(page_url)
    page = response.get_data(as_text=True)
    assert STALLED in page and "可能已经中断" in page
    assert REFRESH not in page and "Refresh" not in response.headers
    assert f'action="{retry_url}"' in page


def test_stalled_is_one_rule_on_the_heartbeat(world):
    job, _, _ = roster_import(world, ImportStage.applying, 11)
    assert job.stalled and job.state == JobState.running
    job.processed = 5  # any write to the row is a heartbeat
    db.session.commit()
    assert not job.stalled
    waiting, _, _ = roster_import(world, ImportStage.previewed, 60 * 5)
    assert not waiting.stalled, "a job waiting for a person owes no heartbeat"


# --- Starting a roster import again ------------------------------------------------------------------

def retry(client, job, data=None):
    payload = {} if data is None else {"roster": (io.BytesIO(data), "改正后.csv")}
    return client.post(f"/rosters/jobs/{job.id}/retry", data=payload, content_type="multipart/form-data")


def retried_entries(job):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retried",
                                                       AuditEntry.object_id == job.id)).all()


def test_a_failed_roster_import_starts_again_with_its_file_chosen_anew(world, login, upload_folder):
    client = login("county_officer")
    job = job_of(upload(client, world.county, csv_file([])))  # a header without rows
    assert job.stage == ImportStage.failed and job.attempts == 1 and not any(upload_folder.iterdir())
    assert "重新开始导入" in client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)

    without_file = retry(client, job)
    assert without_file.status_code == 400 and "请重新选择文件" in without_file.get_data(as_text=True)
    rows = [["张三", "13800138000", make_id(1), "甲公司工会"]]
    for username in ("other_officer", "chair", "m1"):
        assert retry(login(username), job, csv_file(rows)).status_code == 404
    db.session.expire_all()
    assert job.attempts == 1 and job.stage == ImportStage.failed and not retried_entries(job)
    assert not any(upload_folder.iterdir())

    assert retry(client, job, csv_file(rows)).status_code == 302
    db.session.expire_all()
    assert job.stage == ImportStage.previewed and job.attempts == 2 and job.message is None
    assert job.filename == "改正后.csv" and job.counts["new"] == 1
    [entry] = retried_entries(job)
    assert entry.object_type == "ImportJob" and entry.actor_id == world.county_officer.id
    assert json.loads(entry.details).items() >= {"attempt": 2, "kind": "roster_import", "was": "失败"}.items()
    page = client.get(f"/rosters/jobs/{job.id}").get_data(as_text=True)
    assert "<dt>开始次数</dt><dd>2</dd>" in page and "确认导入" in page
    assert client.post(f"/rosters/jobs/{job.id}/apply", data={}).status_code == 302
    db.session.expire_all()
    assert job.stage == ImportStage.applied and not any(upload_folder.iterdir())


def test_a_stalled_roster_import_repeats_its_step_with_the_file_it_kept(world, login, upload_folder):
    data = csv_file([["张三", "13800138000", make_id(1), "甲公司工会"]])
    job = operations.start_import(world.county, world.county_officer, io.BytesIO(data), "花名册.csv")
    db.session.commit()  # queued, and its worker died before it began
    client = login("county_officer")
    assert retry(client, job).status_code == 409, "not stalled yet: nothing to start again"
    job.updated_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert retry(client, job).status_code == 302
    db.session.expire_all()
    assert job.stage == ImportStage.previewed and job.attempts == 2 and job.counts["new"] == 1

    operations.request_apply(job, world.county_officer)
    db.session.commit()  # applying, and again the worker died
    job.updated_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert retry(client, job).status_code == 302
    db.session.expire_all()
    assert job.stage == ImportStage.applied and job.attempts == 3 and len(retried_entries(job)) == 2
    assert job.applied_by_id == world.county_officer.id and not any(upload_folder.iterdir())


# --- Starting a review PDF again ---------------------------------------------------------------------

def test_a_failed_review_pdf_is_generated_again_by_an_officer_who_may_ask_for_it(world, login, monkeypatch):
    import evalapp.reviews.pdf as pdf

    real = pdf.render_pdf
    monkeypatch.setattr(pdf, "render_pdf", lambda *args, **kwargs: 1 / 0)
    client = login("county_officer")
    today = local_today()
    response = client.post(f"/unions/{world.town.id}/review",
                           data={"period_start": date(today.year, 1, 1).isoformat(), "period_end": today.isoformat()})
    job = db.session.scalars(select(ReviewJob)).one()
    assert job.stage == ReviewStage.failed and job.attempts == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'action="/reviews/{job.id}/retry"' in page and "重新生成" in page
    for username in ("other_officer", "chair", "m1"):
        assert login(username).post(f"/reviews/{job.id}/retry").status_code == 404
    db.session.expire_all()
    assert job.attempts == 1 and not retried_entries(job)

    monkeypatch.setattr(pdf, "render_pdf", real)
    city = login("city_officer")  # an officer above may ask for the town's report too
    assert city.post(f"/reviews/{job.id}/retry").status_code == 302
    db.session.expire_all()
    assert job.stage == ReviewStage.done and job.attempts == 2 and job.message is None and job.file_key
    [entry] = retried_entries(job)
    assert entry.object_type == "ReviewJob" and entry.actor_id == world.city_officer.id
    assert client.get(f"/reviews/{job.id}/download").status_code == 200
    again = client.post(f"/reviews/{job.id}/retry", follow_redirects=True)
    assert "只有失败或长时间没有进展的任务才能重新开始" in again.get_data(as_text=True)
    db.session.expire_all()
    assert job.attempts == 2


# --- Publishing a large result again ---------------------------------------------------------------

def test_a_failed_count_is_asked_for_again_by_an_officer_of_the_campaign(world, login, large_from_three):
    job, page_url, publish_url = large_publication(world, PublicationStage.failed, 5)
    job.message = publication.COUNT_FAILED
    db.session.commit()
    assert publication.COUNT_FAILED in login("county_officer").get(page_url).get_data(as_text=True)
    for username in ("other_officer", "chair", "m1"):
        assert login(username).post(publish_url).status_code == 404
    db.session.expire_all()
    assert job.attempts == 1 and not retried_entries(job)

    assert login("city_officer").post(publish_url).status_code == 302
    db.session.expire_all()
    assert job.stage == PublicationStage.counted and job.attempts == 2 and job.message is None
    [entry] = retried_entries(job)
    assert entry.object_type == "PublicationJob" and entry.actor_id == world.city_officer.id
    frozen = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "result.frozen")).one()
    assert frozen.actor_id == world.city_officer.id, "counted in the name of the officer who asked last"


# --- The status list ---------------------------------------------------------------------------------

def test_jobs_status_lists_recent_jobs_by_kind_and_state(world, app):
    stalled, _, _ = roster_import(world, ImportStage.applying, 30, processed=250, total=1000)
    failed, _, _ = review_pdf(world, ReviewStage.failed, 1)
    runner = app.test_cli_runner()
    output = runner.invoke(args=["jobs", "status"]).output
    assert f"#{stalled.id}" in output and f"#{failed.id}" in output
    line = next(line for line in output.splitlines() if line.startswith(f"#{stalled.id} "))
    assert "roster_import" in line and "running" in line and "applying" in line and "250/1000" in line
    assert line.endswith("STALLED")
    only_failed = runner.invoke(args=["jobs", "status", "--state", "failed"]).output
    assert f"#{failed.id}" in only_failed and f"#{stalled.id} " not in only_failed
    only_reviews = runner.invoke(args=["jobs", "status", "--kind", "review_pdf"]).output
    assert f"#{failed.id}" in only_reviews and f"#{stalled.id} " not in only_reviews


# --- A dead runner shows at once ---------------------------------------------------------------------

def test_a_job_whose_process_is_gone_shows_as_stalled_at_once_not_ten_minutes_later(app, world, login):
    import os
    import socket
    import subprocess  # nosec B404: a process that ends at once, for its pid
    import sys

    job, page_url, retry_url = roster_import(world, ImportStage.applying, 0)
    assert job.runner is None and not job.stalled      # moved to running by a request: no runner known yet
    job.runner = f"pid:{socket.gethostname()}:{os.getpid()}"
    db.session.commit()
    assert not job.stalled                                              # this very process runs it
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # nosec B603
    gone.wait()
    job.runner = f"pid:{socket.gethostname()}:{gone.pid}"
    db.session.commit()
    assert job.stalled
    page = login("county_officer").get(page_url).get_data(as_text=True)
    assert STALLED in page and f'action="{retry_url}"' in page
    result = app.test_cli_runner().invoke(args=["jobs", "status", "--kind", "roster_import"])
    assert "STALLED" in result.output


def test_a_job_names_its_runner_when_it_runs_not_when_a_request_queues_it(app, world, login, upload_folder):
    """A web worker recycled after queueing a job must not make the job look dead."""
    import os

    from evalapp.core.jobs import run_in_background
    from evalapp.rosters.operations import run_preview, start_import
    from tests.builders import csv_file, make_id

    roster = csv_file([["新会员", "13800000001", make_id(1), world.union_a.name]])
    job = start_import(world.union_a, world.county_officer, io.BytesIO(roster), "x.csv")
    db.session.commit()
    assert job.runner is None
    run_in_background(app, run_preview, job.id)                      # JOBS_INLINE: runs here, as a job
    db.session.expire_all()
    assert job.stage == ImportStage.previewed and job.runner.endswith(f":{os.getpid()}")


@pytest.mark.service
def test_a_job_whose_rq_worker_stopped_beating_shows_as_stalled(app, world):
    import secrets
    from datetime import UTC, datetime

    from redis import Redis
    from rq import Worker
    from rq.utils import utcformat

    from evalapp.core.jobs import queue, redis_connection
    from tests.test_production import REDIS_URL, second_app

    name = f"evalapp-test-{secrets.token_hex(4)}"
    node = second_app(app, REDIS_URL=REDIS_URL, JOBS_QUEUE=name)
    job_id = roster_import(world, ImportStage.applying, 0)[0].id
    with node.app_context():
        worker = Worker([queue(node)], connection=redis_connection(REDIS_URL), name=f"{name}-worker")
        worker.register_birth()
        worker.heartbeat()
        try:
            job = db.session.get(ImportJob, job_id)
            job.runner = f"rq:{worker.name}"
            db.session.commit()
            assert not job.stalled
            # Killed with -9: its key stays in Redis for a while, but its heart no longer beats.
            redis_connection(REDIS_URL).hset(worker.key, "last_heartbeat",
                                             utcformat(datetime.now(UTC) - timedelta(minutes=2)))
            assert job.stalled
        finally:
            worker.register_death()
            connection = Redis.from_url(REDIS_URL)
            for key in connection.scan_iter(f"*{name}*"):
                connection.delete(key)
