"""Signals by which higher floors (rectification) take part in results."""
from blinker import Namespace

_signals = Namespace()

#: A campaign's result has just been frozen on publication (sender: the result; also `campaign`,
#: `actor`), in the same transaction: rectification opens the items the result calls for.
result_published = _signals.signal("result-published")
