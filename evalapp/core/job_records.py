"""What every background job records: one `jobs` table, one stalled rule, one way to start again.

A row per job, whatever its kind (a roster import, a review PDF, a large publication…) holds its
generic `state` (queued → running → done or failed; `waiting` for a person, `cancelled`), the
domain's current step (`stage`: 正在检查 → 待确认 → 正在导入 for a roster import), its progress
(`processed` of `total`), a heartbeat (`updated_at`, moved by every write to the row), when it
started and finished, how many times it was started (`attempts`), a message for the user in
Chinese, who asked for it, and what it works on (`subject_table`, `subject_id`: a generic
reference such as ("campaigns", 12), for listings and for finding a subject's jobs).

A domain adds its kind by subclassing `Job` (joined-table inheritance, `kind` tells them apart):
its own columns go to a table keyed by `jobs.id` (rosters.models.ImportJob keeps the file and its
report; reviews.models.ReviewJob the union, batch, period and PDF); a kind without columns of its
own needs no table. The subclass names its steps in `stages`, a JobStage whose members know their
`label` and their generic `state`; setting `job.stage` moves the state and the start and finish
times with it. It also says how long its heartbeat may pause (`stalled_after`).

Stalled: an active (queued or running) job whose heartbeat has not moved for its kind's
`stalled_after` is taken for dead (a thread dies with its process, a worker can be killed). Pages
show it alike (templates/_jobs.html) and offer to start it again: `start_again` restarts a failed
or stalled job for whoever the domain allows, counts the attempt and writes it to the audit log.
"""
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.hybrid import hybrid_property

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.errors import Refused
from evalapp.core.jobs import current_runner, runner_alive
from evalapp.core.timeutil import utcnow


class JobState(LabelledEnum):
    queued = "queued", "排队中"
    running = "running", "进行中"
    waiting = "waiting", "等待确认"
    done = "done", "已完成"
    failed = "failed", "失败"
    cancelled = "cancelled", "已取消"

    @property
    def active(self):
        """Queued or running: something owes the job a heartbeat."""
        return self in (JobState.queued, JobState.running)

    @property
    def finished(self):
        return self in (JobState.done, JobState.failed, JobState.cancelled)


class JobStage(LabelledEnum):
    """A kind's steps, each declared with its value, label and the generic state it counts as::

        previewing = "previewing", "正在检查", JobState.running
    """

    def __new__(cls, value, label, state):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label, member.state = label, state
        return member


FINISHED = tuple(state for state in JobState if state.finished)


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (db.Index("ix_jobs_kind_state", "kind", "state"),
                      db.Index("ix_jobs_subject_table_subject_id", "subject_table", "subject_id"))

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(32), nullable=False)
    state = db.Column(db.Enum(JobState, native_enum=False, length=16), nullable=False, default=JobState.queued)
    #: The domain's step (a value of the kind's `stages`); None for kinds without steps.
    _stage = db.Column("stage", db.String(16), nullable=True)
    subject_table = db.Column(db.String(32), nullable=True)
    subject_id = db.Column(db.Integer, nullable=True)
    #: Who asked for the job; None when started from the command line or by the clock.
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime, nullable=True)
    #: Heartbeat: moved by every write to the row, so a job whose worker died shows as stalled.
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    finished_at = db.Column(db.DateTime, nullable=True)
    total = db.Column(db.Integer, nullable=True)
    processed = db.Column(db.Integer, nullable=False, default=0)
    #: How many times the job was started: 1, and one more for each start again.
    attempts = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    #: For the user, in Chinese: why it failed, or what it wants to say.
    message = db.Column(db.String(500), nullable=True)
    #: The process running it ("rq:<worker>" or "pid:<host>:<pid>"): when that is gone, the job is stalled
    #: at once, not only after `stalled_after` without a heartbeat.
    runner = db.Column(db.String(120), nullable=True)

    created_by = db.relationship("Account", foreign_keys=[created_by_id])

    __mapper_args__ = {"polymorphic_on": kind}

    #: The kind's steps (a JobStage); None when the generic state says it all.
    stages = None
    #: How long a queued or running job may go without a heartbeat before it counts as dead.
    stalled_after = timedelta(minutes=15)

    def __repr__(self):
        return f"<{type(self).__name__} {self.id} {self.state} {self._stage}>"

    @hybrid_property
    def stage(self):
        return self.stages(self._stage) if self.stages and self._stage else None

    @stage.inplace.setter
    def _stage_setter(self, stage):
        self._stage, self.state = stage.value, stage.state
        if stage.state == JobState.running:
            # Outside a job's execution this clears a runner an earlier step left (the next step may
            # run elsewhere); the runner names itself with its first heartbeat.
            self.runner = current_runner()
        if stage.state == JobState.running and self.started_at is None:
            self.started_at = utcnow()
        self.finished_at = utcnow() if stage.state.finished else None

    @stage.inplace.expression
    @classmethod
    def _stage_expression(cls):
        return cls._stage

    @property
    def subject(self):
        return self.subject_table, self.subject_id

    @subject.setter
    def subject(self, thing):
        self.subject_table, self.subject_id = thing.__tablename__, thing.id

    @property
    def label(self):
        """What the job is doing, for a badge: the step's name, or the state's."""
        return self.stage.label if self.stage is not None else self.state.label

    @property
    def progress(self):
        """The share done, 0…1 (None while the total is unknown)."""
        if not self.total:
            return None
        return min(self.processed / self.total, 1.0)

    def is_stalled(self, now=None):
        """Queued or running without a heartbeat for `stalled_after`, or running in a process that is gone."""
        if not self.state.active:
            return False
        if self.updated_at < (now or utcnow()) - self.stalled_after:
            return True
        return self.state == JobState.running and self.runner is not None and not runner_alive(self.runner)

    @property
    def stalled(self):
        return self.is_stalled()

    @property
    def may_start_again(self):
        return self.state == JobState.failed or self.stalled


def stage_values(stage, now=None):
    """The `jobs` columns that entering `stage` writes, for an UPDATE statement."""
    now = now or utcnow()
    values = {"stage": stage.value, "state": stage.state, "finished_at": now if stage.state.finished else None}
    if stage.state == JobState.running:
        values["started_at"] = func.coalesce(Job.__table__.c.started_at, now)
        values["runner"] = current_runner()
    return values


def heartbeat(job_id, stage=None, **values):
    """Write a job's progress (`processed`, `total`, `message`, a new `stage`) on a connection of its own.

    Any process's page sees it at once, and the job's own transaction (still open, perhaps for
    minutes) neither waits for it nor, on SQLite, has its snapshot invalidated by it.
    """
    if stage is not None:
        values |= stage_values(stage)
    if runner := current_runner():  # a job that a request moved to running names its runner here
        values["runner"] = runner
    with db.engine.begin() as connection:
        connection.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(updated_at=utcnow(), **values))


def move(job, from_stage, to_stage, **values):
    """Move `job` from `from_stage` to `to_stage` unless another request moved it first; return whether it did."""
    moved = db.session.execute(
        update(Job.__table__).where(Job.__table__.c.id == job.id, Job.__table__.c.stage == from_stage.value)
        .values(**stage_values(to_stage), **values)).rowcount
    db.session.refresh(job)
    return moved == 1


def start_again(job, actor, stage):
    """Start a failed or stalled `job` again at `stage`, as `actor` (whom the domain allows).

    Counts the attempt, which also makes two clicks start it once, and records it in the audit log.
    The caller commits, then runs the job.
    """
    if not job.may_start_again:
        raise Refused("只有失败或长时间没有进展的任务才能重新开始。")
    was, attempt = job.label, job.attempts
    claimed = db.session.execute(update(Job.__table__).where(Job.__table__.c.id == job.id,
                                                             Job.__table__.c.attempts == attempt)
                                 .values(attempts=attempt + 1)).rowcount
    if claimed != 1:
        raise Refused("该任务已经重新开始。")
    job.attempts = attempt + 1
    job.started_at, job.processed, job.total, job.message = None, 0, None, None
    job.stage = stage
    audit.record("job.retried", job, actor=actor, kind=job.kind, attempt=job.attempts, was=was)
    return job


def _about(subject):
    return (Job.subject_table == subject.__tablename__) & (Job.subject_id == subject.id)


def latest_job(subject, kind=None):
    """The newest job about `subject` (of `kind`, if given), or None."""
    query = select(Job).where(_about(subject)).order_by(Job.id.desc()).limit(1)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return db.session.scalars(query).first()


def under_way(subject):
    """Whether a job about `subject` is queued or running, and not stalled."""
    active = db.session.scalars(select(Job).where(_about(subject), Job.state.in_((JobState.queued, JobState.running))))
    return any(not job.stalled for job in active)


def counts_by_kind_and_state():
    """{(kind, state): how many jobs}, over the whole table."""
    rows = db.session.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))
    return {(kind, state): count for kind, state, count in rows}


def recent_jobs(kind=None, state=None, limit=20):
    """The latest jobs, newest first, of one kind and state if given."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if state is not None:
        query = query.where(Job.state == state)
    return db.session.scalars(query).all()
