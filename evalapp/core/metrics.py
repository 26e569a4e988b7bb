"""GET /metrics: counters and gauges in Prometheus's text format, for the federation's monitoring.

Counters (requests by status class, ballots accepted and refused) are kept per process and added
into a Redis hash at most every FLUSH_SECONDS, so that every gunicorn worker and instance counts
into one total without a Redis round trip per request; on the embedded default (one process, no
Redis) the process's own counts are the totals. Gauges are read when scraped: jobs by kind and
state (database), and the queue's waiting jobs, workers and clock (Redis).

Ballots are counted for the whole site, never per campaign or union: a count that moved in one
scrape interval must not point at the few electors of one small union.

The endpoint answers only with `Authorization: Bearer <METRICS_TOKEN>`, and 404 when no token is set.
"""
import hmac
import threading
import time
from collections import Counter

from flask import Blueprint, Response, abort, current_app, request

from evalapp.core.auth import public
from evalapp.core.limits import limiter

bp = Blueprint("metrics", __name__)
FLUSH_SECONDS = 5
_lock = threading.Lock()
_unflushed = Counter()
_last_flush = [time.monotonic()]

COUNTERS = {
    "requests": ("evalapp_requests_total", "HTTP requests answered, by status class.", "status"),
    "ballots": ("evalapp_ballots_total", "Ballots submitted, by outcome (accepted or refused).", "outcome"),
}


def count(name, label):
    """Add one to counter `name` with its label value `label` (e.g. count("ballots", "accepted"))."""
    with _lock:
        _unflushed[name, label] += 1
    if current_app.config.get("REDIS_URL") and time.monotonic() - _last_flush[0] >= FLUSH_SECONDS:
        flush()


def _hash_key():
    return f"{current_app.config.get('JOBS_QUEUE', 'evalapp')}:metrics"


def flush():
    """Add this process's counts into the shared Redis hash (at most once per FLUSH_SECONDS)."""
    from evalapp.core.jobs import redis_connection

    with _lock:
        if not _unflushed:
            _last_flush[0] = time.monotonic()
            return
        deltas = dict(_unflushed)
        _unflushed.clear()
        _last_flush[0] = time.monotonic()
    try:
        pipeline = redis_connection(current_app.config["REDIS_URL"]).pipeline()
        for (name, label), value in deltas.items():
            pipeline.hincrby(_hash_key(), f"{name}|{label}", value)
        pipeline.execute()
    except Exception:  # Redis away: keep the counts for the next flush rather than lose them
        with _lock:
            _unflushed.update(deltas)


def totals():
    """Every counter's total: the shared hash (with Redis) plus what this process has not flushed yet."""
    result = Counter()
    if current_app.config.get("REDIS_URL"):
        flush()
        from evalapp.core.jobs import redis_connection

        for field, value in redis_connection(current_app.config["REDIS_URL"]).hgetall(_hash_key()).items():
            name, _, label = field.decode().partition("|")
            result[name, label] += int(value)
    with _lock:
        result.update(_unflushed)
    return result


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition():
    """The text exposition format (version 0.0.4)."""
    from evalapp.core import jobs
    from evalapp.core.job_records import counts_by_kind_and_state

    lines = []
    counted = totals()
    for name, (metric, help_text, label_name) in COUNTERS.items():
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
        for (counter, label), value in sorted(counted.items()):
            if counter == name:
                lines.append(f'{metric}{{{label_name}="{_escape(label)}"}} {value}')
    lines += ["# HELP evalapp_jobs Background jobs recorded, by kind and state.", "# TYPE evalapp_jobs gauge"]
    for (kind, state), value in sorted(counts_by_kind_and_state().items()):
        lines.append(f'evalapp_jobs{{kind="{_escape(kind)}",state="{_escape(state.value)}"}} {value}')
    app = current_app._get_current_object()
    if jobs.uses_queue(app):
        state = jobs.background_state(app)
        gauges = (("evalapp_queue_waiting_jobs", "Jobs waiting in the queue.", state["waiting"]),
                  ("evalapp_queue_oldest_wait_seconds", "How long the oldest waiting job has waited.",
                   state["oldest_waiting_s"] or 0),
                  ("evalapp_workers", "Workers that sent a heartbeat.", state["workers"]),
                  ("evalapp_worker_silent_seconds", "Seconds since the freshest worker heartbeat (-1: none).",
                   state["worker_silent_s"] if state["worker_silent_s"] is not None else -1),
                  ("evalapp_clock_lag_seconds", "Seconds since the clock last ticked (-1: never).",
                   state["clock_silent_s"] if state["clock_silent_s"] is not None else -1))
        for metric, help_text, value in gauges:
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge", f"{metric} {value}"]
    return "\n".join(lines) + "\n"


@bp.route("/metrics")
@public
@limiter.exempt
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(offered.encode(), token.encode()):
        abort(404)
    response = Response(exposition(), mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response
