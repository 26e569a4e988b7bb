"""Two gunicorn instances on different ports, one database and one Redis, behave as one service.

This is the scale-out set-up of docs/deployment.md on one machine: a member signs in on one
instance and goes on on the other (as a load balancer without sticky sessions would send them),
votes once in all, and a password guesser is locked out on both.
"""
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from redis import Redis

from evalapp.core.db import db
from evalapp.voting.models import Ballot, Participation
from evalapp.voting.operations import ALREADY_VOTED
from tests.conftest import TEST_PASSWORD
from tests.factories import ballot_form, make_campaign

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.service

REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def instances(app, tmp_path_factory):
    """Start two gunicorn instances on the test database (once per backend); yield their base URLs."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    prefix = f"evalapp-two-{secrets.token_hex(4)}"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": secrets.token_hex(16),
           "REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix, "JOBS_QUEUE": prefix,
           "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2"}  # JSON logs, as in production
    servers, urls, logs = [], [], []
    for _ in range(2):
        port = free_port()
        logs.append(open(tmp_path / f"gunicorn-{port}.log", "wb"))
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL, stderr=logs[-1]))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, server in zip(urls, servers):
            _wait_until_healthy(url, server)
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server, log in zip(servers, logs):
            server.wait(15)
            log.close()
        connection = Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def _wait_until_healthy(url, server, seconds=120):  # a loaded CI machine imports slowly
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn stopped while starting"
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser: a cookie jar used against whichever instance a request goes to."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects())

    def request(self, url, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def form_token(self, url):
        status, _, page = self.request(url)
        assert status == 200, f"{url} answered {status}"
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)

    def log_in(self, base, username, password=TEST_PASSWORD):
        token = self.form_token(base + "/login")
        return self.request(base + "/login", {"csrf_token": token, "username": username, "password": password})


def test_a_member_signs_in_on_one_instance_votes_on_the_other_and_only_once(instances, world):
    first, second = instances
    campaign = make_campaign(world, "open")
    db.session.commit()
    member = Browser()
    status, headers, _ = member.log_in(first, "m1")
    assert status == 302 and "/login" not in headers["Location"]
    vote_page = f"/campaigns/{campaign.id}/vote"
    token = member.form_token(second + vote_page)  # the session made on the first is valid on the second
    status, headers, _ = member.request(second + vote_page, {"csrf_token": token, **ballot_form(campaign, [1, 2, 3])})
    assert status == 302 and headers["Location"].endswith(f"/campaigns/{campaign.id}/voted")
    status, _, receipt_page = member.request(first + f"/campaigns/{campaign.id}/voted")
    assert status == 200 and re.search(r'class="receipt"[^>]*data-code="[0-9a-f]{16}"', receipt_page), \
        "the receipt, kept in Redis (only its token in the session), shows on the other instance"
    again, _, page = member.request(first + vote_page, {"csrf_token": token, **ballot_form(campaign, [3, 3, 3])})
    assert again == 409 and ALREADY_VOTED in page
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Participation)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Ballot)) == 1


def test_failed_logins_count_across_instances(instances, world):
    first, second = instances
    guesser = Browser()
    for attempt in range(5):
        status, _, _ = guesser.log_in(instances[attempt % 2], "m2", "wrong-password-1")
        assert status == 400
    status, _, page = Browser().log_in(second, "m2")
    assert status != 302, "the right password must not get in once the name is locked out, on either instance"
    status, _, _ = Browser().log_in(first, "m3")
    assert status == 302, "other names are not affected"


def test_a_logout_on_one_instance_ends_the_session_on_both(instances, world):
    first, second = instances
    member = Browser()
    assert member.log_in(first, "m4")[0] == 302
    token = member.form_token(second + "/account/password")
    assert member.request(second + "/logout", {"csrf_token": token})[0] == 302
    status, headers, _ = member.request(first + "/")
    assert status == 302 and "/login" in headers["Location"]
