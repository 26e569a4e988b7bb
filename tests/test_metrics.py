"""GET /metrics for Prometheus: behind a token, counting requests and ballots, reporting jobs and the queue."""
import re
import secrets

import pytest

from evalapp.core import metrics
from tests.factories import ballot_form, make_campaign
from tests.test_production import REDIS_URL, second_app

TOKEN = "scrape-" + secrets.token_hex(8)


def scrape(client, token=TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def value(text, metric, labels=""):
    match = re.search(rf"^{re.escape(metric)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(autouse=True)
def fresh_counts():
    metrics._unflushed.clear()
    yield
    metrics._unflushed.clear()


def test_without_a_token_or_with_a_wrong_one_there_are_no_metrics(app, client, monkeypatch):
    assert scrape(client).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert scrape(client, "guess").status_code == 404
    assert client.get("/metrics").status_code == 404


def test_requests_and_ballots_are_counted_for_the_whole_site(app, world, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    campaign = make_campaign(world, "open")
    member = login("m1")
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 302
    assert member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1])).status_code == 409
    client.get("/no-such-page")
    response = scrape(client)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert value(text, "evalapp_ballots_total", '{outcome="accepted"}') == 1
    assert value(text, "evalapp_ballots_total", '{outcome="refused"}') == 1
    assert value(text, "evalapp_requests_total", '{status="4xx"}') >= 2
    assert value(text, "evalapp_requests_total", '{status="3xx"}') >= 2
    assert "campaign" not in text.lower().replace("campaigns", "")            # nothing per campaign
    assert "# TYPE evalapp_jobs gauge" in text
    assert value(scrape(client).get_data(as_text=True), "evalapp_requests_total", '{status="2xx"}') == \
        value(text, "evalapp_requests_total", '{status="2xx"}')               # scrapes are not counted


@pytest.mark.service
def test_with_redis_the_counts_of_every_process_meet_in_one_total_and_the_queue_is_reported(app, world):
    name = f"evalapp-test-{secrets.token_hex(4)}"
    config = dict(REDIS_URL=REDIS_URL, JOBS_QUEUE=name, METRICS_TOKEN=TOKEN)
    first, second = second_app(app, **config), second_app(app, **config)
    try:
        for node in (first, second):
            with node.app_context():
                for _ in range(3):
                    node.test_client().get("/login")
                metrics.flush()
        metrics._unflushed.clear()   # what is left is in Redis only, as another process's counts would be
        with first.app_context():
            text = scrape(first.test_client()).get_data(as_text=True)
        assert value(text, "evalapp_requests_total", '{status="2xx"}') == 6
        assert value(text, "evalapp_workers") == 0 and value(text, "evalapp_clock_lag_seconds") == -1
        assert "evalapp_queue_waiting_jobs 0" in text
    finally:
        from redis import Redis

        connection = Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{name}*"):
            connection.delete(key)


def test_no_session_opens_the_metrics_whoever_signs_in(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    for username in ("admin", "city_officer", "m1"):
        assert login(username).get("/metrics").status_code == 404
