"""Sessions that end: a copied session or remember cookie stops working when the account logs out,
changes or resets its password, or is deactivated; logins start a fresh session; cookies are Secure
over HTTPS (behind the proxy too) and SameSite everywhere (issue 14, part 3)."""
import re

import pytest
from sqlalchemy import select

from evalapp import create_app
from evalapp.accounts.models import Account
from evalapp.core.db import db
from evalapp.unions.invitations import activate, issue_invitations
from tests.conftest import TEST_PASSWORD, IsolatedClient

NEW_PASSWORD = "Gx7-lantern-Quay"


def signed_in(app, username="m1", remember=False):
    client = app.test_client()
    data = {"username": username, "password": TEST_PASSWORD} | ({"remember": "y"} if remember else {})
    assert client.post("/login", data=data).status_code == 302
    return client


def cookie(client, name):
    found = client.get_cookie(name)
    return None if found is None else found.value


def replay(app, **cookies):
    """A stranger's browser carrying copies of someone's cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def is_signed_in(client):
    return client.get("/").status_code == 200


def stolen_cookies(app, username="m1"):
    """A signed-in, remembered browser, and copies of its session and remember cookies."""
    client = signed_in(app, username, remember=True)
    assert is_signed_in(client)
    session, remember = cookie(client, "session"), cookie(client, "remember_token")
    assert session and remember
    assert is_signed_in(replay(app, session=session)) and is_signed_in(replay(app, remember_token=remember))
    return client, session, remember


def assert_all_ended(app, session, remember):
    assert not is_signed_in(replay(app, session=session)), "a copied session cookie still signs in"
    assert not is_signed_in(replay(app, remember_token=remember)), "a copied remember cookie still signs in"


def test_logout_ends_every_session_and_remember_cookie_of_the_account(app, world):
    client, session, remember = stolen_cookies(app)
    elsewhere = signed_in(app)  # the same member on another device
    assert client.post("/logout").status_code == 302
    assert_all_ended(app, session, remember)
    assert not is_signed_in(elsewhere), "logout ends the account's sessions on every device"
    assert is_signed_in(signed_in(app)), "the member can sign in again"


def test_a_password_change_ends_every_other_session_and_keeps_the_changer_signed_in(app, world):
    client, session, remember = stolen_cookies(app)
    changer = signed_in(app)
    response = changer.post("/account/password", data={"current": TEST_PASSWORD, "new": NEW_PASSWORD,
                                                        "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert_all_ended(app, session, remember)
    assert not is_signed_in(client)
    assert is_signed_in(changer), "whoever changed the password stays signed in"


def test_a_reset_by_activation_code_ends_every_session_of_the_account(app, world, client):
    member = world.members[0].member
    member.phone = "13900139077"
    db.session.commit()
    _, session, remember = stolen_cookies(app)
    [issued] = issue_invitations(world.union_a, world.county_officer, [member])
    code = issued.code
    db.session.commit()
    response = client.post("/activate", data={"phone": "13900139077", "code": code, "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert_all_ended(app, session, remember)
    assert is_signed_in(client), "the member who used the code is signed in"


def test_the_activate_operation_itself_ends_the_sessions(app, world):
    """Whatever calls it (a page, an API), activation with a code rotates the account's session token."""
    member = world.members[0].member
    member.phone = "13900139078"
    db.session.commit()
    _, session, remember = stolen_cookies(app)
    [issued] = issue_invitations(world.union_a, world.county_officer, [member])
    code = issued.code
    activate("13900139078", code, NEW_PASSWORD)
    db.session.commit()
    assert_all_ended(app, session, remember)


def test_deactivation_ends_every_session_even_after_reactivation(app, world):
    from evalapp.accounts.operations import deactivate_account

    _, session, remember = stolen_cookies(app)
    deactivate_account(world.admin, world.members[0])
    db.session.commit()
    assert_all_ended(app, session, remember)
    world.members[0].active = True  # reactivated later: the old cookies stay dead
    db.session.commit()
    assert_all_ended(app, session, remember)


def test_a_remember_cookie_of_an_earlier_login_differs_after_the_account_logged_out(app, world):
    first = cookie(signed_in(app, remember=True), "remember_token")
    signed_in(app).post("/logout")
    second = cookie(signed_in(app, remember=True), "remember_token")
    assert first != second, "the remember token must rotate"


def test_a_session_id_without_the_current_token_is_refused(app, world):
    """The old `id|HMAC(id)` remember cookie, forged with the key, no longer names a session."""
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        forged = encode_cookie(str(world.members[0].id))
    assert not is_signed_in(replay(app, remember_token=forged))


@pytest.fixture
def csrf_app(app):
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
                        "TESTING": True, "WTF_CSRF_ENABLED": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.engine.dispose()


def session_of(app, client):
    return app.session_interface.get_signing_serializer(app).loads(cookie(client, "session"))


def csrf_form_token(client, path="/login"):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_login_starts_a_fresh_session_and_a_new_csrf_token(csrf_app, world):
    client = csrf_app.test_client()
    token = csrf_form_token(client)
    before = session_of(csrf_app, client)
    planted = cookie(client, "session")
    # An attacker who planted this pre-login cookie in the victim's browser keeps a copy of it.
    response = client.post("/login", data={"username": "m1", "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    after = session_of(csrf_app, client)
    assert after.get("csrf_token") != before["csrf_token"]
    assert cookie(client, "session") != planted
    fresh = csrf_form_token(client, "/account/password")
    assert fresh != token, "the CSRF token must change at login"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400, "the pre-login token is dead"
    assert not is_signed_in(replay(csrf_app, session=planted))


def test_behind_an_https_proxy_every_cookie_is_secure_and_samesite(app, world):
    proxied = create_app({**app.config, "PROXY_HOPS": 1, "PUBLIC_URL": None, "SESSION_COOKIE_SECURE": None})
    try:
        assert not proxied.config["SESSION_COOKIE_SECURE"], "no PUBLIC_URL: the configuration does not force it"
        client = proxied.test_client()
        https = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        response = client.post("/login", data={"username": "m1", "password": TEST_PASSWORD, "remember": "y"},
                               headers=https)
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")
        names = {line.split("=", 1)[0] for line in cookies}
        assert {"session", "remember_token"} <= names
        for line in cookies:
            assert "; Secure" in line, f"not Secure over HTTPS: {line}"
            assert "SameSite=Lax" in line, f"no SameSite: {line}"
            assert "HttpOnly" in line, f"readable by scripts: {line}"
        logout = client.post("/logout", headers=https)
        assert all("; Secure" in line and "SameSite" in line for line in logout.headers.getlist("Set-Cookie"))
        plain = proxied.test_client().post("/login", data={"username": "m2", "password": TEST_PASSWORD},
                                           headers={"X-Forwarded-Proto": "http"})
        assert all("; Secure" not in line and "SameSite=Lax" in line for line in plain.headers.getlist("Set-Cookie"))
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_existing_accounts_get_distinct_session_tokens(world):
    tokens = db.session.scalars(select(Account.session_token)).all()
    assert all(tokens) and len(set(tokens)) == len(tokens)


def test_the_operator_ends_sessions_or_deactivates_from_the_command_line(app, world):
    from evalapp.accounts.cli import accounts_cli

    runner = app.test_cli_runner()
    _, session, remember = stolen_cookies(app, "m1")
    result = runner.invoke(accounts_cli, ["sign-out", "M1"])
    assert result.exit_code == 0, result.output
    assert_all_ended(app, session, remember)
    assert is_signed_in(signed_in(app, "m1")), "signing out is not a deactivation"

    _, session, remember = stolen_cookies(app, "m2")
    result = runner.invoke(accounts_cli, ["deactivate", "m2"])
    assert result.exit_code == 0, result.output
    assert_all_ended(app, session, remember)
    assert app.test_client().post("/login", data={"username": "m2", "password": TEST_PASSWORD}).status_code == 400
    assert runner.invoke(accounts_cli, ["deactivate", "nobody"]).exit_code != 0


def test_only_an_administrator_deactivates_an_account(world):
    from evalapp.accounts.operations import deactivate_account
    from evalapp.core.errors import Refused

    with pytest.raises(Refused):
        deactivate_account(world.county_officer, world.members[0])
    with pytest.raises(Refused):
        deactivate_account(world.admin, world.admin)


def test_each_login_issues_its_own_remember_cookie_which_expires_on_the_server(app, world, monkeypatch):
    import evalapp.accounts.models as models

    now = models._now()
    monkeypatch.setattr(models, "_now", lambda: now)
    first = cookie(signed_in(app, remember=True), "remember_token")
    monkeypatch.setattr(models, "_now", lambda: now + 60)
    second = cookie(signed_in(app, remember=True), "remember_token")
    assert first != second, "every login issues a remember token of its own"
    assert is_signed_in(replay(app, remember_token=first)) and is_signed_in(replay(app, remember_token=second))
    # A copy kept past REMEMBER_COOKIE_DURATION is refused by the server, whatever the browser keeps.
    lifetime = app.config["REMEMBER_COOKIE_DURATION"].total_seconds()
    monkeypatch.setattr(models, "_now", lambda: now + lifetime + 30)
    assert not is_signed_in(replay(app, remember_token=first))
    assert is_signed_in(replay(app, remember_token=second))
