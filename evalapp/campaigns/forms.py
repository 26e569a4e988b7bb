from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from evalapp.campaigns.models import BATCH_SUBJECT_KINDS, BatchRule, ElectorateScope, SubjectKind
from evalapp.core.forms import Form, OneLine, ReasonableDate, choices
from evalapp.core.web import bounded_int
from evalapp.unions.models import UnionKind, UnionSector


class CampaignForm(Form):
    title = StringField("活动名称", validators=[DataRequired("请输入活动名称。"), Length(max=200), OneLine()])
    subject_kind = SelectField("评议类型", choices=choices((k.value, k.label) for k in SubjectKind))
    subject_name = StringField("评议对象（评议主席时可不填；评议单位或部门时填写其名称）",
                               validators=[Optional(), Length(max=200), OneLine()])
    electorate_scope = SelectField("参评范围", choices=choices((s.value, s.label) for s in ElectorateScope))
    template_id = SelectField("测评表", coerce=int)
    opens_at = DateTimeLocalField("计划开始时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])
    closes_at = DateTimeLocalField("投票截止时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])


def _default_pattern():
    from evalapp.core.timeutil import local_today

    return f"{local_today().year}年度{{工会}}主席述职评议"


class BatchForm(Form):
    """Batch creation: the rule and its parameters, then the campaigns' template, titles and schedule.

    The same form is posted to preview (`preview`) and to confirm (`confirm`, with the preview's
    `token` and `selection` fingerprint).
    """

    title = StringField("批次名称", validators=[DataRequired("请输入批次名称。"), Length(max=200), OneLine()])
    rule = RadioField("选择工会的方式", choices=choices((r.value, r.label) for r in BatchRule),
                      default=BatchRule.kind.value)
    kind = SelectField("工会类型（按类型选择时）", choices=choices((k.value, k.label) for k in UnionKind),
                       default=UnionKind.grassroots.value)
    sector = SelectField("所属类型（按所属类型选择时）", choices=choices((s.value, s.label) for s in UnionSector),
                         default=UnionSector.non_public_enterprise.value)
    min_members = IntegerField("在册会员不少于（人，按所属类型选择时）", default=100,
                               validators=[Optional(), NumberRange(0, 1_000_000, "人数须在 0 到 1000000 之间。")])
    union_ids = SelectMultipleField("直属下级工会（手工选择时）", coerce=bounded_int, validate_choice=False,
                                    widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    subject_kind = SelectField("评议类型", choices=choices((k.value, k.label) for k in BATCH_SUBJECT_KINDS))
    electorate_scope = SelectField("参评范围", choices=choices((s.value, s.label) for s in ElectorateScope))
    template_id = SelectField("测评表", coerce=int)
    title_pattern = StringField("活动名称格式", default=_default_pattern,
                                validators=[DataRequired("请输入活动名称格式。"), Length(max=100), OneLine()])
    opens_at = DateTimeLocalField("计划开始时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])
    closes_at = DateTimeLocalField("投票截止时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional(), ReasonableDate()])
    token = HiddenField()
    selection = HiddenField()

