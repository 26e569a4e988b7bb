"""How campaigns take part in the pages of the floors below: a union's page lists its batches."""
from evalapp.campaigns.batches import batches_rooted_at
from evalapp.unions.signals import union_page


@union_page.connect
def _batches(union, account):
    return {"batches": batches_rooted_at(union)}
