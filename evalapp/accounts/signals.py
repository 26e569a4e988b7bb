"""Signals by which higher floors take part in account operations that must not import them."""
from blinker import Namespace

_signals = Namespace()

#: Sent with a member (the sender); each receiver returns (title, is_open) pairs for the campaigns the
#: member is an elector of that are open or announced (reporting): while they are, a credential code
#: can put a ballot in the member's name, so it needs a second person (evalapp/accounts/invitations.py).
campaigns_of_member = _signals.signal("campaigns-of-member")


def member_campaigns(member):
    return [pair for _receiver, pairs in campaigns_of_member.send(member) for pair in pairs or ()]
