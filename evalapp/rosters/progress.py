"""A running import's progress, written where the job page (in any process) can read it."""
import time

from sqlalchemy import update

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.rosters.models import ImportJob

#: Rows between looks at the clock; progress is written at most once a second.
STRIDE = 2000


class Progress:
    """Writes a job's processed and total rows on a connection of its own, at most once a second.

    The import's transaction has not touched the job or the members yet while rows are read, so
    these short commits never wait for it (nor, on SQLite, invalidate its snapshot).
    """

    def __init__(self, job_id, echo=None, interval=1.0):
        self.job_id, self.echo, self.interval = job_id, echo, interval
        self._last = 0.0

    def __call__(self, processed, total=None, force=False):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        values = {"processed_rows": processed, "updated_at": utcnow()}
        if total is not None:
            values["total_rows"] = total
        if self.job_id is not None:
            with db.engine.begin() as connection:
                connection.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(**values))
        if self.echo is not None:
            self.echo(processed, total)
