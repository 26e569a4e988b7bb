"""The channels form, and the administrator's retry button."""
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from evalapp.core.forms import Form


class ChannelsForm(Form):
    email = StringField("接收通知的邮箱（选填，留空则不发邮件）",
                        validators=[Length(max=254, message="邮箱地址不能超过 254 个字符。")])
    sms = BooleanField("同时用短信通知我")
    phone = StringField("接收短信的手机号（选填，留空则用花名册中的手机号）",
                        validators=[Length(max=20, message="手机号不能超过 20 个字符。")])
