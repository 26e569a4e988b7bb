"""Members' suggestions, chairs' responses, and officers' moderation."""
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from evalapp.core.forms import Form

TOO_LONG = Length(max=2000, message="不能超过 2000 字。")


class SuggestionForm(Form):
    body = TextAreaField("意见建议", validators=[DataRequired("请填写意见建议。"), TOO_LONG])
    named = BooleanField("署名提交（默认匿名，主席看不到您的姓名）")


class ResponseForm(Form):
    response = TextAreaField("回应", validators=[DataRequired("请填写回应内容。"), TOO_LONG])


class HideForm(Form):
    reason = StringField("隐藏理由（提出人和上级工会可以看到）",
                         validators=[DataRequired("请填写隐藏理由。"), Length(max=500, message="隐藏理由不能超过 500 字。")])


class FlagForm(Form):
    problem = TextAreaField("整改问题（向参评会员公开，请勿写入提出人的信息）",
                            validators=[DataRequired("请填写整改问题。"), Length(max=10_000, message="不能超过 10000 字。")])
