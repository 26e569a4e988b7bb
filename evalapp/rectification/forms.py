from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from evalapp.core.forms import Form


class PlanForm(Form):
    plan = TextAreaField("整改方案（措施、责任人、完成时限）",
                         validators=[DataRequired("请填写整改方案。"), Length(max=10_000)])


class OutcomeForm(Form):
    outcome = TextAreaField("整改结果", validators=[DataRequired("请填写整改结果。"), Length(max=10_000)])
