"""How duty reports take part in the pages below: the chair's home lists the reports still to write."""
from sqlalchemy import select

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.campaigns.signals import home_page
from evalapp.core.db import db
from evalapp.duty_reports.models import DutyReport


@home_page.connect
def _reports_to_write(account):
    """Campaigns announced for the account's union whose report is still empty."""
    if not account.chaired_unions:
        return {}
    query = (select(Campaign).outerjoin(DutyReport, DutyReport.campaign_id == Campaign.id)
             .where(Campaign.chaired_condition(account), Campaign.state == CampaignState.reporting,
                    DutyReport.id.is_(None) | (DutyReport.body == ""))
             .order_by(Campaign.opens_at.is_(None), Campaign.opens_at, Campaign.id))
    return {"reports_to_write": list(db.session.scalars(query))}
