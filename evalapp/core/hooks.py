"""Pages that higher floors add to: a lower floor's view sends a signal, the packages above answer.

A union's page lists the campaign batches started from it, a campaign's page shows its turnout:
what a lower floor may not import, it asks for by sending a blinker signal with the object shown,
and each receiver returns a dict of template values (Indico's `values_from_signal` does the same).
"""


def page_values(signal, sender, **kwargs):
    """Merge the dicts returned by `signal`'s receivers for `sender` (None answers add nothing)."""
    values = {}
    for _receiver, answer in signal.send(sender, **kwargs):
        values.update(answer or {})
    return values
