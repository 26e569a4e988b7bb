"""Login lock-out and ballot-submission limits, in memory and in Redis."""
import secrets

import pytest

from evalapp.core.db import db
from tests.factories import PASSWORD, ballot_form, make_campaign


def fail_logins(client, username, times):
    return [client.post("/login", data={"username": username, "password": "wrong"}).status_code for _ in range(times)]


def test_five_failed_logins_lock_the_name_out_even_with_the_right_password(world, client):
    assert fail_logins(client, "m1", 5) == [400] * 5
    response = client.post("/login", data={"username": "m1", "password": PASSWORD})
    assert response.status_code == 429
    assert "已暂时锁定" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still logged out


def test_lock_out_is_per_login_name(world, client):
    fail_logins(client, "m1", 5)
    assert client.post("/login", data={"username": "m2", "password": PASSWORD}).status_code == 302


def test_successful_logins_do_not_count_as_failures(world, client):
    for _ in range(6):
        assert client.post("/login", data={"username": "m1", "password": PASSWORD}).status_code == 302
        client.post("/logout")


def test_ballot_submissions_are_limited_per_account(world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    responses = [member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 1, 1]))
                 for _ in range(11)]
    statuses = [response.status_code for response in responses]
    assert statuses[0] == 302 and set(statuses[1:10]) == {409} and statuses[10] == 429
    assert "您已在本次评议中投过票" in responses[1].get_data(as_text=True)
    # Come back when the minute's window has passed.
    assert responses[10].headers["Retry-After"] == "60"


REDIS_PROBE = """
import json, sys
from evalapp import create_app
from evalapp.core.limits import limiter
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
try:
    print(json.dumps([client.post("/login", data={"username": "nobody", "password": "x"}).status_code
                      for _ in range(6)]))
finally:
    with app.app_context():
        limiter.reset()
"""


@pytest.mark.service
@pytest.mark.slow
def test_lock_out_works_with_redis_storage(app):
    """Run in a process of its own: the limiter is bound to one storage per process."""
    import json
    import subprocess
    import sys

    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
              "RATELIMIT_KEY_PREFIX": f"evalapp-test-{secrets.token_hex(4)}"}
    run = subprocess.run([sys.executable, "-c", REDIS_PROBE, json.dumps(config)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [400] * 5 + [429]


def test_parallel_guesses_cannot_slip_past_the_lock_out(app, world):
    import threading

    statuses, barrier = [], threading.Barrier(12)

    def guess():
        client = app.test_client()
        barrier.wait(timeout=30)
        statuses.append(client.post("/login", data={"username": "m1", "password": "wrong"}).status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(400) == 5 and statuses.count(429) == 7


def test_guessing_from_many_addresses_is_limited_per_name(world, client):
    statuses = [client.post("/login", data={"username": "m1", "password": "wrong"},
                            environ_base={"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250}"}).status_code for n in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


def test_a_post_without_a_valid_form_does_not_count_against_the_name(world, app, client):
    from evalapp.core.limits import LOGIN_TRIES_PER_NAME, _name_keys, limiter

    client.post("/login", data={"username": "m1"})  # no password: the form is invalid, nothing counted
    assert limiter.limiter.get_window_stats(LOGIN_TRIES_PER_NAME, *_name_keys("m1")).remaining == 20
    client.post("/login", data={"username": "m1", "password": "wrong-guess"})
    assert limiter.limiter.get_window_stats(LOGIN_TRIES_PER_NAME, *_name_keys("m1")).remaining == 19


def test_login_counters_do_not_name_the_phone_number(world, client):
    from evalapp.core.limits import limiter

    client.post("/login", data={"username": "13900139999", "password": "wrong-guess"})
    keys = list(limiter.limiter.storage.storage)
    assert keys and not any("13900139999" in key for key in keys)


def test_behind_a_proxy_links_and_addresses_come_from_the_forwarded_headers(app, world):
    from evalapp import create_app
    from tests.factories import make_campaign

    campaign = make_campaign(world, "open")
    proxied = create_app({**app.config, "PROXY_HOPS": 1})
    try:
        client = proxied.test_client()
        headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "pingyi.example"}
        client.post("/login", data={"username": "county_officer", "password": PASSWORD}, headers=headers)
        page = client.get(f"/campaigns/{campaign.id}/poster", headers=headers).get_data(as_text=True)
        assert f"https://pingyi.example/campaigns/{campaign.id}" in page
    finally:
        with proxied.app_context():
            db.engine.dispose()  # its own engine: close its connections, or they linger until garbage collection


@pytest.mark.slow
def test_with_redis_unreachable_members_still_sign_in_and_guessing_stays_limited(app, world):
    """In a process of its own, like the test above: a limiter whose Redis does not answer."""
    import json
    import subprocess
    import sys

    db.session.commit()
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}
    probe = """
import json, sys
from evalapp import create_app
app = create_app(json.loads(sys.argv[1]))
statuses = [app.test_client().post("/login", data={"username": "m1", "password": sys.argv[2]}).status_code]
guesser = app.test_client()
statuses += [guesser.post("/login", data={"username": "m2", "password": "wrong"}).status_code for _ in range(6)]
print(json.dumps(statuses))
"""
    run = subprocess.run([sys.executable, "-c", probe, json.dumps(config), PASSWORD], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [302] + [400] * 5 + [429]


def test_with_rate_limits_switched_off_logins_are_not_counted_and_nothing_is_logged(world, client, monkeypatch, caplog):
    from evalapp.core.limits import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # RATELIMIT_ENABLED = False in the instance config
    assert fail_logins(client, "m1", 6) == [400] * 6
    assert client.post("/login", data={"username": "m1", "password": PASSWORD}).status_code == 302
    assert not [record for record in caplog.records if "rate-limit" in record.getMessage()]


@pytest.mark.parametrize(("limit", "attempts", "refused_from"), [("3 per minute", 5, 3), ("60 per minute", 40, None)])
def test_the_sign_in_limit_per_address_is_the_federations_choice(app, world, client, monkeypatch,
                                                                  limit, attempts, refused_from):
    """A meeting of members on one factory Wi-Fi shares an address: the federation sets how many sign-ins it allows."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", limit)
    statuses = [client.post("/login", data={"username": f"1390000{i:04d}", "password": "wrong"}).status_code
                for i in range(attempts)]
    expected = [400] * attempts if refused_from is None else [400] * refused_from + [429] * (attempts - refused_from)
    assert statuses == expected


def test_a_malformed_sign_in_limit_stops_the_start(app):
    from evalapp import create_app

    with pytest.raises(RuntimeError, match="LOGIN_LIMIT_PER_ADDRESS"):
        create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                    "LOGIN_LIMIT_PER_ADDRESS": "lots"})
