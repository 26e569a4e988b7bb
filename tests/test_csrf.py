"""CSRF: with protection on (the test config turns it off), no POST is acted on without the form's token.

Every POST route of the application is posted by a signed-in account allowed to use it, with a form
that would otherwise succeed, but without a token: the answer is 400, the view never runs, and
nothing changes. The routes and their allowed users come from the access table in
test_access_matrix, which itself fails when a route has no entry.
"""
import functools
import re
from html.parser import HTMLParser

import pytest

from evalapp.core.db import db
from evalapp.core.limits import limiter
from evalapp.unions.models import UnionSector
from tests.conftest import TEST_PASSWORD
from tests.factories import ballot_form, make_campaign
from tests.test_access_matrix import (
    ACCESS,
    ADMIN,
    ANONYMOUS,
    CHAIR,
    CITY_OFFICER,
    COUNTY_OFFICER,
    MEMBER,
    OTHER_OFFICER,
    OUTSIDER,
    changed_parts,
    database_state,
    is_login_redirect,
    matrix_world,
    prepare,
    routes,
)

#: Whom to post as: the first signed-in role the access table allows.
POSTER_PREFERENCE = (COUNTY_OFFICER, CHAIR, MEMBER, CITY_OFFICER, ADMIN, OTHER_OFFICER, OUTSIDER)
POST_ENDPOINTS = sorted(endpoint for endpoint, method in ACCESS if method == "POST")
GET_ENDPOINTS = sorted(endpoint for endpoint, method in ACCESS if method == "GET")


def poster(endpoint, method="POST"):
    """The role to send the request as: the first of POSTER_PREFERENCE that the access table allows."""
    allowed = ACCESS[(endpoint, method)].allowed
    return next((role for role in POSTER_PREFERENCE if role in allowed), ANONYMOUS)


class PostForms(HTMLParser):
    """Collects the POST forms of a page: their action and the names of their hidden inputs with a value."""

    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._current = {"action": attrs.get("action"), "hidden": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("type") == "hidden" and attrs.get("value"):
            self._current["hidden"][attrs.get("name")] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(html):
    parser = PostForms()
    parser.feed(html)
    return parser.forms


def csrf_token_of(form):
    """The form's token: its field is `csrf_token`, or `<prefix>-csrf_token` in a prefixed form."""
    return next((value for name, value in form["hidden"].items() if name and re.fullmatch(r"(.+-)?csrf_token", name)),
                None)


@pytest.fixture(scope="module")
def matrix(app, tmp_path_factory):
    """The access matrix's world and signed-in clients (signed in before protection is turned on)."""
    with matrix_world(app, tmp_path_factory.mktemp("csrf")) as built:
        yield built


@pytest.fixture(autouse=True)
def app_context(matrix, monkeypatch):
    """Replaces conftest's clean database per test (the module shares one world) and turns CSRF on."""
    monkeypatch.setitem(matrix.app.config, "WTF_CSRF_ENABLED", True)
    limiter.reset()
    yield
    db.session.rollback()


@pytest.fixture
def views_run(matrix, monkeypatch):
    """Record which endpoints' view functions run, by wrapping each of them."""
    ran = []

    def recording(endpoint, view):
        @functools.wraps(view)  # keeps the name that CSRF exemptions go by
        def wrapper(*args, **kwargs):
            ran.append(endpoint)
            return view(*args, **kwargs)

        return wrapper

    for endpoint, view in list(matrix.app.view_functions.items()):
        monkeypatch.setitem(matrix.app.view_functions, endpoint, recording(endpoint, view))
    return ran


def test_every_post_route_is_covered(matrix):
    assert {endpoint for endpoint, method in routes(matrix.app) if method == "POST"} == set(POST_ENDPOINTS)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_a_post_without_the_token_is_refused_and_changes_nothing(matrix, views_run, endpoint):
    case, role = ACCESS[(endpoint, "POST")], poster(endpoint)
    app = matrix.app
    path, data = prepare(case, matrix.world, True, matrix.shared)
    client = signed_in_client(app, role) if case.ends_session else matrix.clients[role]
    before = database_state(app)
    response = client.post(path, data=data)
    after = database_state(app)
    label = f"POST {path} as {role} without a CSRF token"
    assert response.status_code == 400, f"{label}: got {response.status_code}"
    assert endpoint not in views_run, f"{label}: the view ran"
    assert before == after, f"{label}: changed {changed_parts(before, after)}"
    if case.ends_session:
        assert not is_login_redirect(client.get("/inbox")), f"{label}: signed the account out"


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_every_post_form_on_a_page_carries_a_token(matrix, endpoint):
    case = ACCESS[(endpoint, "GET")]
    role = poster(endpoint, "GET")
    path, _ = prepare(case, matrix.world, True, matrix.shared)
    response = matrix.clients[role].get(path)
    if response.mimetype != "text/html":
        return
    missing = [form["action"] for form in post_forms(response.get_data(as_text=True)) if csrf_token_of(form) is None]
    assert not missing, f"GET {path} as {role}: forms posting to {missing} have no CSRF token"


#: Form pages, whom to show them to, and a form on them that should go through with its token:
#: build(world) returns (page, the form's action, the form's fields).
FORM_PAGES = {
    "duty report editor": (CHAIR, lambda world: (
        f"/campaigns/{world.reporting.id}/report", f"/campaigns/{world.reporting.id}/report",
        {"body": "<p>带令牌保存的述职报告。</p>"})),
    "union page": (COUNTY_OFFICER, lambda world: (f"/unions/{world.union_a.id}", f"/unions/{world.union_a.id}/sector", {
        "sector": next(sector for sector in UnionSector if sector != world.union_a.sector).value})),
    "notification settings": (MEMBER, lambda world: (
        "/account/notifications", "/account/notifications", {"email": "member@example.org"})),
    "ballot": (MEMBER, lambda world: ballot_page(make_campaign(world, "open"))),
}


def ballot_page(campaign):
    return f"/campaigns/{campaign.id}/vote", f"/campaigns/{campaign.id}/vote", ballot_form(campaign, [1, 1, 1])


def signed_in_client(app, role):
    """Sign in through the login page, with the token it carries."""
    client = app.test_client()
    [form] = post_forms(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": role, "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token_of(form)})
    assert response.status_code == 302 and not is_login_redirect(response), f"login as {role} failed"
    return client


@pytest.mark.parametrize("name", FORM_PAGES)
def test_a_form_page_carries_the_token_its_form_needs(matrix, name):
    """The hidden token on the page is what lets its form through (so the refusals above are CSRF's)."""
    role, build = FORM_PAGES[name]
    client = matrix.clients[role]
    page, action, data = build(matrix.world)
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    form = next((form for form in post_forms(html) if (form["action"] or page) == action), None)
    assert form is not None, f"{page} has no form posting to {action}"
    token = csrf_token_of(form)
    assert token, f"the form posting to {action} on {page} has no hidden csrf_token input"

    before = database_state(matrix.app)
    assert client.post(action, data=data).status_code == 400
    assert database_state(matrix.app) == before
    response = client.post(action, data=data | {"csrf_token": token})
    assert response.status_code == 302, f"POST {action} with the page's token: got {response.status_code}"
    assert database_state(matrix.app) != before, f"POST {action} with the page's token changed nothing"


def test_the_login_form_is_protected(matrix):
    """A login without the token does not sign in: another site cannot sign a visitor into its own account."""
    app = matrix.app
    client = app.test_client()
    credentials = {"username": MEMBER, "password": TEST_PASSWORD}
    assert client.post("/login", data=credentials).status_code == 400
    assert is_login_redirect(client.get("/inbox")), "signed in without a CSRF token"

    [form] = post_forms(client.get("/login").get_data(as_text=True))
    token = csrf_token_of(form)
    assert token
    stranger = app.test_client()
    stranger.get("/login")
    assert stranger.post("/login", data=credentials | {"csrf_token": token}).status_code == 400, \
        "a token from another visitor's session was accepted"
    assert is_login_redirect(stranger.get("/inbox"))

    response = client.post("/login", data=credentials | {"csrf_token": token})
    assert response.status_code == 302 and not is_login_redirect(response)
    assert client.get("/inbox").status_code == 200
