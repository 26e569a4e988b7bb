from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


class PlanForm(FlaskForm):
    plan = TextAreaField("整改方案（措施、责任人、完成时限）",
                         validators=[DataRequired("请填写整改方案。"), Length(max=10_000)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField("整改结果", validators=[DataRequired("请填写整改结果。"), Length(max=10_000)])
