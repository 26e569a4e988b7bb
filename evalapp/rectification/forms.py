"""Rectification items: the chair's plan, progress and outcome; the superior union's review and deadlines."""
from flask_wtf.file import MultipleFileField
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from evalapp.core.forms import Form, ReasonableDate


class PlanForm(Form):
    measures = TextAreaField("整改措施", validators=[DataRequired("请填写整改措施。"),
                                                 Length(max=10_000, message="整改措施不能超过 10000 字。")])
    responsible = StringField("责任人", validators=[DataRequired("请填写责任人。"),
                                                 Length(max=100, message="责任人不能超过 100 字。")])
    target_date = DateField("完成时限", validators=[InputRequired("请填写完成时限。"), ReasonableDate()])


class CommentForm(Form):
    comment = TextAreaField("退回意见（工会主席可以看到）", validators=[
        DataRequired("请填写退回意见。"), Length(max=2000, message="退回意见不能超过 2000 字。")])


class ProgressForm(Form):
    text = TextAreaField("整改进展", validators=[DataRequired("请填写整改进展。"),
                                             Length(max=10_000, message="整改进展不能超过 10000 字。")])
    files = MultipleFileField("证明材料（选填：图片或 PDF、Word 文件，最多 5 个，每个不超过 10 MB）")


class OutcomeForm(Form):
    outcome = TextAreaField("整改结果", validators=[DataRequired("请填写整改结果。"),
                                                Length(max=10_000, message="整改结果不能超过 10000 字。")])


class DeadlineForm(Form):
    new_date = DateField("新的期限", validators=[InputRequired("请填写新的期限。"), ReasonableDate()])
    reason = TextAreaField("调整理由（记入审计日志）", validators=[
        DataRequired("请填写调整理由。"), Length(max=2000, message="调整理由不能超过 2000 字。")])
