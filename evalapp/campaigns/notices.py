"""What a campaign tells people as it moves: the chair when the report is asked for, every elector when
voting opens and when the result is out. Texts carry titles, dates and links, never a figure."""
from evalapp.campaigns.people import chair_accounts
from evalapp.core.timeutil import to_local
from evalapp.notifications.broadcasts import announce
from evalapp.notifications.operations import notify


def campaign_link(campaign):
    # Built by hand: notices are also written by the clock, outside any request.
    return f"/campaigns/{campaign.id}"


def local_moment(moment):
    local = to_local(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def report_requested(campaign):
    if not campaign.has_report:
        return
    when = f"，投票计划于 {local_moment(campaign.opens_at)} 开始" if campaign.opens_at else ""
    for account in chair_accounts(campaign.union):
        notify(account, "report.requested", f"请为“{campaign.title}”撰写并提交述职报告{when}。",
               f"/campaigns/{campaign.id}/report")


#: Where the text to an elector without an account sends them (unions.activate_view).
ACTIVATION_LINK = "/activate"
WITHOUT_ACCOUNT = "您还没有开通评议账号，请凭工会发放的激活码开通后参加评议。"


def voting_opened(campaign):
    until = f"，截止时间 {local_moment(campaign.closes_at)}" if campaign.closes_at else ""
    announce("voting.opened", "campaign.electors", campaign.id,
             f"“{campaign.title}”已开始投票{until}，请登录参加评议。", campaign_link(campaign),
             key=f"voting.opened:{campaign.id}",
             text_without_account=f"“{campaign.title}”已开始投票{until}。{WITHOUT_ACCOUNT}",
             link_without_account=ACTIVATION_LINK, expires_at=campaign.closes_at)


def result_published(campaign):
    announce("result.published", "campaign.electors", campaign.id, f"“{campaign.title}”的评议结果已公布。",
             campaign_link(campaign), key=f"result.published:{campaign.id}")
