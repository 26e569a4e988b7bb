from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from evalapp.core.forms import Form

TOO_LONG = Length(max=2000, message="不能超过 2000 字。")


class SuggestionForm(Form):
    body = TextAreaField("意见建议", validators=[DataRequired("请填写意见建议。"), TOO_LONG])
    named = BooleanField("署名提交（默认匿名，主席看不到您的姓名）")


class ResponseForm(Form):
    response = TextAreaField("回应", validators=[DataRequired("请填写回应内容。"), TOO_LONG])
