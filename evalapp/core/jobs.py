"""Long work outside the request: an RQ queue in Redis when REDIS_URL is set, else a thread in-process.

A job function receives plain ids, loads what it needs in its own session, and records its own
progress and outcome in the database; callers commit before starting it. The same job functions
run everywhere: queued in Redis and run by `flask jobs worker` (any number of workers, on any
machine), in a daemon thread of the web process on the embedded default (nothing needs Redis), or
inline when JOBS_INLINE is set (the tests). A thread dies with its process and a worker can be
killed, so job pages treat a job without progress for a long time as stalled (core.job_records).
"""
import contextlib
import contextvars
import functools
import logging
import os
import socket
import threading
import time
from datetime import UTC
from functools import cache
from importlib import import_module

import click
from flask import current_app, has_app_context

logger = logging.getLogger(__name__)

#: The queue's name in Redis; several evalapp sites can share one Redis with different names.
DEFAULT_QUEUE = "evalapp"
#: A job running longer than this is stopped by the worker (a 700,000-row import takes minutes).
JOB_TIMEOUT_SECONDS = 2 * 60 * 60


def uses_queue(app):
    return bool(app.config.get("REDIS_URL")) and not app.config.get("JOBS_INLINE") \
        and app.config.get("JOBS_BACKEND", "auto") != "thread"


def run_in_background(app, fn, *args):
    """Run `fn(*args)` outside this request: queued, in a thread, or now (JOBS_INLINE, or a command).

    Returns the RQ job or the thread, or None when the job ran inline (its exceptions then reach
    the caller).
    """
    if app.config.get("JOBS_INLINE"):
        with app.app_context(), _executing():
            fn(*args)
        return None
    if uses_queue(app):
        from redis.exceptions import RedisError

        try:
            return queue(app).enqueue(run_job, f"{fn.__module__}:{fn.__qualname__}", list(args),
                                      job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=0, failure_ttl=7 * 24 * 3600,
                                      description=f"{fn.__qualname__}{tuple(args)}")
        except RedisError:
            # The step that asked for the job has committed: run the job here rather than lose it.
            logger.warning("Redis unreachable: job %s runs in the web process", fn.__qualname__, exc_info=True)
    command = click.get_current_context(silent=True)
    if command is not None:
        # In a `flask` command (cron's `campaigns tick`, the demo loader) the process ends when the
        # command returns, and a daemon thread with it: the job runs once the command's own work is
        # done, before the process exits (never in the middle of it, from a commit).
        command.find_root().call_on_close(functools.partial(_run_logged, app, fn, args))
        return None
    thread = threading.Thread(target=_run_logged, args=(app, fn, args), name=f"job-{fn.__name__}", daemon=True)
    thread.start()
    return thread


@cache
def redis_connection(url):
    from redis import Redis

    # Timeouts, so that a Redis outage is an error a page can report, not a request that hangs.
    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


def queue(app):
    from rq import Queue

    return Queue(app.config.get("JOBS_QUEUE", DEFAULT_QUEUE), connection=redis_connection(app.config["REDIS_URL"]))


def run_job(target, args):
    """What the RQ worker runs: resolve `module:function` and call it in an app context."""
    module_name, _, name = target.partition(":")
    fn = getattr(import_module(module_name), name)
    app = current_app._get_current_object() if has_app_context() else _worker_app()
    from evalapp.core.db import db

    with app.app_context(), _executing():
        # A forked work horse must never use connections it inherited from the worker process.
        db.engine.dispose(close=False)
        try:
            fn(*args)
        finally:
            db.session.remove()


@cache
def _worker_app():
    # A worker started without `flask` (plain `rq worker`) finds the app the way `flask` does: FLASK_APP.
    from flask.cli import ScriptInfo

    return ScriptInfo().load_app()


def _run_logged(app, fn, args):
    with app.app_context(), _executing():
        try:
            fn(*args)
        except Exception:
            logger.exception("background job %s failed", fn.__name__)


def clock_heartbeat_key(app):
    return f"{app.config.get('JOBS_QUEUE', DEFAULT_QUEUE)}:clock:heartbeat"


def background_state(app):
    """What monitoring needs to know of the queue: seconds since the freshest worker heartbeat and
    since the clock's last tick (None: never), the jobs waiting and how long the oldest has waited."""
    from rq import Worker

    now = time.time()
    connection = redis_connection(app.config["REDIS_URL"])
    q = queue(app)
    beats = [worker.last_heartbeat for worker in Worker.all(queue=q) if worker.last_heartbeat is not None]
    freshest = max(beats).replace(tzinfo=UTC).timestamp() if beats else None
    ticked = connection.get(clock_heartbeat_key(app))
    oldest_id = next(iter(q.get_job_ids(0, 1)), None)
    oldest = q.fetch_job(oldest_id) if oldest_id else None
    enqueued = oldest.enqueued_at.replace(tzinfo=UTC).timestamp() if oldest is not None and oldest.enqueued_at else None
    return {"workers": len(beats),
            "worker_silent_s": round(now - freshest) if freshest else None,
            "clock_silent_s": round(now - float(ticked)) if ticked else None,
            "waiting": len(q), "oldest_waiting_s": round(now - enqueued) if enqueued else None}


#: A worker that has not beaten its heart for this long while running a job is taken for dead (RQ
#: beats every 30 s while a job runs).
RUNNER_SILENT_SECONDS = 75


_in_job = contextvars.ContextVar("evalapp_in_job", default=False)


@contextlib.contextmanager
def _executing():
    """Mark the code inside as a job's own execution (not the request that queued it)."""
    token = _in_job.set(True)
    try:
        yield
    finally:
        _in_job.reset(token)


def current_runner():
    """Who is running the job now: "rq:<worker>" inside an RQ work horse, "pid:<host>:<pid>" in a
    thread or a command; None outside a job's execution (a request that only queued it: the web
    process it ran in says nothing about the worker that will run the job)."""
    if not _in_job.get():
        return None
    from rq import get_current_job

    try:
        running = get_current_job()
    except Exception:  # no RQ connection in this context: not a work horse
        running = None
    if running is not None and running.worker_name:
        return f"rq:{running.worker_name}"
    return f"pid:{socket.gethostname()}:{os.getpid()}"


def runner_alive(runner, app=None):
    """Whether the process `runner` names is still there; True whenever it cannot be told from here."""
    kind, _, rest = (runner or "").partition(":")
    if kind == "pid":
        host, _, pid = rest.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return True
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    app = app or current_app._get_current_object()
    if kind == "rq" and app.config.get("REDIS_URL"):
        from rq import Worker

        try:
            worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + rest,
                                        connection=redis_connection(app.config["REDIS_URL"]))
        except Exception:  # Redis away: say nothing rather than call a live worker dead
            return True
        if worker is None or worker.last_heartbeat is None:
            return False
        return time.time() - worker.last_heartbeat.replace(tzinfo=UTC).timestamp() < RUNNER_SILENT_SECONDS
    return True
