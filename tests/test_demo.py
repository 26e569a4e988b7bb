"""The demo data set: campaigns in every state, working demo logins, and no broken page reachable from home."""
import re
import time
from collections import deque
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest
import sqlalchemy as sa

from evalapp.campaigns.models import Campaign, CampaignState
from evalapp.core.audit import verify_chain
from evalapp.core.db import db
from evalapp.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, load_demo
from evalapp.suggestions.models import Suggestion

PAGE_CAP = 150
HREF = re.compile(r'href="(/[^"]*)"')
VOTE_PATH = re.compile(r"^/campaigns/\d+/vote$")
# Loading the demo data takes about two seconds, and the crawl of every page takes more.
pytestmark = pytest.mark.slow

VOTE_REFUSALS = ("本次评议当前不在投票时间内。", "本次评议已截止投票。", "您不在本次评议的参评名单中。",
                 "您已在本次评议中投过票，每人只能投一次。")


@pytest.fixture
def demo(database):
    load_demo()


def test_demo_data_covers_every_state_results_rectifications_and_suggestions(demo):
    states = set(db.session.scalars(sa.select(Campaign.state)))
    assert states == set(CampaignState)

    published = list(db.session.scalars(sa.select(Campaign).where(
        Campaign.state.in_([CampaignState.published, CampaignState.archived]))))
    assert all(c.result is not None for c in published)
    assert any(c.result.grade and c.rectifications for c in published if c.state == CampaignState.published)

    suggestions = list(db.session.scalars(sa.select(Suggestion)))
    assert any(s.response for s in suggestions)
    assert any(not s.response for s in suggestions)
    assert verify_chain() is None


def _links(html):
    for href in HREF.findall(html):
        path = urldefrag(unescape(href))[0]
        if path.startswith(("//", "/static/", "/logout")):
            continue
        yield path


def _crawl(client, cap=PAGE_CAP):
    """Visit every same-site link reachable from "/"; return {path: status} and the problems found."""
    seen, queue, statuses, problems = {"/"}, deque(["/"]), {}, []
    while queue and len(statuses) < cap:
        path = queue.popleft()
        response = client.get(path)
        status = response.status_code
        statuses[path] = status
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        if status in (403, 409) and VOTE_PATH.match(urlsplit(path).path):
            if not any(refusal in body for refusal in VOTE_REFUSALS):
                problems.append((path, status, "vote refused without a reason"))
        elif status not in (200, 302):
            problems.append((path, status, ""))
        if status == 302:
            target = urlsplit(response.headers["Location"])
            assert target.netloc in ("", "localhost"), f"{path} redirects off site"
            links = [target.path + (f"?{target.query}" if target.query else "")]
        else:
            links = _links(body)
        for link in links:
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return statuses, problems


def test_every_page_reachable_as_each_demo_login_works(demo, login):
    started = time.monotonic()
    visited = {}
    for username, _description in DEMO_LOGINS:
        client = login(username, DEMO_PASSWORD)  # asserts the login is accepted
        home = client.get("/")
        assert home.status_code == 200
        assert "退出" in home.get_data(as_text=True)
        if username == "member":
            assert "待您评议" in home.get_data(as_text=True)
        statuses, problems = _crawl(client)
        assert problems == [], f"as {username}: {problems}"
        assert len(statuses) > 3, f"as {username} only {sorted(statuses)} were reachable"
        visited[username] = statuses
    # The walk really reached the interesting pages.
    assert any(re.fullmatch(r"/campaigns/\d+/result", p) for p in visited["officer"])
    assert any(re.fullmatch(r"/rectifications/\d+", p) for p in visited["chair"])
    assert any(VOTE_PATH.match(p) and s == 200 for p, s in visited["member"].items())
    assert any(re.fullmatch(r"/unions/\d+", p) for p in visited["county"])
    assert not any(p.startswith("/unions/") for p in visited["member"])
    assert time.monotonic() - started < 60


def test_loading_the_demo_prints_a_summary_not_a_line_per_step(app, database, capsys):
    result = app.test_cli_runner().invoke(args=["demo", "load-if-empty"])
    assert result.exit_code == 0, result.output
    assert re.search(r"demo data loaded \(\d{3} audit entries\)", result.output)
    printed = result.output + capsys.readouterr().err
    assert "account.created" not in printed and "(audit entry" not in printed


def test_the_development_server_leaves_the_request_line_to_evalapp(app):
    import logging

    server = logging.getLogger("werkzeug")
    request_line = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] %s\n',
                                     ("127.0.0.1", "05/Dec/2026 10:00:00", '"GET / HTTP/1.1" 200 -'), None)
    banner = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, " * Running on %s", ("http://127.0.0.1:5000",),
                               None)
    assert not server.filter(request_line) and server.filter(banner)
