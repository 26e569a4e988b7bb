"""The plan's due date: publication date in Shanghai + the campaign's months, clamped to the month's end."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from evalapp.campaigns import operations as campaign_ops
from evalapp.core.db import db
from evalapp.rectification import operations as rect_ops
from evalapp.rectification.models import Rectification
from evalapp.rectification.operations import plan_due_date
from tests.factories import make_campaign


@pytest.mark.parametrize("published_utc, months, due", [
    # 16:00 UTC is midnight in Shanghai (UTC+8): the calendar day changes there, not at 00:00 UTC.
    (datetime(2026, 4, 29, 15, 59, 59), 1, date(2026, 5, 29)),
    (datetime(2026, 4, 29, 16, 0, 0), 1, date(2026, 5, 30)),
    # 31 January + 1 month is the end of February, in common and in leap years.
    (datetime(2026, 1, 30, 16, 0), 1, date(2026, 2, 28)),
    (datetime(2028, 1, 30, 16, 0), 1, date(2028, 2, 29)),
    (datetime(2028, 1, 31, 3, 0), 1, date(2028, 2, 29)),
    # New Year arrives in Shanghai at 16:00 UTC on 31 December.
    (datetime(2027, 12, 31, 15, 59), 1, date(2028, 1, 31)),
    (datetime(2027, 12, 31, 16, 0), 1, date(2028, 2, 1)),
    # Other periods and other month ends.
    (datetime(2026, 8, 30, 16, 0), 1, date(2026, 9, 30)),
    (datetime(2026, 12, 30, 16, 0), 2, date(2027, 2, 28)),
    (datetime(2026, 11, 30, 15, 59), 3, date(2027, 2, 28)),
    (datetime(2026, 11, 30, 16, 0), 3, date(2027, 3, 1)),
    (datetime(2028, 2, 28, 16, 0), 12, date(2029, 2, 28)),    # 29 February + a year
    (datetime(2026, 6, 15, 4, 0), 0, date(2026, 6, 15)),
])
def test_plan_due_date(app_config_context, published_utc, months, due):
    assert plan_due_date(published_utc, months) == due


def _publish_at(world, monkeypatch, moment, months=1):
    campaign = make_campaign(world, "closed", votes=[[3, 1, 1]] * 5)
    campaign.rectification_months = months
    monkeypatch.setattr(campaign_ops, "utcnow", lambda: moment)
    campaign_ops.publish(campaign, world.county_officer)
    db.session.commit()
    return campaign


def test_publication_in_a_leap_january_gives_29_february(world, monkeypatch, login):
    campaign = _publish_at(world, monkeypatch, datetime(2028, 1, 30, 16, 30))   # 31 January in Shanghai
    [rectification] = campaign.rectifications
    assert rectification.due_date == date(2028, 2, 29)
    page = login("m1").get(f"/rectifications/{rectification.id}").get_data(as_text=True)
    assert "整改方案提交期限：2028-02-29" in page


def test_the_campaigns_own_period_counts(world, monkeypatch):
    campaign = _publish_at(world, monkeypatch, datetime(2026, 10, 31, 2, 0), months=4)
    assert [r.due_date for r in campaign.rectifications] == [date(2027, 2, 28)]


def test_a_suggestion_flagged_months_later_counts_from_the_day_it_was_flagged(world, monkeypatch):
    from evalapp.suggestions.operations import add_suggestion, flag

    campaign = make_campaign(world, "closed")
    suggestion = add_suggestion(campaign, world.members[0], "食堂太挤。")
    monkeypatch.setattr(campaign_ops, "utcnow", lambda: datetime(2026, 3, 1, 2, 0))
    campaign_ops.publish(campaign, world.county_officer)
    monkeypatch.setattr(rect_ops, "utcnow", lambda: datetime(2026, 5, 30, 17, 0))    # 31 May in Shanghai
    rectification = flag(suggestion, world.county_officer, "食堂就餐拥挤。")
    db.session.commit()
    assert db.session.get(Rectification, rectification.id).due_date == date(2026, 6, 30)
    assert db.session.scalar(sa.select(Rectification.due_date).where(Rectification.item_id.is_not(None))) is None


def test_a_suggestion_flagged_on_publication_day_is_due_with_the_result_items(world, monkeypatch):
    from evalapp.suggestions.operations import add_suggestion, flag

    campaign = make_campaign(world, "closed", votes=[[3, 1, 1]] * 5)
    suggestion = add_suggestion(campaign, world.members[0], "食堂太挤。")
    moment = datetime(2026, 1, 31, 1, 0)
    monkeypatch.setattr(campaign_ops, "utcnow", lambda: moment)
    monkeypatch.setattr(rect_ops, "utcnow", lambda: moment)
    campaign_ops.publish(campaign, world.county_officer)
    flag(suggestion, world.county_officer, "食堂就餐拥挤。")
    db.session.commit()
    assert {r.due_date for r in campaign.rectifications} == {date(2026, 2, 28)}
