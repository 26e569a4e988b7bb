"""How rectification takes part in the floors below: items opened when a result is published, the chair's home."""
from evalapp.campaigns.signals import home_page
from evalapp.core.timeutil import local_today
from evalapp.rectification.models import CHAIR_TURN_STATES
from evalapp.rectification.operations import open_rectifications
from evalapp.rectification.overview import chair_items
from evalapp.results.signals import result_published


@result_published.connect
def _open_items(result, campaign, actor):
    open_rectifications(campaign, result)


@home_page.connect
def _steps_due(account):
    """The chair's items that wait for the chair (a plan to write or redo, progress to report), soonest first."""
    if not account.chaired_unions:
        return {}
    items = [item for _campaign, items in chair_items(account) for item in items if item.state in CHAIR_TURN_STATES]
    return {"rectification_steps": sorted(items, key=lambda item: (item.deadline is None, item.deadline, item.id)),
            "today": local_today()}
