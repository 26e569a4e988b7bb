from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from evalapp.core.forms import Finite, Form, choices
from evalapp.questionnaires.models import DIMENSIONS, ItemKind

SCORE_LINE = [InputRequired("请填写。"), Finite(), NumberRange(0, 100, "须在 0 到 100 之间。")]
SHARE = [InputRequired("请填写。"), Finite(), NumberRange(0.01, 1, "须在 0.01 到 1 之间。")]


class QuestionnaireForm(Form):
    owner_union_id = SelectField("所属工会", coerce=int)
    title = StringField("测评表名称", validators=[DataRequired("请输入名称。"), Length(max=200)])
    description = TextAreaField("说明", validators=[Optional(), Length(max=2000)])
    quorum_ratio = StringField("法定参评比例（如 2/3、0.8 或 80%）", default="2/3",
                               validators=[DataRequired("请填写。"), Length(max=16)])
    grade_excellent = DecimalField("“优秀”最低分", default=90, validators=SCORE_LINE)
    grade_good = DecimalField("“良好”最低分", default=80, validators=SCORE_LINE)
    grade_pass = DecimalField("“合格”最低分", default=60, validators=SCORE_LINE)
    rectify_below_rate = DecimalField("满意率低于此值的题目须整改（0–1）", default=0.8, places=2,
                                      validators=SHARE)


class ItemForm(Form):
    prompt = StringField("题目", validators=[DataRequired("请输入题目内容。"), Length(max=500)])
    kind = SelectField("题型", choices=choices((k.value, k.label) for k in ItemKind))
    dimension = SelectField("维度", choices=choices([("", "（无）")] + [(d, d) for d in DIMENSIONS]))
    weight = DecimalField("权重", default=1, validators=[InputRequired("请填写权重。"), Finite(),
                                                        NumberRange(0.01, 100, "权重须在 0.01 到 100 之间。")])
