"""Signals by which higher floors add to the pages of unions."""
from blinker import Namespace

_signals = Namespace()

#: Sent with the union (the sender) whose page an officer opens, and `account`; receivers return
#: template values for it (e.g. the campaign batches started from the union).
union_page = _signals.signal("union-page")
