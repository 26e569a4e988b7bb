"""Signals by which higher floors (voting, results, rectification) take part in campaigns.

Campaigns may not import the floors above them; they send these, and the packages above answer.
Page signals are sent with the object shown and `account`; receivers return template values
(`evalapp.core.hooks.page_values`).
"""
from blinker import Namespace

_signals = Namespace()

#: A campaign's page (sender: the campaign): e.g. turnout, whether the account has voted.
campaign_page = _signals.signal("campaign-page")
#: The home page's list (sender: the list of campaigns): receivers return {"voted_in": {campaign id, …}}.
campaign_list = _signals.signal("campaign-list")
#: The home page (sender: the account): what waits for the account, one key per package (the chair's
#: report to write, suggestions to answer, rectification steps due).
home_page = _signals.signal("home-page")
#: A batch's page (sender: the batch; also `campaigns`, the batch's campaigns): turnout, ranking.
batch_page = _signals.signal("batch-page")
#: A batch is choosing its unions (sender: the select of matched union ids; also `year`): receivers
#: return {union id: title} of the unions whose chair evaluation for that year is already done.
evaluated_in_year = _signals.signal("evaluated-in-year")
#: Voting has just closed (sender: the campaign; also `actor`, None for the schedule), in the same
#: transaction: the results package counts the result here, for the officers to see before publishing.
campaign_closed = _signals.signal("campaign-closed")
#: A campaign has just moved to published (sender: the campaign; also `actor`), in the same
#: transaction: the results package freezes its result here. A receiver that refuses stops it.
campaign_published = _signals.signal("campaign-published")
