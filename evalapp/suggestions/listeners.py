"""How suggestions take part in the pages below: the chair's home counts the suggestions to answer."""
from sqlalchemy import func, select

from evalapp.campaigns.models import Campaign
from evalapp.campaigns.signals import home_page
from evalapp.core.db import db
from evalapp.suggestions.models import Suggestion


@home_page.connect
def _suggestions_to_answer(account):
    """[(campaign, unanswered suggestions)] for the campaigns evaluating the account as chair."""
    if not account.chaired_unions:
        return {}
    query = (select(Campaign, func.count(Suggestion.id)).join(Suggestion, Suggestion.campaign_id == Campaign.id)
             .where(Campaign.chaired_condition(account), Suggestion.responded_at.is_(None),
                    Suggestion.hidden_at.is_(None))
             .group_by(Campaign.id).order_by(Campaign.id.desc()))
    return {"suggestions_to_answer": [tuple(row) for row in db.session.execute(query)]}
