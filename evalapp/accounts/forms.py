from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from evalapp.core.forms import Form


class PasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。"), Length(max=200)])
    new = PasswordField("新密码（至少 8 位）", validators=[DataRequired("请输入新密码。"), Length(max=200)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码。"),
                                                       EqualTo("new", "两次输入的新密码不一致。")])


class LoginForm(Form):
    username = StringField("手机号或登录名", validators=[DataRequired("请输入手机号或登录名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])
    remember = BooleanField("在本设备上保持登录")
