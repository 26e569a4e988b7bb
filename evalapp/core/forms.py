"""Small helpers shared by the domain forms."""
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from evalapp.core.text import CONTROL_MESSAGE, has_control


class Form(FlaskForm):
    """Base of every form: WTForms' own messages ("Not a valid choice", …) in Chinese."""

    class Meta:
        locales = ("zh_CN", "zh")


class ActionForm(Form):
    """An empty form: the CSRF token behind a button that changes state."""


class Finite:
    """Refuse NaN and infinities before range checks see them (they would raise, not refuse)."""

    def __call__(self, form, field):
        if field.data is not None and not field.data.is_finite():
            raise StopValidation("请输入有效的数字。")


class OneLine:
    """Refuse names and titles holding line breaks, tabs or other control characters."""

    def __call__(self, form, field):
        if isinstance(field.data, str) and has_control(field.data):
            raise StopValidation(CONTROL_MESSAGE)


class ReasonableDate:
    """Refuse dates outside 2000–2099, which are typing mistakes and overflow time-zone arithmetic."""

    def __call__(self, form, field):
        if field.data is not None and not 2000 <= field.data.year <= 2099:
            raise StopValidation("请输入 2000 年到 2099 年之间的日期。")


def choices(pairs):
    """Return WTForms select/radio choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
