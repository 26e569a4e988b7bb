"""GET /healthz for load balancers and monitoring: 200 when the database (and Redis, if used) answer.

With the job queue in Redis it also reports the background side, which a load balancer must not
act on but monitoring must: whether a worker has sent a heartbeat lately, whether the clock ticked
(the campaign schedule, reminders and notices depend on it), and how long the oldest job has waited.
"""
import importlib.metadata
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from evalapp.core.auth import public
from evalapp.core.db import db
from evalapp.core.limits import limiter

bp = Blueprint("health", __name__)


def _installed_release():
    try:
        return importlib.metadata.version("evalapp")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


#: The release this process loaded, read once at start: after an upgrade, an instance still naming
#: the old one was reloaded rather than restarted and runs the old code.
RELEASE = _installed_release()


@bp.route("/healthz")
@public
@limiter.exempt
def healthz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1")).scalar_one())}
    redis_url = current_app.config.get("REDIS_URL")
    checks["redis"] = _check(lambda: _redis_ping(redis_url)) if redis_url else {"ok": True, "used": False}
    healthy = all(check["ok"] for check in checks.values())
    background = _background() if healthy else {"ok": False, "error": "unchecked"}
    response = jsonify(status="ok" if healthy else "unavailable", release=RELEASE, checks=checks,
                       jobs=background)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _check(probe):
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:  # any failure means "not healthy"; the kind is enough to act on
        db.session.rollback()
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _redis_ping(url):
    from evalapp.core.jobs import redis_connection

    redis_connection(url).ping()


#: A worker whose heartbeat is older than this is taken for dead; RQ beats every few seconds.
WORKER_SILENT_SECONDS = 120
#: The clock ticks every minute.
CLOCK_SILENT_SECONDS = 180
#: A job waiting longer than this means the workers are dead, stuck or too few.
QUEUE_WAIT_SECONDS = 300


def _background():
    from evalapp.core import jobs

    app = current_app._get_current_object()
    if not jobs.uses_queue(app):
        return {"ok": True, "queue": False}
    try:
        report = jobs.background_state(app)
    except Exception as error:  # Redis answered the ping a moment ago; report, never fail the page
        return {"ok": False, "error": type(error).__name__}
    problems = []
    if report["worker_silent_s"] is None or report["worker_silent_s"] > WORKER_SILENT_SECONDS:
        problems.append("worker")
    if report["clock_silent_s"] is None or report["clock_silent_s"] > CLOCK_SILENT_SECONDS:
        problems.append("clock")
    if report["oldest_waiting_s"] is not None and report["oldest_waiting_s"] > QUEUE_WAIT_SECONDS:
        problems.append("queue")
    return {"ok": not problems, "problems": problems, **report}
