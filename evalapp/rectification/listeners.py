"""How rectification takes part in the floors below: items opened when a result is published."""
from evalapp.rectification.operations import open_rectifications
from evalapp.results.signals import result_published


@result_published.connect
def _open_items(result, campaign, actor):
    open_rectifications(campaign, result)
