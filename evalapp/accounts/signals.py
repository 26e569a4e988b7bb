"""Signals by which higher floors take part in account operations that must not import them."""
from blinker import Namespace

_signals = Namespace()

#: Sent with a member (the sender); each receiver returns (title, is_open) pairs for the campaigns the
#: member is an elector of that are open or announced (reporting): while they are, a credential code
#: can put a ballot in the member's name, so it needs a second person (evalapp/unions/invitations.py).
campaigns_of_member = _signals.signal("campaigns-of-member")


def member_campaigns(member):
    return [pair for _receiver, pairs in campaigns_of_member.send(member) for pair in pairs or ()]

#: Sent with an account (the sender) whose member replaced the initial password an officer set: that
#: opens the account with the officer's credential, so the member's history records it as an activation.
initial_password_replaced = _signals.signal("initial-password-replaced")

#: Sent with an account (the sender) just signed in with its password on the login page.
signed_in_with_password = _signals.signal("signed-in-with-password")
