"""Forms of the duty report pages. Content limits are the operations' business; these only parse."""
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from evalapp.core.forms import Form
from evalapp.duty_reports.operations import MAX_CAPTION, MAX_REPORT_HTML


class ReportForm(Form):
    body = TextAreaField("述职报告正文", validators=[DataRequired("述职报告不能为空。"), Length(max=MAX_REPORT_HTML)])


class ImagesForm(Form):
    images = MultipleFileField("图片（JPEG、PNG、WebP 或 GIF，可多选）")
    caption = StringField("图片说明（可不填）", validators=[Optional(), Length(max=MAX_CAPTION)])


class CaptionForm(Form):
    caption = StringField("图片说明", validators=[Optional(), Length(max=MAX_CAPTION)])


class VideoForm(Form):
    video = FileField("视频（MP4 或 WebM）", validators=[FileRequired("请选择要上传的视频。")])


class AttachmentForm(Form):
    attachment = FileField("附件（PDF 或 Word .docx）", validators=[FileRequired("请选择要上传的附件。")])
