"""Signals by which higher floors take part in account operations that must not import them."""
from blinker import Namespace

_signals = Namespace()

#: Sent with a member (the sender); each receiver returns the titles of the open campaigns whose
#: electorate holds that member. A credential code for such a member works only once a second
#: person has confirmed it.
open_campaigns_of_member = _signals.signal("open-campaigns-of-member")


def open_campaign_titles(member):
    return [title for _receiver, titles in open_campaigns_of_member.send(member) for title in titles or ()]
