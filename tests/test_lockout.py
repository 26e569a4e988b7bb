"""A lock-out cannot stop a member from voting (issue 14, part 4).

Guessing spread over many addresses still locks a login name, but a browser in which the member
has signed in before carries a signed device cookie naming the account: its attempts count against
that browser only (OWASP's device cookies). The lock-out page says what to do, and an unknown name
costs as much time as a known one.
"""
import statistics
import time

from evalapp.core.db import db
from tests.conftest import TEST_PASSWORD

LOCKED = "已暂时锁定"


def attempt(client, username, password, address="198.51.100.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def lock_out_from_many_addresses(app, username):
    """An attacker guessing from 21 addresses, without any device cookie."""
    attacker = app.test_client()
    statuses = [attempt(attacker, username, "wrong", f"10.9.{n // 250}.{n % 250}").status_code for n in range(21)]
    assert statuses[-1] == 429
    return attacker


def members_browser(app, username="m1"):
    """The member's phone: signed in once before (and out again)."""
    browser = app.test_client()
    assert attempt(browser, username, TEST_PASSWORD).status_code == 302
    assert browser.get_cookie("device") is not None, "a successful login leaves a device cookie"
    browser.post("/logout")
    return browser


def test_a_locked_out_member_still_gets_in_from_a_browser_used_before(app, world):
    browser = members_browser(app)
    lock_out_from_many_addresses(app, "m1")
    fresh = app.test_client()
    assert attempt(fresh, "m1", TEST_PASSWORD, "198.51.100.7").status_code == 429, "untrusted clients stay locked"
    assert attempt(browser, "m1", TEST_PASSWORD, "198.51.100.8").status_code == 302
    assert browser.get("/").status_code == 200


def test_guessing_from_a_trusted_browser_locks_that_browser_only(app, world):
    browser = members_browser(app)
    assert [attempt(browser, "m1", "wrong").status_code for _ in range(5)] == [400] * 5
    assert attempt(browser, "m1", TEST_PASSWORD).status_code == 429
    # The name itself is not locked: the member's other phone (same address even) still gets in...
    assert attempt(app.test_client(), "m1", TEST_PASSWORD).status_code == 302
    # ...and the name's own counter was not touched: a guesser elsewhere still has all 20 tries, no more.
    assert lock_out_from_many_addresses(app, "m1")


def test_a_device_cookie_for_another_name_or_a_forged_one_does_not_help(app, world):
    attacker = members_browser(app, "m2")  # the attacker's own account
    lock_out_from_many_addresses(app, "m1")
    assert attempt(attacker, "m1", TEST_PASSWORD).status_code == 429
    forged = app.test_client()
    forged.set_cookie("device", attacker.get_cookie("device").value[:-3] + "AAA")
    assert attempt(forged, "m1", TEST_PASSWORD).status_code == 429


def test_a_successful_login_from_a_trusted_browser_does_not_reset_the_guessers_count(app, world):
    browser = members_browser(app)
    attacker = app.test_client()
    assert {attempt(attacker, "m1", "wrong", f"10.8.0.{n}").status_code for n in range(15)} == {400}
    assert attempt(browser, "m1", TEST_PASSWORD).status_code == 302
    statuses = [attempt(attacker, "m1", "wrong", f"10.8.1.{n}").status_code for n in range(6)]
    assert statuses == [400] * 5 + [429], "the member's login must not give the guesser 20 new tries"


def test_the_lock_out_page_tells_the_member_what_to_do(app, world):
    lock_out_from_many_addresses(app, "m1")
    response = attempt(app.test_client(), "m1", TEST_PASSWORD)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert LOCKED in page
    assert "以前登录过" in page, "says that a browser or phone used before still gets in"
    assert "重新发放激活码" in page, "says whom to ask"
    import re

    assert re.search(r"\d{1,2}:\d{2}", page), "says until when"
    assert "Retry-After" in response.headers


def test_the_device_cookie_is_httponly_long_lived_and_names_no_phone_number(app, world):
    world.members[0].username = "13800138000"
    db.session.commit()
    client = app.test_client()
    response = attempt(client, "13800138000", TEST_PASSWORD)
    [line] = [line for line in response.headers.getlist("Set-Cookie") if line.startswith("device=")]
    assert "HttpOnly" in line and "SameSite=Lax" in line and "Expires=" in line
    assert "13800138000" not in line
    import base64

    payload = line.split("=", 1)[1].split(";")[0].split(".")[0]
    assert b"13800138000" not in base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


def _login_time(client, username, n):
    started = time.perf_counter()
    response = attempt(client, username, "wrong-guess", f"10.7.{n}.1")
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    return elapsed


def test_unknown_and_known_names_take_as_long(app, world, monkeypatch):
    """An unknown name pays one password-hash check against a dummy hash, like a known one.

    The test configuration's cheap hash would drown in the request's own time, so the known
    account gets a hash that costs a few tens of milliseconds, of the method the site is set to.
    """
    from werkzeug.security import generate_password_hash

    method = "pbkdf2:sha256:60000"
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", method)
    world.members[0].password_hash = generate_password_hash(TEST_PASSWORD, method=method)
    db.session.commit()
    client = app.test_client()
    _login_time(client, "m1", 0), _login_time(client, "nobody-1", 0)  # warm up both paths
    # Interleaved, so that a burst of load on a shared machine slows both alike (before: 74 ms vs 7 ms).
    pairs = [(_login_time(client, "m1", n), _login_time(client, "13999999999", n)) for n in range(1, 8)]
    known, unknown = statistics.median(k for k, _ in pairs), statistics.median(u for _, u in pairs)
    assert 0.5 < unknown / known < 2, f"unknown {unknown * 1000:.1f} ms vs known {known * 1000:.1f} ms"


def test_the_phone_a_member_activated_on_is_trusted_too(app, world):
    from evalapp.unions.invitations import issue_invitations

    member = world.members[0].member
    member.phone = "13900139088"
    db.session.commit()
    [issued] = issue_invitations(world.union_a, world.county_officer, [member])
    code = issued.code
    db.session.commit()
    phone = app.test_client()
    response = phone.post("/activate", data={"phone": "13900139088", "code": code, "password": "Gx7-lantern-Quay",
                                             "confirm": "Gx7-lantern-Quay"})
    assert response.status_code == 302
    phone.post("/logout")
    lock_out_from_many_addresses(app, "m1")
    assert attempt(phone, "m1", "Gx7-lantern-Quay").status_code == 302
