"""How results take part in the floors below: the frozen result on publication, and the pages."""
from evalapp.campaigns.models import CampaignState
from evalapp.campaigns.signals import batch_page, campaign_page, campaign_published
from evalapp.results.models import min_group_size
from evalapp.results.operations import freeze_result
from evalapp.results.publication import publication_of
from evalapp.results.ranking import batch_ranking
from evalapp.results.signals import result_published


@campaign_published.connect
def _freeze(campaign, actor):
    result = freeze_result(campaign, actor)
    result_published.send(result, campaign=campaign, actor=actor)


@batch_page.connect
def _ranking(batch, account, campaigns):
    ranking, difference, unranked = batch_ranking(campaigns)
    return {"ranking": ranking, "difference": difference, "unranked": unranked, "min_group": min_group_size()}


@campaign_page.connect
def _publication(campaign, account):
    """A closed campaign's background publication, for its officers: under way, stalled or failed."""
    if campaign.state != CampaignState.closed or not campaign.can_manage(account):
        return {}
    return {"publication": publication_of(campaign)}
