"""Forms of the roster import pages."""
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from evalapp.core.forms import Form


class UploadForm(Form):
    roster = FileField("花名册文件（CSV 或 Excel .xlsx）", validators=[FileRequired("请选择要导入的文件。")])


class ApplyForm(Form):
    skip_errors = BooleanField("跳过有错误的行，只导入其余各行")


class RetryForm(Form):
    """Starting a failed or stalled import again; a failed one has lost its file and needs it again."""

    roster = FileField("花名册文件（CSV 或 Excel .xlsx）")


class TreeUploadForm(Form):
    tree = FileField("工会组织架构表（CSV 或 Excel .xlsx）", validators=[FileRequired("请选择要导入的文件。")])


class TreeApplyForm(Form):
    dissolve_missing = BooleanField("同时把文件中没有列出的下级工会标记为“已撤销”（不会删除，评议记录保留）")
