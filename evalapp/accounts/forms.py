from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from evalapp.core.forms import Form


class PasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。"), Length(max=200)])
    new = PasswordField("新密码（至少 8 位）", validators=[DataRequired("请输入新密码。"), Length(max=200)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码。"),
                                                       EqualTo("new", "两次输入的新密码不一致。")])


class ActivateForm(Form):
    phone = StringField("手机号", validators=[DataRequired("请输入手机号。"), Length(max=20)])
    code = StringField("激活码（见工会发放的激活单）", validators=[DataRequired("请输入激活码。"), Length(max=20)])
    second_code = StringField("确认码（仅在评议期间需要：由上级工会工作人员电话告知）", validators=[Optional(), Length(max=20)])
    password = PasswordField("设置密码（至少 8 位）", validators=[DataRequired("请设置密码。"), Length(max=200)])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码。"),
                                                     EqualTo("password", "两次输入的密码不一致。")])


class LoginForm(Form):
    username = StringField("手机号或登录名", validators=[DataRequired("请输入手机号或登录名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])
    remember = BooleanField("在本设备上保持登录")
