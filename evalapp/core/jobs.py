"""Long work outside the request: a daemon thread with its own app context (inline in tests).

A job function receives plain ids, loads what it needs in its own session, and records its own
progress and outcome in the database; callers commit before starting it. A thread dies with its
process, so job pages must treat a job without progress for a long time as stalled.
"""
import logging
import threading

from evalapp.core.timeutil import utcnow

logger = logging.getLogger(__name__)


def is_stalled(job, after, now=None):
    """A running job (state.running, updated_at as heartbeat) that has not moved for `after`."""
    return job.state.running and job.updated_at < (now or utcnow()) - after


def run_in_background(app, fn, *args):
    """Run `fn(*args)` in a new app context: in a daemon thread, or now if JOBS_INLINE is set.

    Returns the thread, or None when the job ran inline (its exceptions then reach the caller).
    """
    if app.config.get("JOBS_INLINE"):
        with app.app_context():
            fn(*args)
        return None
    thread = threading.Thread(target=_run, args=(app, fn, args), name=f"job-{fn.__name__}", daemon=True)
    thread.start()
    return thread


def _run(app, fn, args):
    with app.app_context():
        try:
            fn(*args)
        except Exception:
            logger.exception("background job %s failed", fn.__name__)
