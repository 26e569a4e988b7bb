"""Issue 14, part 5 (web): receipts out of the cookie, no trace of a vote's moment, small anonymous
bodies, no 500 from out-of-range integers, printed links from PUBLIC_URL, and the actor of a
publication done by a job."""
import io
import json
import re
import secrets
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select

from evalapp.core.db import db
from tests.conftest import log_in
from tests.factories import add_member, ballot_form, make_campaign
from tests.test_production import large_from_three, log_lines, queue_app, second_app  # noqa: F401

REDIS_URL = "redis://127.0.0.1:6379/0"
PUBLIC_URL = "https://pingyi.example.cn"


def session_cookie(app, client):
    """The Flask session a browser holds, decoded as anyone who reads the cookie can."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    if cookie is None:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def receipt_code(page):
    found = re.search(r'data-code="([0-9a-z]+)"', page)
    return found.group(1) if found else None


# 1. The receipt code never travels in the session cookie ----------------------------------------

def test_the_receipt_code_is_not_in_the_session_cookie_and_is_shown_once(app, world, login):
    campaign = make_campaign(world, "open")
    member = login("m1")
    cast = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3]))
    assert cast.status_code == 302
    after_vote = session_cookie(app, member)
    cookie_after_vote = member.get_cookie("session").value
    page = member.get(cast.headers["Location"]).get_data(as_text=True)
    code = receipt_code(page)
    assert code, "the voter sees the receipt once"
    assert code not in json.dumps(after_vote) and code not in json.dumps(session_cookie(app, member))
    assert receipt_code(member.get(f"/campaigns/{campaign.id}/voted").get_data(as_text=True)) is None
    # A copy of the cookie taken right after the vote (a shared PC, a logging proxy) shows nothing either.
    replay = app.test_client()
    replay.set_cookie("session", cookie_after_vote)
    assert receipt_code(replay.get(f"/campaigns/{campaign.id}/voted").get_data(as_text=True)) is None


@pytest.mark.service
def test_the_receipt_is_kept_in_redis_only_until_shown_and_without_the_voter(app, world, login):
    node = second_app(app, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=f"evalapp-test-{secrets.token_hex(4)}")
    campaign = make_campaign(world, "open")
    redis = Redis.from_url(REDIS_URL)
    with node.app_context():
        member = log_in(node, "m1")
        cast = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3]))
        prefix = node.config["RATELIMIT_KEY_PREFIX"]
        kept = {key: redis.get(key) for key in redis.scan_iter(f"{prefix}:receipt:*")}
        assert len(kept) == 1
        page = member.get(cast.headers["Location"]).get_data(as_text=True)
        kept_value = json.loads(next(iter(kept.values())))
        assert set(kept_value) == {"campaign_id", "code"}, "nothing about the voter"
        assert receipt_code(page) == kept_value["code"]
        assert list(redis.scan_iter(f"{prefix}:receipt:*")) == [], "gone once shown"


def test_a_one_time_value_is_taken_once_expires_and_survives_redis_being_away(app, monkeypatch):
    from evalapp.core import onetime

    token = onetime.put("receipt", {"code": "abc"})
    assert onetime.take("receipt", token) == {"code": "abc"} and onetime.take("receipt", token) is None
    assert onetime.take("other", onetime.put("receipt", 1)) is None, "a token is good for its own kind only"
    stale = onetime.put("receipt", 2, ttl=0)
    assert onetime.take("receipt", stale) is None
    assert onetime.take("receipt", None) is None and onetime.take("receipt", {"x": 1}) is None
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    token = onetime.put("receipt", {"code": "def"})
    assert onetime.take("receipt", token) == {"code": "def"}


# 2. Nothing records the moment of a vote ---------------------------------------------------------

def test_the_voted_page_leaves_no_log_line(world, login, capsys):
    campaign = make_campaign(world, "open")
    member = login("m1")
    capsys.readouterr()
    cast = member.post(f"/campaigns/{campaign.id}/vote", data=ballot_form(campaign, [1, 2, 3]))
    member.get(cast.headers["Location"])
    member.get(f"/campaigns/{campaign.id}")
    paths = [line.get("path", "") for line in log_lines(capsys)]
    assert f"/campaigns/{campaign.id}" in paths, "other pages are still logged"
    assert not [path for path in paths if path.endswith(("/vote", "/voted"))]


def test_the_ballot_rate_limit_key_does_not_name_the_account(app, world):
    from flask_login import login_user

    from evalapp.core.limits import account_key

    account = world.members[0]
    with app.test_request_context("/"):
        login_user(account)
        key = account_key()
        assert key != f"account:{account.id}" and re.fullmatch(r"account:[0-9a-f]{32}", key)
        assert key == account_key(), "one account, one counter"
        login_user(world.members[1])
        assert account_key() != key


REDIS_VOTE_PROBE = """
import json, sys
from redis import Redis
from evalapp import create_app
from evalapp.core.limits import limiter
config, campaign_id, form = json.loads(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
app = create_app(config)
client = app.test_client()
assert client.post("/login", data={"username": "m1", "password": sys.argv[4]}).status_code == 302
assert client.post(f"/campaigns/{campaign_id}/vote", data=form).status_code == 302
redis = Redis.from_url("redis://127.0.0.1:6379/0")
print(json.dumps([key.decode() for key in redis.scan_iter("*" + config["RATELIMIT_KEY_PREFIX"] + "*")]))
with app.app_context():
    limiter.reset()
"""


@pytest.mark.service
@pytest.mark.slow
def test_no_redis_key_names_the_voting_account(app, world):
    """In a process of its own: the limiter is bound to one storage per process."""
    import subprocess
    import sys

    from tests.conftest import TEST_PASSWORD

    campaign = make_campaign(world, "open")
    form = ballot_form(campaign, [1, 2, 3])
    db.session.commit()
    prefix = f"evalapp-test-{secrets.token_hex(4)}"
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x", "TESTING": True,
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "LOG_TO_STDERR": False}
    run = subprocess.run([sys.executable, "-c", REDIS_VOTE_PROBE, json.dumps(config), str(campaign.id),
                          json.dumps(form), TEST_PASSWORD], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert run.returncode == 0, run.stderr
    keys = json.loads(run.stdout.strip().splitlines()[-1])
    assert any("vote" in key for key in keys), f"the ballot limit is counted in Redis: {keys}"
    account_id = world.members[0].id
    assert not [key for key in keys if re.search(rf"(account|user)\D{{0,3}}{account_id}\b", key)], keys


# 3. Anonymous requests may not send large bodies --------------------------------------------------

class CountingStream(io.BytesIO):
    """A request body that remembers whether anyone read it."""

    def __init__(self, size):
        super().__init__(b"a=" + b"x" * (size - 2))
        self.bytes_read = 0

    def read(self, *args):
        data = super().read(*args)
        self.bytes_read += len(data)
        return data

    def readline(self, *args):
        data = super().readline(*args)
        self.bytes_read += len(data)
        return data


def test_an_anonymous_large_post_is_refused_before_its_body_is_read(client):
    body = CountingStream(1024 * 1024)
    response = client.post("/no/such/page", input_stream=body, content_length=1024 * 1024,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "提交的内容过大" in page or "上传的内容超过了大小限制" in page
    assert body.bytes_read == 0


def test_an_anonymous_large_post_without_a_length_is_cut_off(client):
    body = CountingStream(1024 * 1024)
    response = client.post("/login", input_stream=body, content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"}, environ_base={"wsgi.input_terminated": True})
    # Werkzeug reads no further than the anonymous limit: the form arrives cut off, and is refused.
    assert response.status_code in (400, 413)
    assert body.bytes_read <= 64 * 1024


def test_small_anonymous_posts_and_large_signed_in_posts_still_work(world, client, login):
    assert client.post("/login", data={"username": "m1", "password": "correct-horse-9"}).status_code == 302
    officer = login("county_officer")
    # A signed-in officer's upload may be large (the real limit is MAX_CONTENT_LENGTH).
    response = officer.post("/no/such/page", data={"a": "x" * (1024 * 1024)})
    assert response.status_code == 404


def test_anonymous_posts_are_limited_per_address(client):
    statuses = [client.post("/no/such/page", data={"a": "b"}).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    other = client.post("/no/such/page", data={"a": "b"}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 404


# 4. No integer a visitor sends gives a 500 -------------------------------------------------------

HUGE = ["2147483648", "99999999999999999999", "-2147483649"]


def _int_query_arguments():
    names = set()
    for views in Path(__file__).resolve().parent.parent.joinpath("evalapp").rglob("views.py"):
        names.update(re.findall(r"request\.(?:args|values)\.get\(\"(\w+)\"", views.read_text()))
    return sorted((names - {"next"}) | {"page", "union", "campaign", "year", "batch"})


@pytest.mark.slow
def test_out_of_range_integers_give_404_or_400_never_500(app, world, login):
    campaign = make_campaign(world, "published", votes=[[1, 1, 1]] * 5)
    real = {"union_id": world.union_a.id, "campaign_id": campaign.id, "questionnaire_id": world.form.id,
            "item_id": world.form.items[0].id}
    admin, officer = login("admin"), login("county_officer")
    failures = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        int_args = [name for name, converter in rule._converters.items() if "Int" in type(converter).__name__]
        other = {name: "csv" if "extension" == name else "x" for name in rule.arguments if name not in int_args}
        urls = []
        for value in ["2147483647", *HUGE[:2]]:
            urls.append(_build(rule.rule, {**other, **{name: value for name in int_args}}))
        base = _build(rule.rule, {**other, **{name: str(real.get(name, 1)) for name in int_args}})
        for value in HUGE:
            urls.append(base + "?" + "&".join(f"{name}={value}" for name in _int_query_arguments()))
        if "pdf" not in rule.rule:  # one at a time too, so that no argument hides behind another's 404
            urls += [f"{base}?{name}={HUGE[0]}" for name in _int_query_arguments()]
        for url in urls:
            for client in (admin, officer):
                try:
                    status = client.get(url).status_code
                except Exception as error:  # the test app lets errors through: each is a would-be 500
                    status = type(error).__name__
                if not isinstance(status, int) or status >= 500:
                    failures.append((url, status))
    assert failures == []


def _build(rule, values):
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def test_the_lists_answer_404_for_a_union_beyond_the_integer_range(world, login):
    officer = login("county_officer")
    for path in ("/suggestions", "/rectifications/", "/coverage"):
        for value in HUGE:
            assert officer.get(f"{path}?union={value}").status_code in (400, 404), (path, value)


def test_posted_integers_beyond_the_range_are_refused_not_reinterpreted(world, login):
    from evalapp.unions.models import Invitation
    from tests.test_batches import form_data

    add_member(world.union_a, "新会员", phone="13800000009")
    db.session.commit()
    officer = login("county_officer")
    for value in HUGE:
        # Not "no member given", which would mean: new codes for everyone on the roster.
        response = officer.post(f"/unions/{world.union_a.id}/invitations", data={"member_id": value})
        assert response.status_code == 404
        preview = officer.post(f"/unions/{world.county.id}/batches/new",
                               data={**form_data(world, rule="picked", union_ids=value), "preview": "1"})
        assert preview.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


# 5. Printed links come from PUBLIC_URL ---------------------------------------------------------

def test_the_poster_and_the_activation_sheet_link_to_public_url_whatever_the_host(app, world, login, monkeypatch):
    from evalapp.core.qr import qr_svg

    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL + "/")
    campaign = make_campaign(world, "open")
    add_member(world.union_a, "新会员", phone="13800000009")
    db.session.commit()
    evil = {"Host": "evil.example"}
    officer = app.test_client()
    assert officer.post("/login", data={"username": "county_officer", "password": "correct-horse-9"},
                        headers=evil).status_code == 302
    poster = officer.get(f"/campaigns/{campaign.id}/poster", headers=evil).get_data(as_text=True)
    assert f"{PUBLIC_URL}/campaigns/{campaign.id}" in poster and "evil.example" not in poster
    assert qr_svg(f"{PUBLIC_URL}/campaigns/{campaign.id}") in poster
    sheet = officer.post(f"/unions/{world.union_a.id}/invitations", headers=evil).get_data(as_text=True)
    assert f"{PUBLIC_URL}/activate" in sheet and "evil.example" not in sheet


def test_in_production_nothing_is_printed_without_public_url(app, world, login, monkeypatch):
    from evalapp.unions.models import Invitation

    monkeypatch.setitem(app.config, "PRODUCTION", True)
    monkeypatch.setitem(app.config, "PUBLIC_URL", None)
    campaign = make_campaign(world, "open")
    add_member(world.union_a, "新会员", phone="13800000009")
    db.session.commit()
    officer = login("county_officer")
    poster = officer.get(f"/campaigns/{campaign.id}/poster", follow_redirects=True).get_data(as_text=True)
    assert "PUBLIC_URL" in poster and "<svg" not in poster
    sheet = officer.post(f"/unions/{world.union_a.id}/invitations", follow_redirects=True).get_data(as_text=True)
    assert "PUBLIC_URL" in sheet
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0, "no code issued unprinted"


def test_production_is_told_from_the_configuration():
    from evalapp.core.config import is_production

    assert not is_production({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x/y"})
    assert not is_production({"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/evalapp.sqlite"})
    assert is_production({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x/y"})
    assert is_production({"SQLALCHEMY_DATABASE_URI": "sqlite:///x", "REDIS_URL": "redis://r"})
    assert is_production({"SQLALCHEMY_DATABASE_URI": "sqlite:///x", "PRODUCTION": True})
    assert not is_production({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x/y", "PRODUCTION": False})


# 6. A publication done by a job names the officer who asked -----------------------------------

@pytest.mark.service
def test_a_result_counted_by_a_job_is_audited_as_the_officer_who_asked(queue_app, world, large_from_three):  # noqa: F811
    from evalapp.core.audit import AuditEntry

    campaign = make_campaign(world, "closed", votes=[[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    campaign_id, officer_id = campaign.id, world.county_officer.id
    with queue_app.app_context():
        client = log_in(queue_app, "county_officer")
        assert client.post(f"/campaigns/{campaign_id}/actions/count").status_code == 302
        result = queue_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    entries = {entry.action: entry for entry in db.session.scalars(select(AuditEntry))}
    assert {"campaign.count_requested", "result.frozen"} <= set(entries)
    assert entries["result.frozen"].actor_id == officer_id
    assert all(entry.actor_id == officer_id for action, entry in entries.items()
               if action.startswith(("campaign.count", "result.")))



def test_the_health_check_is_not_logged_and_no_log_line_names_an_account(world, login, client, capsys, caplog):
    """The load balancer polls /healthz every few seconds; audit lines say what happened, never to whom."""
    import logging

    capsys.readouterr()
    assert client.get("/healthz").status_code == 200
    assert not [line for line in log_lines(capsys) if line.get("path") == "/healthz"]
    caplog.set_level(logging.INFO, logger="evalapp.core.audit")
    login("county_officer").post(f"/unions/{world.union_a.id}/roles", data={"role": "officer", "username": "m2"})
    audit_lines = [record.getMessage() for record in caplog.records if record.name == "evalapp.core.audit"]
    assert "role.granted Account (audit entry" in " ".join(audit_lines)
    assert all(" by " not in message and "#" not in message for message in audit_lines)


def test_static_files_are_linked_with_a_digest_of_their_content(app, client, tmp_path, monkeypatch):
    """nginx lets browsers keep static files for a year: a release must change their URLs."""
    import re

    from evalapp.core.web import static_version

    page = client.get("/login").get_data(as_text=True)
    [version] = re.findall(r'href="/static/app\.css\?v=([0-9a-f]{10})"', page)
    css = tmp_path / "app.css"
    css.write_bytes(b"body{color:red}")
    assert static_version(str(tmp_path), "app.css") != version
    response = client.get(f"/static/app.css?v={version}")
    response.close()
    assert response.status_code == 200


def test_the_page_nginx_shows_for_a_dead_instance_names_what_the_campaign_page_says_after_a_vote(world, login):
    """A voter whose POST died with its instance must be able to tell whether the ballot was stored."""
    from pathlib import Path

    from tests.factories import vote

    page = (Path(__file__).resolve().parents[1] / "static" / "errors" / "unavailable.html").read_text(encoding="utf-8")
    campaign = make_campaign(world, "open")
    vote(campaign, world.members[0], [0, 0, 0])
    db.session.commit()
    shown = login("m1").get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "您已完成本次评议" in page and "您已完成本次评议" in shown
