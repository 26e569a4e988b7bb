"""The chair's duty report: sanitised rich text, its files, and the versions it went through."""
from markupsafe import Markup

from evalapp.core.db import db
from evalapp.core.enums import LabelledEnum
from evalapp.core.timeutil import utcnow

#: Longest side of the light image variant shown in the report page (made by core.uploads).
SMALL_SIDE = 640


class FileKind(LabelledEnum):
    image = "image", "图片"
    video = "video", "视频"
    attachment = "attachment", "附件"


class DutyReport(db.Model):
    __tablename__ = "duty_reports"

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, unique=True)
    #: Sanitised HTML (see duty_reports.richtext); sanitised again when shown.
    body = db.Column(db.Text, nullable=False, default="")
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    #: How many times the text was saved; the earlier states are kept in `versions`.
    version = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    campaign = db.relationship("Campaign", back_populates="report")
    updated_by = db.relationship("Account")
    files = db.relationship("ReportFile", back_populates="report", order_by="ReportFile.id")
    versions = db.relationship("ReportVersion", back_populates="report", order_by="ReportVersion.number.desc()")

    @property
    def html(self):
        from evalapp.duty_reports.richtext import sanitise

        # nh3 has let through only the report's safe tags.
        return Markup(sanitise(self.body))  # nosec B704

    @property
    def current_files(self):
        return [f for f in self.files if f.removed_at is None]

    @property
    def removed_files(self):
        """Files the chair removed after members or an earlier version could see them, newest removal first."""
        return sorted((f for f in self.files if f.removed_at is not None), key=lambda f: f.removed_at, reverse=True)

    def current(self, kind):
        return [f for f in self.current_files if f.kind == kind]

    @property
    def images(self):
        return self.current(FileKind.image)

    @property
    def video(self):
        videos = self.current(FileKind.video)
        return videos[0] if videos else None

    @property
    def attachments(self):
        return self.current(FileKind.attachment)

    def can_read_versions(self, account):
        """The earlier versions and removed files: the chair and the officers running the campaign."""
        return self.campaign.has_report and self.campaign.can_see_internals(account)


version_files = db.Table(
    "duty_report_version_files",
    db.Column("version_id", db.Integer, db.ForeignKey("duty_report_versions.id"), primary_key=True),
    # Indexed on its own: removing a file asks whether any version shows it.
    db.Column("file_id", db.Integer, db.ForeignKey("duty_report_files.id"), primary_key=True, index=True),
)


class ReportFile(db.Model):
    """An image, the video or an attachment of a report; the bytes are in core.storage under `key`."""

    __tablename__ = "duty_report_files"

    id = db.Column(db.Integer, primary_key=True)
    report_id = db.Column(db.Integer, db.ForeignKey("duty_reports.id"), nullable=False, index=True)
    kind = db.Column(db.Enum(FileKind, native_enum=False, length=16), nullable=False)
    #: Storage key of the file as served (for images: the re-encoded large version).
    key = db.Column(db.String(32), nullable=False, unique=True)
    #: Storage key of the phone-width variant of an image.
    small_key = db.Column(db.String(32), nullable=True, unique=True)
    #: Decided by the server from the content, never taken from the upload.
    mimetype = db.Column(db.String(100), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    width = db.Column(db.Integer, nullable=True)
    height = db.Column(db.Integer, nullable=True)
    #: The uploader's file name, cleaned; only used as the download name of attachments.
    original_name = db.Column(db.String(200), nullable=False, default="")
    caption = db.Column(db.String(200), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    #: Set when the chair removed a file that an earlier version shows; its bytes are kept for that version.
    removed_at = db.Column(db.DateTime, nullable=True)
    removed_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)

    report = db.relationship("DutyReport", back_populates="files")
    removed_by = db.relationship("Account", foreign_keys=[removed_by_id])

    @property
    def download_name(self):
        return self.original_name or f"附件{self.id}"

    @property
    def small_size(self):
        """Width and height of the phone-width variant (for the img tag, so the page does not jump)."""
        if not self.width or not self.height:
            return None, None
        scale = min(1, SMALL_SIDE / max(self.width, self.height))
        return round(self.width * scale), round(self.height * scale)

    def can_read(self, account):
        """A current file: whoever sees the campaign. A removed one is kept only for the versions that
        showed it, and only their readers see it."""
        if self.removed_at is not None:
            return self.report.can_read_versions(account)
        return self.report.campaign.has_report and self.report.campaign.can_view(account)

    @property
    def size_label(self):
        if self.size >= 1024 * 1024:
            return f"{self.size / (1024 * 1024):.1f} MB"
        return f"{max(1, round(self.size / 1024))} KB"


class ReportVersion(db.Model):
    """The report as it stood before a save replaced it: the text and the files it had then."""

    __tablename__ = "duty_report_versions"
    __table_args__ = (db.UniqueConstraint("report_id", "number"),)

    id = db.Column(db.Integer, primary_key=True)
    report_id = db.Column(db.Integer, db.ForeignKey("duty_reports.id"), nullable=False)
    number = db.Column(db.Integer, nullable=False)
    body = db.Column(db.Text, nullable=False)
    saved_at = db.Column(db.DateTime, nullable=False)
    saved_by_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=True)
    #: When the next save replaced it.
    replaced_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    report = db.relationship("DutyReport", back_populates="versions")
    files = db.relationship("ReportFile", secondary=version_files, order_by="ReportFile.id")
    saved_by = db.relationship("Account")

    @property
    def html(self):
        from evalapp.duty_reports.richtext import sanitise

        # nh3 has let through only the report's safe tags.
        return Markup(sanitise(self.body))  # nosec B704

    def of_kind(self, kind):
        return [f for f in self.files if f.kind == kind]
