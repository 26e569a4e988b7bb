"""The inbox settings form."""
from wtforms import StringField
from wtforms.validators import Length

from evalapp.core.forms import Form


class EmailForm(Form):
    email = StringField("接收通知的邮箱（选填，留空则只在站内“消息”中通知）",
                        validators=[Length(max=254, message="邮箱地址不能超过 254 个字符。")])
