from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from evalapp.core.forms import Form, choices


def ballot_form(questionnaire, formdata=None):
    """Return a form with one required radio group per item of the frozen questionnaire."""

    class BallotForm(Form):
        pass

    for item in questionnaire.items:
        setattr(BallotForm, field_name(item), RadioField(
            item.prompt, choices=choices((option.id, option.label) for option in item.options), coerce=int,
            validators=[InputRequired("请选择一项。")]))
    return BallotForm() if formdata is None else BallotForm(formdata=formdata)


def field_name(item):
    return f"item_{item.id}"


class ReceiptForm(Form):
    code = StringField("回执码", validators=[DataRequired("请输入回执码。"), Length(max=64)])
