"""A running import's progress, written where the job page (in any process) can read it."""
import time

from evalapp.core.job_records import heartbeat

#: Rows between looks at the clock; progress is written at most once a second.
STRIDE = 2000


class Progress:
    """Writes a job's processed and total rows (core.job_records.heartbeat), at most once a second.

    The import's transaction has not touched the job or the members yet while rows are read, so
    these short commits never wait for it.
    """

    def __init__(self, job_id, echo=None, interval=1.0):
        self.job_id, self.echo, self.interval = job_id, echo, interval
        self._last = 0.0

    def __call__(self, processed, total=None, force=False):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        values = {"processed": processed}
        if total is not None:
            values["total"] = total
        if self.job_id is not None:
            heartbeat(self.job_id, **values)
        if self.echo is not None:
            self.echo(processed, total)
