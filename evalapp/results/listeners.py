"""How results take part in the floors below: the result counted at closing and shown on publication,
and the pages."""
from evalapp.campaigns.models import CampaignState
from evalapp.campaigns.signals import batch_page, campaign_closed, campaign_page, campaign_published
from evalapp.core.errors import Refused
from evalapp.results.models import min_group_size
from evalapp.results.operations import freeze_result
from evalapp.results.publication import counting_of, counts_in_background
from evalapp.results.ranking import batch_ranking
from evalapp.results.signals import result_published


@campaign_closed.connect
def _count(campaign, actor):
    """The result is counted as voting closes, so the officers see it in full before members do; a
    large one is counted by a job the officers start (results.publication)."""
    if not counts_in_background(campaign):
        freeze_result(campaign, actor)


@campaign_published.connect
def _publish(campaign, actor):
    if campaign.result is None and counts_in_background(campaign):
        raise Refused("请先统计结果，查看后再公布。")       # never a large count inside the request
    result = campaign.result or freeze_result(campaign, actor)
    result_published.send(result, campaign=campaign, actor=actor)


@batch_page.connect
def _ranking(batch, account, campaigns):
    ranking, difference, unranked = batch_ranking(campaigns)
    return {"ranking": ranking, "difference": difference, "unranked": unranked, "min_group": min_group_size()}


@campaign_page.connect
def _counting(campaign, account):
    """A closed campaign's background count, for its officers: under way, stalled or failed."""
    if campaign.state != CampaignState.closed or not campaign.can_manage(account):
        return {}
    return {"counting": counting_of(campaign)}
