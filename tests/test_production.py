"""Running as a service: configuration from the environment, health, request ids, error pages,
session expiry and jobs queued in Redis for `flask jobs worker`."""
import importlib.metadata
import io
import json
import os
import secrets
import time

import pytest
from redis import Redis

from evalapp import create_app
from evalapp.core.auth import public
from evalapp.core.config import from_environment
from evalapp.core.db import db
from evalapp.core.worker import due_slots, tick
from evalapp.rosters.models import ImportJob, ImportStage
from tests.builders import csv_file, make_id
from tests.conftest import TEST_PASSWORD, IsolatedClient, log_in
from tests.factories import make_campaign, vote

REDIS_URL = "redis://127.0.0.1:6379/0"


_second_apps = []


@pytest.fixture(autouse=True)
def _close_second_apps():
    """Close the connections of the apps a test made, before the garbage collector finds them open."""
    yield
    while _second_apps:
        other = _second_apps.pop()
        with other.app_context():
            for engine in db.engines.values():
                engine.dispose()


def second_app(app, **config):
    """Another app on the test database, as a second instance or a differently configured node."""
    other = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATELIMIT_STORAGE_URI": "memory://",
        **config,
    })
    other.test_client_class = IsolatedClient
    _second_apps.append(other)
    return other


# Configuration ---------------------------------------------------------------------------------

def test_the_environment_sets_database_redis_uploads_sessions_and_mail():
    settings = from_environment({
        "DATABASE_URL": "postgresql://evalapp@db.internal/evalapp", "REDIS_URL": "redis://cache:6379/1",
        "MAX_UPLOAD_MB": "50", "SESSION_IDLE_MINUTES": "30", "SESSION_COOKIE_SECURE": "yes",
        "MAIL_SERVER": "smtp.example.cn", "MAIL_PORT": "465", "MAIL_USE_TLS": "on", "SECRET_KEY": " ",
        "MAX_ROSTER_UPLOAD_MB": "300",
    })
    assert settings["ROSTER_MAX_UPLOAD_BYTES"] == 300 * 1024 * 1024
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql://evalapp@db.internal/evalapp"
    assert settings["REDIS_URL"] == "redis://cache:6379/1"
    assert settings["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024
    assert settings["PERMANENT_SESSION_LIFETIME"].total_seconds() == 30 * 60
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["MAIL_USE_TLS"] is True
    assert settings["MAIL_PORT"] == 465
    assert "SECRET_KEY" not in settings, "an empty variable must not blank the key"


def test_a_malformed_setting_stops_the_start_naming_the_variable():
    with pytest.raises(RuntimeError, match="MAX_UPLOAD_MB"):
        from_environment({"MAX_UPLOAD_MB": "lots"})


def test_redis_url_moves_rate_limits_to_redis_and_https_makes_cookies_secure(tmp_path):
    from flask import Flask

    from evalapp.core import config

    # Only the configuration: an app built with it would bind this process's limiter to Redis.
    node = Flask("node", instance_path=str(tmp_path))
    config.load(node, {"SECRET_KEY": "x", "REDIS_URL": REDIS_URL, "PUBLIC_URL": "https://pingyi.example.cn"})
    assert node.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert node.config["SESSION_COOKIE_SECURE"] and node.config["REMEMBER_COOKIE_SECURE"]
    plain = Flask("plain", instance_path=str(tmp_path))
    config.load(plain, {"SECRET_KEY": "x"})
    assert plain.config["RATELIMIT_STORAGE_URI"] == "memory://" and plain.config["SESSION_COOKIE_SECURE"] is False


def test_a_production_configuration_without_database_url_refuses_to_start(tmp_path, monkeypatch):
    """The upgrade run without the environment file must not migrate a new SQLite file and say "done"."""
    from flask import Flask

    from evalapp.core import config

    for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "EVALAPP_ENV_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("EVALAPP_PRODUCTION", "1")
    monkeypatch.setenv("AUDIT_KEY", "audit-" + "a" * 40)
    monkeypatch.setenv("ID_HASH_KEY", "id-" + "b" * 40)
    with pytest.raises(RuntimeError, match="DATABASE_URL is not"):
        config.load(Flask("upgrade", instance_path=str(tmp_path)))
    assert not (tmp_path / "evalapp.sqlite").exists()
    monkeypatch.setenv("DATABASE_URL", "postgresql://evalapp@db.internal/evalapp")
    node = Flask("upgrade", instance_path=str(tmp_path))
    config.load(node)
    assert node.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def test_uploaded_files_get_the_modes_a_group_shared_with_nginx_needs_whatever_the_umask(tmp_path):
    """Behind nginx (X-Accel-Redirect) another user reads the files: 0600 in 0700 folders answered 403."""
    import io
    import stat

    from evalapp.core.storage import LocalStorage

    settings = from_environment({"UPLOAD_FILE_MODE": "0640", "UPLOAD_DIR_MODE": "2750"})
    store = LocalStorage(tmp_path / "uploads", settings["UPLOAD_FILE_MODE"], settings["UPLOAD_DIR_MODE"])
    previous = os.umask(0o077)
    try:
        key = store.save(io.BytesIO(b"picture"))
    finally:
        os.umask(previous)
    path = tmp_path / "uploads" / key[:2] / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o2750
    assert stat.S_IMODE((tmp_path / "uploads").stat().st_mode) == 0o2750
    private = LocalStorage(tmp_path / "private")
    assert stat.S_IMODE((tmp_path / "private" / (k := private.save(io.BytesIO(b"x")))[:2] / k).stat().st_mode) == 0o600
    with pytest.raises(RuntimeError, match="UPLOAD_FILE_MODE"):
        from_environment({"UPLOAD_FILE_MODE": "0644"})          # others would read every upload


def test_production_requires_its_own_audit_and_id_hash_keys(tmp_path):
    """Rotating SECRET_KEY (the sessions' key) must not break the audit chain nor the ID-number hashes."""
    from flask import Flask

    from evalapp.core import config

    base = {"PRODUCTION": True, "SQLALCHEMY_DATABASE_URI": "postgresql://evalapp@/evalapp", "SECRET_KEY": "s" * 40}
    for missing in ({}, {"AUDIT_KEY": "a" * 40}, {"AUDIT_KEY": "s" * 40, "ID_HASH_KEY": "i" * 40}):
        with pytest.raises(RuntimeError, match="must be set, and differ from SECRET_KEY"):
            config.load(Flask("keys", instance_path=str(tmp_path)), {**base, **missing})
    node = Flask("keys", instance_path=str(tmp_path))
    config.load(node, {**base, "AUDIT_KEY": "a" * 40, "ID_HASH_KEY": "i" * 40})
    assert node.config["AUDIT_KEY"] == "a" * 40


def test_commands_read_the_services_environment_file_and_the_shell_wins(tmp_path):
    from evalapp.core.config import with_environment_file

    env_file = tmp_path / "evalapp.env"
    env_file.write_text("# the service's settings\nEVALAPP_PRODUCTION=1\nDATABASE_URL=postgresql://evalapp@/evalapp\n"
                        "SECRET_KEY='a key with spaces'\n\nexport REDIS_URL=redis://127.0.0.1:6379/0\n")
    merged = with_environment_file({"EVALAPP_ENV_FILE": str(env_file), "REDIS_URL": "redis://other:6379/1"})
    assert merged["DATABASE_URL"] == "postgresql://evalapp@/evalapp" and merged["SECRET_KEY"] == "a key with spaces"
    assert merged["REDIS_URL"] == "redis://other:6379/1"
    settings = from_environment(merged)
    assert settings["PRODUCTION"] is True and settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with pytest.raises(RuntimeError, match="cannot read"):
        with_environment_file({"EVALAPP_ENV_FILE": str(tmp_path / "missing.env")})
    # Without EVALAPP_ENV_FILE, the guide's file is read when it is there (a command run without it).
    assert with_environment_file({}, default=str(env_file))["DATABASE_URL"] == "postgresql://evalapp@/evalapp"
    assert with_environment_file({}, default=str(tmp_path / "not-installed.env")) == {}
    env_file.write_text("DATABASE_URL postgresql://x\n")  # a line without "="
    with pytest.raises(RuntimeError, match="line 1"):
        with_environment_file({"EVALAPP_ENV_FILE": str(env_file)})


def test_a_request_over_the_upload_limit_gets_a_clear_page_and_changes_nothing(app, world):
    small = second_app(app, MAX_CONTENT_LENGTH=1024)
    with small.app_context():
        client = log_in(small, "chair")
        response = client.post("/account/password", data={"current": TEST_PASSWORD, "new": "x" * 4096,
                                                  "confirm": "x" * 4096})
    assert response.status_code == 413
    assert "上传的内容超过了大小限制" in response.get_data(as_text=True)
    assert log_in(small, "chair"), "the password must be unchanged"


# Health, request ids and logs -----------------------------------------------------------------------

def test_health_answers_without_a_login_and_sets_no_cookie(client, world):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"]
    assert body["checks"]["redis"] == {"ok": True, "used": False}
    assert "Set-Cookie" not in response.headers
    assert body["release"] == importlib.metadata.version("evalapp")     # which code an instance runs


def test_health_reports_an_unreachable_redis_as_unavailable(app):
    node = second_app(app, REDIS_URL="redis://127.0.0.1:1/0")
    response = node.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] and not body["checks"]["redis"]["ok"]


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    first, second = client.get("/login"), client.get("/login")
    assert len(first.headers["X-Request-ID"]) == 32 and first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert client.get("/login", headers={"X-Request-ID": "proxy-1234abcd"}).headers["X-Request-ID"] == "proxy-1234abcd"
    forged = client.get("/login", headers={"X-Request-ID": "<script>alert(1)</script>"}).headers["X-Request-ID"]
    assert "<" not in forged and len(forged) == 32


def log_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_requests_are_logged_as_json_lines_without_accounts_and_ballots_leave_none(world, login, capsys):
    campaign = make_campaign(world, "open")
    client = login("m1")
    capsys.readouterr()
    page = client.get(f"/campaigns/{campaign.id}")
    vote(campaign, world.members[1], [0, 0, 0])
    from tests.factories import ballot_form

    cast = client.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [0, 1, 2]))
    assert cast.status_code == 302
    lines = log_lines(capsys)
    page_line = next(line for line in lines if line.get("path") == f"/campaigns/{campaign.id}")
    assert page_line["request_id"] == page.headers["X-Request-ID"]
    assert page_line["status"] == 200 and page_line["method"] == "GET" and page_line["duration_ms"] >= 0
    assert not [line for line in lines if line.get("path", "").endswith("/vote")], "casting a ballot must leave no log line"
    text = json.dumps(lines, ensure_ascii=False)
    assert "m1" not in text and "会员1" not in text


def test_a_crash_shows_a_plain_page_with_the_request_id_and_logs_the_traceback(app, capsys):
    node = second_app(app, PROPAGATE_EXCEPTIONS=False)

    @node.route("/boom")
    @public
    def boom():
        raise RuntimeError("secret detail from deep inside")

    response = node.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "服务器出错" in page
    assert response.headers["X-Request-ID"] in page
    assert "secret detail" not in page and "Traceback" not in page
    logged = [line for line in log_lines(capsys) if line.get("message") == "unhandled error"]
    assert logged and "secret detail from deep inside" in logged[0]["exception"]
    assert logged[0]["request_id"] == response.headers["X-Request-ID"]


def test_with_the_database_gone_pages_say_nothing_was_saved_and_to_retry(app, tmp_path):
    gone = second_app(app, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/evalapp.sqlite")
    client = gone.test_client()
    response = client.post("/login", data={"username": "m1", "password": TEST_PASSWORD})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "您刚才的提交可能没有完成" in page and response.headers["X-Request-ID"] in page
    assert "sqlite" not in page.lower() and "OperationalError" not in page
    assert client.get("/healthz").status_code == 503


# Sessions ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_session_ends_after_the_idle_time(app, world):
    node = second_app(app, PERMANENT_SESSION_LIFETIME=1)
    with node.app_context():
        client = log_in(node, "m1")
        cookie = client.get_cookie("session")
        assert cookie.expires is not None, "a signed-in session must carry an expiry"
        assert client.get("/").status_code == 200
        time.sleep(2.2)
        response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_cookies_are_httponly_lax_and_secure_under_https(app, world):
    node = second_app(app, SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    with node.app_context():
        client = node.test_client()
        response = client.post("/login", data={"username": "m1", "password": TEST_PASSWORD, "remember": "y"},
                               base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert all("SameSite=Lax" in c for c in cookies if c.startswith("session="))


def test_security_headers_forbid_inline_script_framing_and_sniffing(client):
    headers = client.get("/login").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy and "base-uri 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


# Jobs in Redis -------------------------------------------------------------------------------------

@pytest.fixture
def queue_app(app, tmp_path):
    name = f"evalapp-test-{secrets.token_hex(4)}"
    node = second_app(app, REDIS_URL=REDIS_URL, JOBS_QUEUE=name, ROSTER_UPLOAD_FOLDER=str(tmp_path / "uploads"))
    yield node
    connection = Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)


@pytest.mark.service
def test_a_roster_import_waits_in_the_queue_until_a_worker_runs_it(queue_app, world):
    rows = [["新会员一", "13800000001", make_id(1), world.union_a.name]]
    with queue_app.app_context():
        client = log_in(queue_app, "county_officer")
        response = client.post(f"/rosters/unions/{world.union_a.id}/import",
                               data={"roster": (io.BytesIO(csv_file(rows)), "roster.csv")}, content_type="multipart/form-data")
        assert response.status_code == 302
        job_id = int(response.headers["Location"].rsplit("/", 1)[1])
        from evalapp.core.jobs import queue

        assert len(queue(queue_app)) == 1
        assert db.session.get(ImportJob, job_id).stage == ImportStage.uploaded, "nothing runs before a worker takes it"
        result = queue_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
        assert len(queue(queue_app)) == 0
        db.session.expire_all()
        job = db.session.get(ImportJob, job_id)
        assert job.stage == ImportStage.previewed
        page = client.get(f"/rosters/jobs/{job_id}").get_data(as_text=True)
    assert '<td>新增会员</td><td class="num">1</td>' in page


def test_with_redis_away_a_job_runs_in_the_web_process_instead_of_being_lost(app, world, tmp_path):
    node = second_app(app, REDIS_URL="redis://127.0.0.1:1/0", ROSTER_UPLOAD_FOLDER=str(tmp_path / "uploads"))
    rows = [["新会员一", "13800000001", make_id(1), world.union_a.name]]
    with node.app_context():
        client = log_in(node, "county_officer")
        response = client.post(f"/rosters/unions/{world.union_a.id}/import",
                               data={"roster": (io.BytesIO(csv_file(rows)), "roster.csv")}, content_type="multipart/form-data")
        assert response.status_code == 302
        job_id = int(response.headers["Location"].rsplit("/", 1)[1])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.get(ImportJob, job_id).stage == ImportStage.previewed:
                break
            time.sleep(0.1)
        assert db.session.get(ImportJob, job_id).stage == ImportStage.previewed


@pytest.mark.service
def test_the_clock_queues_each_slot_once_however_many_workers_tick(queue_app):
    from datetime import datetime

    from evalapp.core.jobs import queue

    eight_o_five = datetime(2026, 12, 3, 8, 5)
    with queue_app.app_context():
        every_minute = ["evalapp.notifications.commands:run", "evalapp.campaigns.operations:run_schedule",
                        "evalapp.voting.reminders:remind_closing"]
        assert [target for _, target in due_slots(queue_app, eight_o_five)] == [
            *every_minute, "evalapp.rectification.reminders:run"]
        first = tick(queue_app, eight_o_five)
        second = tick(queue_app, eight_o_five)
        assert len(first) == 4 and second == []
        assert tick(queue_app, datetime(2026, 12, 3, 8, 6)) == every_minute
        assert len(queue(queue_app)) == 7


@pytest.mark.service
def test_the_worker_clock_thread_queues_the_schedule_on_its_own(queue_app):
    import threading

    from evalapp.core.jobs import queue
    from evalapp.core.worker import run_clock

    stop = threading.Event()
    clock = threading.Thread(target=run_clock, args=(queue_app, stop), daemon=True)
    clock.start()  # a thread of its own, outside any app context, as in `flask jobs worker`
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with queue_app.app_context():
                if len(queue(queue_app)):
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        clock.join(5)
    with queue_app.app_context():
        assert "evalapp.campaigns.operations:run_schedule" in [job.description for job in queue(queue_app).jobs]


@pytest.mark.service
def test_a_scheduled_opening_runs_from_the_queue(queue_app, world):
    from datetime import timedelta

    from evalapp.campaigns.models import CampaignState
    from evalapp.core.timeutil import utcnow

    campaign = make_campaign(world, "reporting")
    campaign.opens_at = utcnow() - timedelta(minutes=1)
    campaign.closes_at = utcnow() + timedelta(days=3)
    db.session.commit()
    with queue_app.app_context():
        tick(queue_app)
        result = queue_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert campaign.state == CampaignState.open


@pytest.mark.service
def test_health_tells_monitoring_of_a_dead_worker_a_silent_clock_and_a_waiting_job(queue_app):
    from rq import Worker

    from evalapp.core.jobs import queue, redis_connection

    client = queue_app.test_client()
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200                              # the load balancer keeps the instance
    assert body["jobs"]["ok"] is False and body["jobs"]["problems"] == ["worker", "clock"]
    with queue_app.app_context():
        tick(queue_app)                                             # the clock ticks and queues its jobs
        worker = Worker([queue(queue_app)], connection=redis_connection(REDIS_URL))
        worker.register_birth()
        worker.heartbeat()
    try:
        jobs = client.get("/healthz").get_json()["jobs"]
        assert jobs["ok"] is True and jobs["problems"] == [] and jobs["workers"] == 1
        assert jobs["waiting"] >= 1 and 0 <= jobs["oldest_waiting_s"] < 60 and jobs["clock_silent_s"] < 60
    finally:
        with queue_app.app_context():
            worker.register_death()


@pytest.mark.service
def test_the_workers_own_lines_are_json_like_every_other(queue_app, capsys):
    with queue_app.app_context():
        tick(queue_app)
        capsys.readouterr()
        result = queue_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    captured = capsys.readouterr()
    lines = [line for line in (captured.err + captured.out + result.output).splitlines() if line.strip()]
    rq_lines = [json.loads(line) for line in lines if line.startswith("{") and '"logger": "rq.' in line]
    assert rq_lines and not [line for line in lines if "Worker rq:worker" in line and not line.startswith("{")]


def test_the_worker_refuses_to_start_without_redis(app):
    result = second_app(app).test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


# Publishing a large result as a job -----------------------------------------------------------------

@pytest.fixture
def large_from_three(monkeypatch):
    """Treat three ballots as "large", so the background path runs on a small campaign."""
    from evalapp.results import publication

    monkeypatch.setattr(publication, "COUNT_IN_BACKGROUND_FROM", 3)


@pytest.mark.service
def test_a_large_result_is_counted_by_a_job_while_the_page_says_so_then_published(queue_app, world, large_from_three):
    from evalapp.campaigns.models import Campaign, CampaignState
    from evalapp.core.jobs import queue
    from evalapp.results.models import PublicationStage
    from evalapp.results.publication import counting_of

    campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    campaign_id = campaign.id
    with queue_app.app_context():
        client = log_in(queue_app, "county_officer")
        assert db.session.get(Campaign, campaign_id).result is None       # too large to count while closing
        response = client.post(f"/campaigns/{campaign_id}/actions/count")
        assert response.status_code == 302
        page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
        assert "正在统计结果" in page and 'http-equiv="refresh"' in page
        assert "actions/count" not in page, "no second request while the first is under way"
        again = client.post(f"/campaigns/{campaign_id}/actions/count", follow_redirects=True)
        assert "结果正在统计中" in again.get_data(as_text=True)
        assert len(queue(queue_app)) == 1
        result = queue_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        counted = db.session.get(Campaign, campaign_id)
        assert counted.state == CampaignState.closed and counted.result.turnout == 3   # for the officers only
        assert counting_of(counted).stage == PublicationStage.counted
        page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
        assert "正在统计结果" not in page and "结果已统计，尚未公布" in page
        assert client.post(f"/campaigns/{campaign_id}/actions/publish").status_code == 302
        db.session.expire_all()
        assert db.session.get(Campaign, campaign_id).state == CampaignState.published


def test_a_failed_background_count_says_so_and_can_be_retried(world, login, large_from_three, monkeypatch):
    from evalapp.campaigns.models import CampaignState
    from evalapp.results import operations as results
    from evalapp.results.models import PublicationStage
    from evalapp.results.publication import counting_of

    campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    real = results.compute_result
    monkeypatch.setattr(results, "compute_result", lambda campaign: 1 / 0)
    officer = login("county_officer")
    page = officer.post(f"/campaigns/{campaign.id}/actions/count", follow_redirects=True).get_data(as_text=True)
    assert "统计结果时出错，结果没有统计出来" in page and "actions/count" in page
    db.session.expire_all()
    assert campaign.state == CampaignState.closed and campaign.result is None
    monkeypatch.setattr(results, "compute_result", real)
    officer.post(f"/campaigns/{campaign.id}/actions/count")
    db.session.expire_all()
    assert campaign.state == CampaignState.closed and campaign.result is not None
    job = counting_of(campaign)
    assert job.stage == PublicationStage.counted and job.message is None and job.attempts == 2


def test_a_count_whose_worker_died_can_be_asked_for_again(world, login, large_from_three):
    from datetime import timedelta

    from evalapp.core.timeutil import utcnow
    from evalapp.results.models import PublicationJob, PublicationStage

    campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    job = PublicationJob(subject=campaign, created_by=world.county_officer, stage=PublicationStage.counting)
    db.session.add(job)
    db.session.flush()
    job.updated_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    page = login("county_officer").get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "上次的统计可能已经中断" in page and "actions/count" in page
