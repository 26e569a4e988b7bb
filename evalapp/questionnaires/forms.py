from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from evalapp.core.forms import Finite, Form, OneLine, choices
from evalapp.questionnaires.models import DIMENSIONS, MAX_SCALE_POINTS, MIN_SCALE_POINTS, ItemKind

SCORE_LINE = [InputRequired("请填写。"), Finite(), NumberRange(0, 100, "须在 0 到 100 之间。")]
SHARE = [InputRequired("请填写。"), Finite(), NumberRange(0.01, 1, "须在 0.01 到 1 之间。")]
#: Option rows on the item form; empty rows are ignored.
OPTION_ROWS = 8


class RulesForm(Form):
    title = StringField("测评表名称", validators=[DataRequired("请输入名称。"), Length(max=200), OneLine()])
    description = TextAreaField("说明", validators=[Optional(), Length(max=2000)])
    quorum_ratio = StringField("法定参评比例（如 2/3、0.8 或 80%）", default="2/3",
                               validators=[DataRequired("请填写。"), Length(max=16)])
    grade_excellent = DecimalField("“优秀”最低分", default=90, validators=SCORE_LINE)
    grade_good = DecimalField("“良好”最低分", default=80, validators=SCORE_LINE)
    grade_pass = DecimalField("“合格”最低分", default=60, validators=SCORE_LINE)
    rectify_below_rate = DecimalField("满意率低于此值的题目须整改（0–1）", default=0.8, places=2,
                                      validators=SHARE)


class QuestionnaireForm(RulesForm):
    owner_union_id = SelectField("所属工会", coerce=int)


class OptionRowForm(Form):
    class Meta:
        csrf = False  # a row inside the item form, which carries the token

    text = StringField("选项", validators=[Optional(), Length(max=100), OneLine()])
    score = StringField("分值", validators=[Optional(), Length(max=12)])
    satisfied = BooleanField("计为满意")


class ItemForm(Form):
    prompt = StringField("题目", validators=[DataRequired("请输入题目内容。"), Length(max=500), OneLine()])
    kind = SelectField("题型", choices=choices((k.value, k.label) for k in ItemKind))
    dimension = SelectField("维度", choices=choices([("", "（无）")] + [(d, d) for d in DIMENSIONS]))
    weight = DecimalField("权重", default=1, validators=[InputRequired("请填写权重。"), Finite(),
                                                        NumberRange(0.01, 100, "权重须在 0.01 到 100 之间。")])
    required = BooleanField("必答", default=True)
    points = IntegerField("量表分制（量表题）", default=5, validators=[
        Optional(), NumberRange(MIN_SCALE_POINTS, MAX_SCALE_POINTS, f"须在 {MIN_SCALE_POINTS} 到 {MAX_SCALE_POINTS} 之间。")])
    max_choices = IntegerField("最多可选几项（多选题，可不填）",
                               validators=[Optional(), NumberRange(1, 20, "须在 1 到 20 之间。")])
    options = FieldList(FormField(OptionRowForm), min_entries=OPTION_ROWS, max_entries=20)

    def option_rows(self):
        """Return the filled option rows as (label, score or None, counts as satisfied)."""
        return [(row.text.data, (row.score.data or "").strip() or None, row.satisfied.data)
                for row in self.options if (row.text.data or "").strip()]

    def item_details(self, keep_options=True):
        """Keyword arguments for add_item/update_item; without `keep_options` standard kinds get default options."""
        kind = ItemKind(self.kind.data)
        options = self.option_rows()
        if not keep_options and kind.always_scored:
            options = None
        return {"required": self.required.data, "points": self.points.data or 5, "options": options or None,
                "max_choices": self.max_choices.data}
