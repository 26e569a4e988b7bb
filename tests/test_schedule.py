"""Voting opens and closes on schedule by itself: by the cron command and at request time."""
from datetime import timedelta

from sqlalchemy import select

from evalapp.campaigns.models import CampaignState, ElectorateEntry, SubjectKind
from evalapp.core.audit import AuditEntry
from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from tests.factories import ballot_form, make_campaign


def schedule(campaign, opens_in=None, closes_in=None):
    now = utcnow()
    campaign.opens_at = now + opens_in if opens_in is not None else None
    campaign.closes_at = now + closes_in if closes_in is not None else None
    db.session.commit()
    return campaign


def tick(app):
    result = app.test_cli_runner().invoke(args=["campaigns", "tick"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_the_tick_command_opens_a_campaign_whose_time_has_come(app, world):
    campaign = schedule(make_campaign(world, "reporting"), opens_in=timedelta(minutes=-1), closes_in=timedelta(days=7))
    assert "opened 1, closed 0" in tick(app)
    assert campaign.state == CampaignState.open and campaign.electorate_size == 5
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.state_changed")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry.actor_id is None and '"after": "open"' in entry.details


def test_the_tick_command_closes_a_campaign_whose_window_has_ended(app, world):
    campaign = schedule(make_campaign(world, "open"), closes_in=timedelta(seconds=-1))
    assert "opened 0, closed 1" in tick(app)
    assert campaign.state == CampaignState.closed and campaign.closed_at is not None


def test_nothing_happens_before_the_planned_time(app, world):
    reporting = schedule(make_campaign(world, "reporting"), opens_in=timedelta(hours=1))
    open_one = schedule(make_campaign(world, "open"), closes_in=timedelta(hours=1))
    assert "opened 0, closed 0" in tick(app)
    assert reporting.state == CampaignState.reporting and open_one.state == CampaignState.open


def test_a_scheduled_opening_that_cannot_happen_changes_nothing(app, world):
    campaign = make_campaign(world, "draft")
    from evalapp.campaigns.operations import start_reporting

    start_reporting(campaign, world.county_officer)  # the chair never writes the report
    schedule(campaign, opens_in=timedelta(minutes=-5))
    assert "opened 0, closed 0" in tick(app)
    assert campaign.state == CampaignState.reporting
    assert db.session.scalar(select(db.func.count()).select_from(ElectorateEntry)) == 0


def test_without_cron_the_first_visit_after_the_deadline_closes_voting(world, login):
    campaign = schedule(make_campaign(world, "open"), closes_in=timedelta(seconds=-1))
    member = login("m1")
    response = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))
    assert response.status_code == 409 and "已截止" in response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.closed


def test_without_cron_members_find_an_announced_survey_open_on_time(world, login):
    campaign = make_campaign(world, "reporting", subject=SubjectKind.none)
    schedule(campaign, opens_in=timedelta(minutes=-1))
    assert "去评议" in login("m1").get("/").get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.state == CampaignState.open


def test_the_schedule_closing_a_campaign_an_officer_just_closed_is_harmless(app, world):
    from sqlalchemy import text

    from evalapp.campaigns.operations import apply_schedule

    campaign = schedule(make_campaign(world, "open"), closes_in=timedelta(seconds=-1))
    with db.engine.begin() as connection:  # the officer's request closed it meanwhile
        connection.execute(text("UPDATE campaigns SET state = 'closed' WHERE id = :id"), {"id": campaign.id})
    assert apply_schedule(campaign) is None
    db.session.rollback()
    other = schedule(make_campaign(world, "open"), closes_in=timedelta(seconds=-1))
    assert "opened 0, closed 1" in tick(app)  # only the other one was still open
    assert other.state == CampaignState.closed
