"""How coverage takes part in campaigns: a batch skips unions already validly evaluated in its year."""
from evalapp.campaigns.signals import evaluated_in_year
from evalapp.coverage.operations import evaluated_in


@evaluated_in_year.connect
def _evaluated(matched_ids, year):
    return evaluated_in(matched_ids, year)
