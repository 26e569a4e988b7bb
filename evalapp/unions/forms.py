from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional


class MemberForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=100)])
    phone = StringField("手机号", validators=[Optional(), Length(max=20)])
    id_number = StringField("身份证号码", validators=[Optional(), Length(max=18)])
    create_account = BooleanField("同时开通登录账号（登录名为手机号，初始密码须由本人修改）", default=True)
    initial_password = StringField("初始密码", validators=[Optional(), Length(max=100)])
