"""Casting secret ballots: once per member, only in the window, only by the electorate."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from evalapp.core.db import db
from evalapp.core.timeutil import utcnow
from evalapp.voting.models import Answer, Ballot, Participation
from evalapp.voting.operations import cast_ballot
from tests.factories import ballot_form, choices_for, make_campaign


def count(model, **filters):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def test_a_member_votes_once_and_gets_a_receipt(world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    assert "开始评议" in member.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    response = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3]),
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "回执码" in page
    assert count(Participation, campaign_id=campaign.id) == 1
    assert count(Ballot, campaign_id=campaign.id) == 1 and count(Answer) == 3

    again = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [3, 3, 5]))
    assert again.status_code == 409 and "只能投一次" in again.get_data(as_text=True)
    assert count(Ballot, campaign_id=campaign.id) == 1
    assert "您已完成本次评议" in member.get(f"/campaigns/{campaign.id}").get_data(as_text=True)


def test_the_home_page_lists_an_open_campaign_until_the_member_has_voted(world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    vote_link = f'href="/campaigns/{campaign.id}/vote"'
    home = member.get("/").get_data(as_text=True)
    assert "待您评议" in home and vote_link in home
    member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3]))
    home = member.get("/").get_data(as_text=True)
    assert "待您评议" not in home and vote_link not in home
    assert f'href="/campaigns/{campaign.id}"' in home  # still listed among the member's campaigns


def test_ballots_carry_no_voter_and_no_time(database):
    columns = {column["name"] for column in inspect(db.engine).get_columns("ballots")}
    # The summaries are derived from the ballot's own answers (for statistics at scale), nothing else.
    assert columns == {"id", "campaign_id", "receipt_hash", "score", "item_sum", "uniform"}
    answer_columns = {column["name"] for column in inspect(db.engine).get_columns("answers")}
    assert answer_columns == {"ballot_id", "item_id", "option_id", "campaign_id"}
    text_columns = {column["name"] for column in inspect(db.engine).get_columns("text_answers")}
    assert text_columns == {"id", "campaign_id", "item_id", "body"}  # free text is kept apart from ballots
    participation_columns = {column["name"] for column in inspect(db.engine).get_columns("participations")}
    # Who voted keeps the hour (for the turnout-burst warning); the ballot has no time to match it with.
    assert participation_columns == {"campaign_id", "member_id", "voted_hour"}


def test_participation_keeps_only_the_hour_of_voting(world):
    from evalapp.voting.models import Participation

    make_campaign(world, "open", votes=[[1, 1, 1]] * 3)
    hours = list(db.session.scalars(select(Participation.voted_hour)))
    assert len(hours) == 3
    assert all(hour is not None and (hour.minute, hour.second, hour.microsecond) == (0, 0, 0) for hour in hours)


def test_ballot_ids_are_random_not_ordered_like_votes(world):
    make_campaign(world, "open", votes=[[1, 1, 1]] * 5)
    ids = list(db.session.scalars(select(Ballot.id)))
    assert len(ids) == len(set(ids)) == 5 and all(len(i) == 32 for i in ids)
    # Five sequential ids would sort in insertion order; random ones almost never all do.
    assert not all(int(i, 16) < 2 ** 120 for i in ids)


def test_an_unanswered_item_is_refused_and_nothing_is_written(world, login):
    campaign = make_campaign(world, "open")
    data = ballot_form(campaign, [1, 1, 1])
    data.pop(next(iter(data)))
    response = login("m1").post(f"/campaigns/{campaign.id}/vote", data=data)
    assert response.status_code == 400 and "请选择一项" in response.get_data(as_text=True)
    assert count(Participation) == 0 and count(Ballot) == 0


def test_an_option_of_another_item_is_refused(world, login):
    campaign = make_campaign(world, "open")
    items = campaign.questionnaire.items
    data = ballot_form(campaign, [1, 1, 1])
    data[f"item_{items[0].id}"] = str(items[1].options[0].id)
    response = login("m1").post(f"/campaigns/{campaign.id}/vote", data=data)
    assert response.status_code == 400 and "提交评议" in response.get_data(as_text=True)  # the form again
    assert count(Participation) == 0 and count(Ballot) == 0


def test_a_member_who_has_voted_is_told_so_whatever_they_post(world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3])).status_code == 302
    incomplete = ballot_form(campaign, [1, 1, 1])
    incomplete.pop(next(iter(incomplete)))
    for data in (incomplete, ballot_form(campaign, [2, 2, 2])):
        response = member.post(f"/campaigns/{campaign.id}/vote", data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 409 and "只能投一次" in page and "提交评议" not in page
    assert count(Participation, campaign_id=campaign.id) == 1 and count(Ballot, campaign_id=campaign.id) == 1


def test_a_form_forged_for_another_campaign_is_refused(world, login):
    first = make_campaign(world, "open")
    second = make_campaign(world, "open")
    response = login("m1").post(f"/campaigns/{second.id}/vote", data=ballot_form(first, [1, 1, 1]))
    assert response.status_code == 400
    assert count(Participation) == 0 and count(Ballot) == 0


def test_the_operation_refuses_items_of_another_campaign(world):
    from evalapp.core.errors import Refused

    first, second = make_campaign(world, "open"), make_campaign(world, "open")
    with pytest.raises(Refused):
        cast_ballot(second, world.members[0], choices_for(first, [1, 1, 1]))
    db.session.rollback()
    assert count(Participation) == 0 and count(Ballot) == 0


@pytest.mark.parametrize("state", ["draft", "reporting", "closed", "published"])
def test_no_ballot_outside_the_voting_state(world, login, state):
    campaign = make_campaign(world, state)
    client = login("m1")
    response = client.get(f"/campaigns/{campaign.id}/vote")
    if state == "draft":
        assert response.status_code == 404
    else:
        assert response.status_code == 409
        assert "不在投票时间内" in response.get_data(as_text=True) or "已截止" in response.get_data(as_text=True)
    assert count(Ballot) == 0


def test_no_ballot_after_the_closing_time(world, login):
    campaign = make_campaign(world, "open")
    campaign.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = login("m1").post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))
    assert response.status_code == 409 and "已截止" in response.get_data(as_text=True)
    assert count(Ballot) == 0


def test_members_outside_the_electorate_cannot_vote(world, login):
    campaign = make_campaign(world, "open")
    assert login("outsider").post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 404
    chair = login("chair")  # the chair sees the campaign but does not evaluate themselves
    response = chair.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))
    assert response.status_code == 403 and "不在本次评议的参评名单中" in response.get_data(as_text=True)
    assert count(Ballot) == 0


def test_a_failure_between_participation_and_ballot_leaves_neither(world, monkeypatch):
    campaign = make_campaign(world, "open")
    original_flush = db.session.flush

    def failing_flush(*args, **kwargs):
        original_flush(*args, **kwargs)
        raise RuntimeError("worker died mid-request")

    monkeypatch.setattr(db.session, "flush", failing_flush)
    with pytest.raises(RuntimeError):
        cast_ballot(campaign, world.members[0], choices_for(campaign, [1, 1, 1]))
    monkeypatch.undo()
    db.session.rollback()
    assert count(Participation) == 0 and count(Ballot) == 0 and count(Answer) == 0


def test_receipt_shows_only_whether_the_ballot_counted(world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [3, 3, 5]))
    code = re.search(r'data-code="(\w+)"', member.get(f"/campaigns/{campaign.id}/voted").get_data(as_text=True))[1]
    assert "回执码只显示这一次" not in member.get(f"/campaigns/{campaign.id}/voted").get_data(as_text=True)

    checker = login("m2")
    assert "已收到" in checker.post("/receipts", data={"code": code}).get_data(as_text=True)
    make_campaign_state(campaign, world, "published")
    page = checker.post("/receipts", data={"code": code}).get_data(as_text=True)
    assert "已计入" in page and "不满意" not in page
    assert "没有找到" in checker.post("/receipts", data={"code": "0" * 16}).get_data(as_text=True)


def test_anyone_looks_up_a_receipt_typed_with_spaces_dashes_capitals_or_full_width_characters(world, login, client):
    campaign = make_campaign(world, "open")
    member = login("m1")
    member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [3, 3, 5]))
    page = member.get(f"/campaigns/{campaign.id}/voted").get_data(as_text=True)
    code = re.search(r'data-code="(\w+)"', page)[1]
    grouped = " ".join(code[i:i + 4] for i in range(0, 16, 4))
    assert f'value="{grouped}" readonly' in page and "长按" in page           # in groups of four, to select and copy
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code.upper())          # as a Chinese IME types it
    for typed in (code, grouped, "-".join(grouped.split()).upper(), f"  {code[:8]}　{code[8:]} ", full_width):
        answer = client.post("/receipts", data={"code": typed}).get_data(as_text=True)   # nobody signed in
        assert "该回执对应的选票已收到" in answer, typed
    assert "没有找到该回执码" in client.post("/receipts", data={"code": code[:-1] + "g"}).get_data(as_text=True)
    assert "无需登录" in client.get("/login").get_data(as_text=True)


def make_campaign_state(campaign, world, state):
    from evalapp.campaigns import operations

    operations.close_voting(campaign, world.county_officer)
    if state == "published":
        operations.publish(campaign, world.county_officer)
    db.session.commit()


def _concurrent_casts(app, campaign_id, account_id, attempts):
    """Cast the same member's ballot from `attempts` threads at once; return the outcomes."""
    from evalapp.accounts.models import Account
    from evalapp.campaigns.models import Campaign
    from evalapp.core.errors import Refused

    barrier, outcomes = threading.Barrier(attempts), []

    def attempt():
        with app.app_context():
            campaign, account = db.session.get(Campaign, campaign_id), db.session.get(Account, account_id)
            choices = choices_for(campaign, [1, 1, 1])
            barrier.wait(timeout=30)
            try:
                cast_ballot(campaign, account, choices)
                db.session.commit()
                outcomes.append("ok")
            except Refused:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_submissions_for_one_member_give_exactly_one_ballot(app, world):
    campaign = make_campaign(world, "open")
    attempts = 50  # each attempt holds a pooled connection at the barrier: see the pool in conftest
    outcomes = _concurrent_casts(app, campaign.id, world.members[0].id, attempts)
    assert sorted(outcomes) == ["ok"] + ["refused"] * (attempts - 1)
    assert count(Participation, campaign_id=campaign.id) == 1
    assert count(Ballot, campaign_id=campaign.id) == 1


def _behind_the_sessions_back(sql, **params):
    """Change the database from another connection, as a concurrent request would."""
    from sqlalchemy import text

    with db.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_a_ballot_is_refused_when_voting_closed_after_the_page_was_loaded(world):
    from evalapp.core.errors import Refused

    campaign = make_campaign(world, "open")
    choices = choices_for(campaign, [1, 1, 1])
    _behind_the_sessions_back("UPDATE campaigns SET state = 'closed' WHERE id = :id", id=campaign.id)
    with pytest.raises(Refused, match="截止"):
        cast_ballot(campaign, world.members[0], choices)
    db.session.rollback()
    assert count(Participation) == 0 and count(Ballot) == 0


def test_members_who_leave_after_opening_stay_in_the_electorate(world, login):
    campaign = make_campaign(world, "open")
    world.members[0].member.active = False  # left the union after voting opened
    db.session.commit()
    response = login("m1").post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))
    assert response.status_code == 302 and count(Ballot, campaign_id=campaign.id) == 1


def test_once_the_ballot_is_committed_the_request_reads_nothing_more_from_the_database(world, login):
    """A connection lost after the commit must not turn a stored ballot into an error without a receipt."""
    from sqlalchemy import event

    campaign = make_campaign(world, "open")
    client = login("m1")
    form = ballot_form(campaign, [1, 2, 3])
    after_commit, ballot_written, committed = [], threading.Event(), threading.Event()

    def record(_conn, _cursor, statement, *_args):
        if committed.is_set():
            after_commit.append(statement.split()[0].upper())
        elif statement.lstrip().upper().startswith("INSERT INTO BALLOTS"):
            ballot_written.set()

    def mark_committed(_conn):
        if ballot_written.is_set():
            committed.set()

    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.engine, "commit", mark_committed)
    try:
        response = client.post(f"/campaigns/{campaign.id}/vote", data=form)
    finally:
        event.remove(db.engine, "commit", mark_committed)
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 302 and committed.is_set()
    assert after_commit == [], f"statements after the ballot's commit: {after_commit}"


def test_voting_cannot_close_while_a_ballot_is_being_cast(app, world):
    """Closing waits for a ballot in progress (PostgreSQL's share lock), so it is counted or refused, never lost."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    campaign = make_campaign(world, "open")
    cast_ballot(campaign, world.members[0], choices_for(campaign, [1, 1, 1]))  # not committed yet
    closing = "UPDATE campaigns SET state = 'closed' WHERE id = :id"
    if app.backend == "postgresql":
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                other.execute(text(closing), {"id": campaign.id})
            other.rollback()
    db.session.commit()
    _behind_the_sessions_back(closing, id=campaign.id)  # once the ballot is in, closing goes through
    db.session.expire_all()
    assert campaign.state.value == "closed" and count(Ballot, campaign_id=campaign.id) == 1
