"""Roster import jobs: one uploaded file, previewed, then applied to a union's subtree."""
import enum
import json

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow


class ImportState(enum.StrEnum):
    uploaded = "uploaded"
    previewing = "previewing"
    previewed = "previewed"
    applying = "applying"
    applied = "applied"
    failed = "failed"
    abandoned = "abandoned"

    @property
    def label(self):
        return {"uploaded": "已上传", "previewing": "正在检查", "previewed": "待确认", "applying": "正在导入",
                "applied": "已导入", "failed": "失败", "abandoned": "已放弃"}[self.value]

    @property
    def running(self):
        return self in (ImportState.uploaded, ImportState.previewing, ImportState.applying)

    @property
    def finished(self):
        return self in (ImportState.applied, ImportState.failed, ImportState.abandoned)


class ImportJob(db.Model):
    __tablename__ = "roster_import_jobs"

    id = db.Column(db.Integer, primary_key=True)
    #: The scope: this union and its subtree receive the file's members.
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    #: Who uploaded the file; None when started from the command line.
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    applied_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: Heartbeat: moves with every progress report, so a dead worker shows as stalled.
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime, nullable=True)
    state = db.Column(db.Enum(ImportState, native_enum=False, length=16), nullable=False, default=ImportState.uploaded)
    #: The name the officer's file had (shown only); the file itself is kept under `stored_name`.
    filename = db.Column(db.String(200), nullable=False, default="")
    #: Random name in the upload folder while the file is kept; None once it is deleted.
    stored_name = db.Column(db.String(64), nullable=True)
    file_format = db.Column(db.String(8), nullable=False, default="csv")
    #: Apply the good rows and leave out the rows with errors (the officer's explicit choice).
    skip_errors = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    total_rows = db.Column(db.Integer, nullable=True)
    processed_rows = db.Column(db.Integer, nullable=False, default=0)
    #: JSON: {"counts": {...}, "errors": [[row, column, message], ...] (the first ~1000)}.
    report = db.Column(db.Text, nullable=True)
    #: Why the job failed, in Chinese.
    message = db.Column(db.String(500), nullable=True)

    union = db.relationship("Union")
    created_by = db.relationship("Account", foreign_keys=[created_by_id])
    applied_by = db.relationship("Account", foreign_keys=[applied_by_id])

    def __repr__(self):
        return f"<ImportJob {self.id} {self.state}>"

    @property
    def report_data(self):
        return json.loads(self.report) if self.report else {}

    @property
    def counts(self):
        return self.report_data.get("counts", {})

    @property
    def progress(self):
        """Return the share of rows read, 0…1 (None while the total is unknown)."""
        if not self.total_rows:
            return None
        return min(self.processed_rows / self.total_rows, 1.0)
