from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from evalapp.core.forms import Form, choices
from evalapp.questionnaires.models import ItemKind

#: Longest free-text answer, in characters.
MAX_TEXT_ANSWER = 1000


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AtLeastOne:
    """A required multiple-choice item needs at least one ticked option."""

    def __call__(self, form, field):
        if not field.data:
            raise StopValidation("请至少选择一项。")


class AtMost:
    def __init__(self, most):
        self.most = most

    def __call__(self, form, field):
        if field.data and len(field.data) > self.most:
            raise StopValidation(f"最多选择 {self.most} 项。")


def ballot_form(questionnaire, formdata=None):
    """Return a form with one field per item of the frozen questionnaire, as its kind asks."""
    form_class = _ballot_form_class(questionnaire)
    return form_class() if formdata is None else form_class(formdata=formdata)


#: Form classes by questionnaire content: building one per ballot would cost every voter the class.
_form_classes = {}
_MAX_FORM_CLASSES = 256


def _ballot_form_class(questionnaire):
    # Keyed by what the fields are made of, not by id alone: a snapshot never changes, but ids recur
    # in another database (the tests') served by the same process.
    key = tuple((item.id, item.kind, item.prompt, item.required, item.max_choices,
                 tuple((option.id, option.label) for option in item.options)) for item in questionnaire.items)
    form_class = _form_classes.get(key)
    if form_class is None:
        class BallotForm(Form):
            class Meta:
                # CSRFProtect checks every POST's token before the view runs; a second check (and a
                # fresh token) in the form would only cost each ballot time. The page renders the token.
                csrf = False

        for item in questionnaire.items:
            setattr(BallotForm, field_name(item), _field_for(item))
        if len(_form_classes) >= _MAX_FORM_CLASSES:
            _form_classes.clear()
        form_class = _form_classes[key] = BallotForm
    return form_class


def _field_for(item):
    option_choices = choices((option.id, option.label) for option in item.options)
    if item.kind == ItemKind.text:
        validators = [DataRequired("请填写。")] if item.required else [Optional()]
        return TextAreaField(item.prompt, validators=validators + [Length(max=MAX_TEXT_ANSWER,
                                                                          message=f"不能超过 {MAX_TEXT_ANSWER} 字。")])
    if item.kind == ItemKind.multiple:
        validators = [AtLeastOne()] if item.required else []
        if item.max_choices:
            validators.append(AtMost(item.max_choices))
        return CheckboxesField(item.prompt, choices=option_choices, coerce=int, validators=validators)
    if item.required:
        return RadioField(item.prompt, choices=option_choices, coerce=int, validators=[InputRequired("请选择一项。")])
    # An optional item left blank is no answer; the operation checks any option that is sent.
    return RadioField(item.prompt, choices=option_choices, coerce=int, validate_choice=False, validators=[Optional()])


def field_name(item):
    return f"item_{item.id}"


def submitted_choices(form, questionnaire):
    """Return {item id: option id | [option ids] | text | None} from a validated ballot form."""
    return {item.id: form[field_name(item)].data for item in questionnaire.items}


class ReceiptForm(Form):
    code = StringField("回执码", validators=[DataRequired("请输入回执码。"), Length(max=64)])
