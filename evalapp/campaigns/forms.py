from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from evalapp.campaigns.models import ElectorateScope, SubjectKind
from evalapp.core.forms import Form, ReasonableDate, choices


class CampaignForm(Form):
    title = StringField("活动名称", validators=[DataRequired("请输入活动名称。"), Length(max=200)])
    subject_kind = SelectField("评议类型", choices=choices((k.value, k.label) for k in SubjectKind))
    subject_name = StringField("评议对象（可不填，默认为本工会主席）", validators=[Optional(), Length(max=200)])
    electorate_scope = SelectField("参评范围", choices=choices((s.value, s.label) for s in ElectorateScope))
    template_id = SelectField("测评表", coerce=int)
    opens_at = DateTimeLocalField("计划开始时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])
    closes_at = DateTimeLocalField("投票截止时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])


class ReportForm(Form):
    body = TextAreaField("述职报告正文", validators=[DataRequired("述职报告不能为空。"), Length(max=50_000)])
