"""`flask jobs worker`: runs queued jobs, and keeps the clock for the scheduled ones.

The clock replaces the cron lines of a one-machine install: it queues the periodic jobs the domain
packages register (`periodic`): the campaign schedule every minute, the rectification reminders
every morning (Shanghai time). Any number of workers may run, on any machines: each slot is claimed in
Redis first (SET NX), so a slot's job is queued once however many clocks are ticking.
"""
import logging
import threading
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from evalapp.core import jobs
from evalapp.core.job_records import JobState, counts_by_kind_and_state, recent_jobs
from evalapp.core.timeutil import to_local, utcnow

logger = logging.getLogger(__name__)
jobs_cli = AppGroup("jobs", help="Background jobs: the worker, and their status.")

CLOCK_CLAIM_SECONDS = 2 * 24 * 3600


def periodic(app, name, target, *, daily_at=None):
    """Have the clock queue `target` ("module:function", called without arguments) every minute,
    or once a day at `daily_at`, an (hour, minute) of Shanghai time."""
    app.extensions.setdefault("evalapp.clock", []).append((name, target, daily_at))


def due_slots(app, moment):
    """The clock's (slot key, job target) pairs due at `moment` (a local datetime)."""
    slots = []
    for name, target, daily_at in app.extensions.get("evalapp.clock", []):
        if daily_at is None:
            slots.append((f"{name}:{moment:%Y%m%d%H%M}", target))
        elif (moment.hour, moment.minute) == daily_at:
            slots.append((f"{name}:{moment:%Y%m%d}", target))
    return slots


def tick(app, moment=None):
    """Queue the jobs due at `moment` that no other clock has queued; return their targets."""
    moment = moment or to_local(utcnow())
    connection = jobs.redis_connection(app.config["REDIS_URL"])
    connection.set(jobs.clock_heartbeat_key(app), str(time.time()), ex=CLOCK_CLAIM_SECONDS)  # for /healthz
    prefix = f"{app.config.get('JOBS_QUEUE', jobs.DEFAULT_QUEUE)}:clock:"
    queued = []
    for slot, target in due_slots(app, moment):
        if connection.set(prefix + slot, "1", nx=True, ex=CLOCK_CLAIM_SECONDS):
            jobs.queue(app).enqueue(jobs.run_job, target, [], job_timeout=jobs.JOB_TIMEOUT_SECONDS,
                                    result_ttl=0, description=target)
            queued.append(target)
    return queued


def run_clock(app, stop):
    """Tick every minute, on the minute, until `stop` is set (in a thread of the worker)."""
    with app.app_context():
        while not stop.is_set():
            try:
                for target in tick(app):
                    logger.info("clock queued %s", target)
            except Exception:
                # Redis away for a moment: the next minute tries again; a missed minute's schedule is
                # caught up by the next run, which acts on every campaign whose time has passed.
                logger.exception("clock tick failed")
            stop.wait(60 - datetime.now().second + 0.5)


@jobs_cli.command("worker")
@click.option("--clock/--no-clock", default=True, show_default=True,
              help="Also queue the periodic jobs (campaign opening/closing every minute, daily reminders).")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop (for scripts and tests).")
def worker(clock, burst):
    """Run queued jobs until stopped (needs REDIS_URL)."""
    from rq import Worker

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inside the web process")
    # RQ's own lines in the format of every other line (JSON by default), not its coloured text.
    rq_logger = logging.getLogger("rq")
    rq_logger.handlers = list(logging.getLogger("evalapp").handlers)
    rq_logger.setLevel(logging.INFO)
    rq_logger.propagate = False
    stop = threading.Event()
    if clock and not burst:
        threading.Thread(target=run_clock, args=(app, stop), name="clock", daemon=True).start()
    try:
        Worker([jobs.queue(app)], connection=jobs.redis_connection(app.config["REDIS_URL"])).work(
            burst=burst, with_scheduler=False, logging_level="INFO")
    finally:
        stop.set()


@jobs_cli.command("status")
@click.option("--kind", help="Only jobs of this kind (roster_import, review_pdf, publication).")
@click.option("--state", type=click.Choice([state.value for state in JobState]), help="Only jobs in this state.")
@click.option("--limit", default=20, show_default=True, help="How many recent jobs to list.")
def status(kind, state, limit):
    """List recent jobs and how many there are by kind and state; with Redis, the queue too."""
    for (job_kind, job_state), count in sorted(counts_by_kind_and_state().items()):
        click.echo(f"{job_kind:<16} {job_state.value:<10} {count:>8,}")
    for job in recent_jobs(kind, JobState(state) if state else None, limit):
        progress = f"{job.processed}/{job.total}" if job.total is not None else f"{job.processed}"
        flags = " STALLED" if job.stalled else ""
        click.echo(f"#{job.id:<7} {job.kind:<16} {job.state.value:<10} {job.stage or '-':<12} {progress:>15} "
                   f"attempt {job.attempts}  updated {job.updated_at:%Y-%m-%d %H:%M:%S} UTC{flags}"
                   + (f"  {job.message}" if job.message else ""))
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        click.echo("REDIS_URL is not set: jobs run in the web process, nothing is queued")
        return
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    q = jobs.queue(app)
    click.echo(f"queue {q.name}: {len(q)} waiting, {len(StartedJobRegistry(queue=q))} running, "
               f"{len(FailedJobRegistry(queue=q))} failed")
