"""Changes by compare-and-set: a double-clicked button or two people acting at once change a row once.

The UPDATE carries the condition the user saw ("the campaign is still closed", "the suggestion is
not hidden"), so whoever comes second finds the row changed and is told what it is now, instead
of silently acting twice or overwriting the first.
"""
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from evalapp.core import audit
from evalapp.core.db import db
from evalapp.core.errors import Refused


def compare_and_set(obj, *conditions, **values):
    """Write `values` to `obj`'s row only where `conditions` still hold there; return whether it did.

    If it did, `obj` takes the values as already written; if not, `obj` is reloaded, so that the
    caller can say what it found.
    """
    model = type(obj)
    changed = db.session.execute(
        update(model).where(model.id == obj.id, *conditions).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        db.session.refresh(obj)
        return False
    for field, value in values.items():
        set_committed_value(obj, field, value)
    return True


def move_state(obj, allowed_from, target, *, refusal, action, actor):
    """Move `obj.state` to `target` if its state in the database is still one of `allowed_from`.

    Otherwise refuse with `refusal(current_state)`. The move is audited as `action`, with the
    states before and after.
    """
    before = obj.state
    if not compare_and_set(obj, type(obj).state.in_(allowed_from), state=target):
        raise Refused(refusal(obj.state))
    audit.record(action, obj, actor=actor, before=before.value, after=target.value)
