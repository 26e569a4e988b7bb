from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from evalapp.accounts.models import Role
from evalapp.core.forms import Form, OneLine, choices
from evalapp.unions.models import UnionSector

SECTOR_CHOICES = choices((sector.value, sector.label) for sector in UnionSector)


class ChildUnionForm(Form):
    name = StringField("工会名称", validators=[DataRequired("请输入工会名称。"), Length(max=200), OneLine()])
    kind = SelectField("类型")
    sector = SelectField("所属类型", choices=SECTOR_CHOICES, default=UnionSector.other.value)


class SectorForm(Form):
    sector = SelectField("所属类型", choices=SECTOR_CHOICES)


class CodeForm(Form):
    code = StringField("工会代码（统一社会信用代码或上级工会编定的代码，留空则清除）", validators=[Length(max=64)])


class AppointForm(Form):
    role = SelectField("职务", choices=choices((role.value, role.label) for role in Role))
    username = StringField("账号登录名（会员为手机号）", validators=[DataRequired("请输入登录名。"), Length(max=64)])


class MemberForm(Form):
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=100), OneLine()])
    phone = StringField("手机号", validators=[Optional(), Length(max=20)])
    id_number = StringField("身份证号码", validators=[Optional(), Length(max=18)])
    create_account = BooleanField("同时开通登录账号（登录名为手机号）", default=True)
    initial_password = StringField("初始密码", validators=[Optional(), Length(max=100)])


class ActivateForm(Form):
    phone = StringField("手机号", validators=[DataRequired("请输入手机号。"), Length(max=20)])
    code = StringField("激活码（见工会发放的激活单）", validators=[DataRequired("请输入激活码。"), Length(max=20)])
    second_code = StringField("确认码（仅在评议期间需要：由上级工会工作人员电话告知）", validators=[Optional(), Length(max=20)])
    password = PasswordField("设置密码（至少 8 位）", validators=[DataRequired("请设置密码。"), Length(max=200)])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码。"),
                                                     EqualTo("password", "两次输入的密码不一致。")])


class TopUnionForm(Form):
    name = StringField("市总工会名称", validators=[DataRequired("请输入名称。"), Length(max=200), OneLine()])
    code = StringField("工会代码（选填：统一社会信用代码或本会编码）", validators=[Length(max=64)])
