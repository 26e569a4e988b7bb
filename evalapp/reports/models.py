"""Report jobs: PDFs too long to render inside a request (the batch review of a superior union)."""
import enum

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow


class ReportJobState(enum.StrEnum):
    queued = "queued"
    collecting = "collecting"
    rendering = "rendering"
    done = "done"
    failed = "failed"

    @property
    def label(self):
        return {"queued": "排队中", "collecting": "正在汇总", "rendering": "正在生成 PDF", "done": "已完成",
                "failed": "失败"}[self.value]

    @property
    def running(self):
        return self in (ReportJobState.queued, ReportJobState.collecting, ReportJobState.rendering)


class ReviewJob(db.Model):
    """One batch review PDF: every published campaign under a union in a period (or of one batch)."""

    __tablename__ = "review_jobs"

    id = db.Column(db.Integer, primary_key=True)
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    #: Only the campaigns of this batch; None for every campaign in the subtree.
    batch_id = db.Column(db.Integer, db.ForeignKey("campaign_batches.id"), nullable=True)
    #: Publication dates (Asia/Shanghai calendar days), both included.
    period_start = db.Column(db.Date, nullable=False)
    period_end = db.Column(db.Date, nullable=False)
    requested_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: Heartbeat: moves with every state change, so a job whose worker died shows as stalled.
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime, nullable=True)
    state = db.Column(db.Enum(ReportJobState, native_enum=False, length=16), nullable=False,
                      default=ReportJobState.queued)
    #: Campaigns found, and how many of them have been gathered into the report so far.
    total = db.Column(db.Integer, nullable=True)
    processed = db.Column(db.Integer, nullable=False, default=0)
    #: Storage key of the finished PDF.
    file_key = db.Column(db.String(32), nullable=True)
    file_size = db.Column(db.Integer, nullable=True)
    #: Why it failed, in Chinese.
    message = db.Column(db.String(500), nullable=True)

    union = db.relationship("Union")
    batch = db.relationship("CampaignBatch")
    requested_by = db.relationship("Account")
