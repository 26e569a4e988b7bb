from wtforms import DateField
from wtforms.validators import InputRequired

from evalapp.core.forms import Form, ReasonableDate


class ReviewForm(Form):
    period_start = DateField("公布日期自", validators=[InputRequired("请填写开始日期。"), ReasonableDate()])
    period_end = DateField("至", validators=[InputRequired("请填写结束日期。"), ReasonableDate()])
