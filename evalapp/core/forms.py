"""Small helpers shared by the domain forms."""
from wtforms.fields.choices import SelectChoice


def choices(pairs):
    """Return WTForms select/radio choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
