"""Report jobs: PDFs too long to render inside a request (the batch review of a superior union)."""
from datetime import timedelta

from evalapp.core.db import db
from evalapp.core.job_records import Job, JobStage, JobState


class ReviewStage(JobStage):
    queued = "queued", "排队中", JobState.queued
    collecting = "collecting", "正在汇总", JobState.running
    rendering = "rendering", "正在生成 PDF", JobState.running
    done = "done", "已完成", JobState.done
    failed = "failed", "失败", JobState.failed


class ReviewJob(Job):
    """One batch review PDF: every published campaign under a union in a period (or of one batch).

    `total` counts the campaigns found, `processed` those gathered into the report so far.
    """

    __tablename__ = "review_reports"
    __mapper_args__ = {"polymorphic_identity": "review_pdf"}
    stages = ReviewStage
    stalled_after = timedelta(minutes=15)

    id = db.Column(db.Integer, db.ForeignKey("jobs.id"), primary_key=True)
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    #: Only the campaigns of this batch; None for every campaign in the subtree.
    batch_id = db.Column(db.Integer, db.ForeignKey("campaign_batches.id"), nullable=True)
    #: Publication dates (Asia/Shanghai calendar days), both included.
    period_start = db.Column(db.Date, nullable=False)
    period_end = db.Column(db.Date, nullable=False)
    #: Storage key of the finished PDF.
    file_key = db.Column(db.String(32), nullable=True)
    file_size = db.Column(db.Integer, nullable=True)

    union = db.relationship("Union")
    batch = db.relationship("CampaignBatch")

    def can_view(self, account):
        """The requester and every officer managing the union (the report holds nothing they cannot see)."""
        return account.manages(self.union)

    def can_retry(self, account):
        """Whoever may ask for the same report: an officer managing the union (and the batch, if any)."""
        return account.manages(self.union) and (self.batch is None or self.batch.can_manage(account))
