"""Logging in and out: landing page, refusals, `next`, inactive accounts and CSRF."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from evalapp import create_app
from evalapp.core.db import db
from tests.conftest import IsolatedClient
from tests.factories import PASSWORD

WRONG_CREDENTIALS = "手机号/登录名或密码不正确。"


def _path(response):
    """The path (with query) a redirect points to; refuses redirects to another site."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), f"redirect leaves the site: {response.headers['Location']}"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _is_logged_out(client):
    response = client.get("/")
    return response.status_code == 302 and _path(response).startswith("/login")


def test_login_lands_on_the_home_page(world, client):
    response = client.post("/login", data={"username": "m1", "password": PASSWORD})
    assert response.status_code == 302
    assert _path(response) == "/"
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "评议活动" in page
    assert "会员1" in page  # the logout button names the logged-in person


def test_login_name_is_case_insensitive_and_trimmed(world, client):
    response = client.post("/login", data={"username": "  City_Officer ", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message_and_no_session(world, client):
    response = client.post("/login", data={"username": "m1", "password": PASSWORD + "x"})
    assert response.status_code == 400
    assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    assert _is_logged_out(client)


def test_unknown_user_gets_the_same_message_as_a_wrong_password(world, client):
    response = client.post("/login", data={"username": "nobody", "password": PASSWORD})
    assert response.status_code == 400
    assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    assert _is_logged_out(client)


def test_empty_login_form_is_refused(world, client):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "请输入手机号或登录名。" in page and "请输入密码。" in page
    assert _is_logged_out(client)


@pytest.mark.parametrize("path", ["/", "/unions/", "/questionnaires/", "/campaigns/1", "/inbox"])
def test_anonymous_visitor_is_sent_to_login(world, client, path):
    response = client.get(path)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [path]


def test_login_page_itself_is_public(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_next_is_followed_for_a_local_path(world, client):
    response = client.post("/login?next=/unions/", data={"username": "city_officer", "password": PASSWORD})
    assert response.status_code == 302
    assert _path(response) == "/unions/"


def test_next_from_the_login_redirect_brings_the_user_back(world, client):
    union_id = world.union_a.id
    bounce = client.get(f"/unions/{union_id}")
    login_url = bounce.headers["Location"]
    response = client.post(login_url, data={"username": "county_officer", "password": PASSWORD})
    assert response.status_code == 302
    assert _path(response) == f"/unions/{union_id}"
    assert client.get(_path(response)).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "//evil.example/login",
                                    "/\\evil.example", "https:/evil.example",
                                    # browsers drop tabs and newlines from URLs, making these "//evil.example"
                                    "/\t/evil.example", "/\n/evil.example"])
def test_external_next_is_not_followed(world, client, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "m1", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil.example" not in location
    assert _path(response) == "/"


def test_logout_is_post_only_and_ends_the_session(world, login):
    client = login("m1")
    assert client.get("/").status_code == 200
    refused = client.get("/logout")
    assert refused.status_code == 405
    assert client.get("/").status_code == 200, "a GET of /logout must not log the user out"
    response = client.post("/logout")
    assert response.status_code == 302
    assert _path(response) == "/login"
    assert "您已退出登录。" in client.get("/login").get_data(as_text=True)
    assert _is_logged_out(client)


def test_inactive_account_cannot_log_in(world, client):
    world.members[0].active = False
    db.session.commit()
    response = client.post("/login", data={"username": "m1", "password": PASSWORD})
    assert response.status_code == 400
    assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    assert _is_logged_out(client)


def test_deactivating_an_account_ends_its_open_session(world, login):
    client = login("m1")
    assert client.get("/").status_code == 200
    world.members[0].active = False
    db.session.commit()
    assert _is_logged_out(client)


@pytest.fixture
def csrf_app(app):
    """A second app on the same database, with CSRF protection switched on."""
    csrf_app = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": True,
        "SECRET_KEY": "x",
        "TESTING": True,
    })
    csrf_app.test_client_class = IsolatedClient
    yield csrf_app
    with csrf_app.app_context():
        db.engine.dispose()


def test_login_post_without_csrf_token_is_refused(world, csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"username": "m1", "password": PASSWORD})
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)
    assert _is_logged_out(client)


def test_login_post_with_the_forms_csrf_token_works(world, csrf_app):
    client = csrf_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"username": "m1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert _path(response) == "/"
    assert client.get("/").status_code == 200


def test_logout_without_csrf_token_is_refused(world, csrf_app):
    client = csrf_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"username": "m1", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_nul_bytes_are_refused_cleanly(world, client, login):
    response = client.post("/login", data={"username": "a\x00b", "password": "x"})
    assert response.status_code == 400
    officer = login("county_officer")
    response = officer.post(f"/unions/{world.union_a.id}/campaigns/new", data={
        "title": "评议\x00", "subject_kind": "chair", "electorate_scope": "union", "template_id": world.form.id})
    assert response.status_code == 400


def test_pages_of_a_logged_in_user_are_never_cached(world, login):
    assert login("m1").get("/").headers["Cache-Control"] == "no-store"


def test_login_names_match_whatever_the_case_or_width(world, client):
    from tests.factories import PASSWORD

    assert client.post("/login", data={"username": " COUNTY_Officer ", "password": PASSWORD}).status_code == 302
    client.post("/logout")
    response = client.post("/login", data={"username": "ｍ１", "password": PASSWORD})  # full-width, as IMEs type it
    assert response.status_code == 302


@pytest.mark.parametrize(("new", "reason"), [
    ("abc", "至少需要 8 个字符"),
    ("12345678", "过于简单"),
    ("87654321", "过于简单"),
    ("abcdefgh", "过于简单"),
    ("aaaaaaaa", "过于简单"),
    ("Password1", "过于简单"),
    ("woaini1314", "过于简单"),
    ("my-Chair-99", "不能包含登录名"),
    ("19900101", "日期"),
])
def test_weak_new_passwords_are_refused_with_the_reason(world, login, new, reason):
    client = login("chair")
    response = client.post("/account/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 400 and reason in response.get_data(as_text=True)
    assert login("chair"), "the old password still works"


def test_a_password_that_only_contains_digits_but_no_date_is_accepted(world, login):
    client = login("chair")
    # Eight random digits are 10⁸ guesses at most: under the strength threshold (see accounts.passwords).
    short = client.post("/account/password", data={"current": PASSWORD, "new": "73915028", "confirm": "73915028"})
    assert short.status_code == 400 and "容易被猜到" in short.get_data(as_text=True)
    response = client.post("/account/password", data={"current": PASSWORD, "new": "7391502864",
                                                       "confirm": "7391502864"})
    assert response.status_code == 302
    assert login("chair", "7391502864")
