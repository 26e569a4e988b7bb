"""Small helpers shared by the domain forms."""
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class ActionForm(FlaskForm):
    """An empty form: the CSRF token behind a button that changes state."""


def choices(pairs):
    """Return WTForms select/radio choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
