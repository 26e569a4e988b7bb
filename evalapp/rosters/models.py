"""Roster import jobs: one uploaded file, previewed, then applied to a union's subtree."""
import json
from datetime import timedelta

from evalapp.core.db import db
from evalapp.core.job_records import Job, JobStage, JobState
from evalapp.rosters.parsing import check_upload, check_xlsx_container, detect_format
from evalapp.unions.models import UnionKind


class ImportStage(JobStage):
    uploaded = "uploaded", "已上传", JobState.queued
    previewing = "previewing", "正在检查", JobState.running
    previewed = "previewed", "待确认", JobState.waiting
    applying = "applying", "正在导入", JobState.running
    applied = "applied", "已导入", JobState.done
    failed = "failed", "失败", JobState.failed
    abandoned = "abandoned", "已放弃", JobState.cancelled


class ImportJob(Job):
    """A roster file for a union's subtree; `processed` and `total` count its rows."""

    __tablename__ = "roster_imports"
    __mapper_args__ = {"polymorphic_identity": "roster_import"}
    stages = ImportStage
    stalled_after = timedelta(minutes=10)

    id = db.Column(db.Integer, db.ForeignKey("jobs.id"), primary_key=True)
    #: The scope: this union and its subtree receive the file's members.
    union_id = db.Column(db.Integer, db.ForeignKey("unions.id"), nullable=False, index=True)
    applied_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    #: The name the officer's file had (shown only); the file itself is kept under `stored_name`.
    filename = db.Column(db.String(200), nullable=False, default="")
    #: Random name in the upload folder while the file is kept; None once it is deleted.
    stored_name = db.Column(db.String(64), nullable=True)
    file_format = db.Column(db.String(8), nullable=False, default="csv")
    #: Apply the good rows and leave out the rows with errors (the officer's explicit choice).
    skip_errors = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    #: JSON: {"counts": {...}, "errors": [[row, column, message], ...] (the first ~1000)}.
    report = db.Column(db.Text, nullable=True)
    #: A union tree import: also mark the scope's unions the file no longer lists as dissolved.
    dissolve_missing = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())

    union = db.relationship("Union")
    applied_by = db.relationship("Account", foreign_keys=[applied_by_id])

    def can_manage(self, account):
        """See, run and retry the import: officers who manage its scope union."""
        return account.manages(self.union)

    @staticmethod
    def check_file(path, union):
        """Return the file's format; refuse an unreadable file, or a CSV without the required columns.

        Only what a web request can afford: a spreadsheet's header is checked by the import job.
        """
        return check_upload(path, union_required=union.kind != UnionKind.grassroots)

    @property
    def report_data(self):
        return json.loads(self.report) if self.report else {}

    @property
    def counts(self):
        return self.report_data.get("counts", {})


class UnionTreeImport(ImportJob):
    """A file of unions (工会组织架构表) for the subtree below `union`: same steps, file and report
    as a roster import; `dissolve_missing` is the officer's confirmation, given with the apply."""

    __mapper_args__ = {"polymorphic_identity": "union_tree_import"}

    @staticmethod
    def check_file(path, union):
        """Return the file's format; a spreadsheet must at least be a sound zip. The header is the job's."""
        file_format = detect_format(path)
        if file_format == "xlsx":
            check_xlsx_container(path)
        return file_format
