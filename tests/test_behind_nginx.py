"""Downloads behind a real nginx (started by the test) with X-Accel-Redirect, as docs/deployment.md sets it up:
a file named in Chinese arrives under its name, and the upload modes decide whether nginx's own user
may read it (0600 in 0700 folders answered 403)."""
import grp
import http.cookies
import os
import shutil
import socket
import subprocess  # nosec B404: runs nginx
import tempfile
import threading
import time
from pathlib import Path

import pytest
import urllib3
from werkzeug.http import parse_options_header
from werkzeug.serving import make_server

from evalapp.core.db import db
from evalapp.duty_reports.models import ReportFile
from tests.builders import docx
from tests.conftest import TEST_PASSWORD
from tests.factories import make_campaign

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROOT = Path(__file__).resolve().parents[1]
NAME = "述职报告（终稿）2026.docx"
pytestmark = [pytest.mark.service, pytest.mark.slow]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """nginx in front of `upstream`, serving /_uploads/ from `uploads` to X-Accel-Redirect only; or
    with `servers` of the caller's own, listening on `port`."""

    def __init__(self, folder, upstream=None, uploads=None, *, servers=None, port=None):
        self.port, self.folder = port or free_port(), folder
        user = "user www-data www-data;" if os.geteuid() == 0 else ""
        servers = servers or f"""
    server {{
        listen 127.0.0.1:{self.port};
        location /_uploads/ {{ internal; alias {uploads}/; }}
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
        }}
    }}"""
        (folder / "nginx.conf").write_text(f"""
{user}
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy; fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
{servers}
}}
""")
        self.process = subprocess.Popen([NGINX, "-c", str(folder / "nginx.conf"), "-p", str(folder)],  # nosec B603
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        log = folder / "error.log"
        raise RuntimeError(f"nginx did not start: {log.read_text() if log.exists() else ''}")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        self.process.stdout.close()


@pytest.fixture
def served(app):
    """The app on a local port of its own (werkzeug), for nginx to proxy to."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture
def folder():
    """A folder nginx's own user can reach (pytest's temporary folders are private to this user)."""
    path = Path(tempfile.mkdtemp(prefix="evalapp-nginx-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def signed_in_get(port, username, path):
    """Sign in through nginx with the login form, then GET `path` with the session cookie."""
    pool = urllib3.PoolManager()
    base = f"http://127.0.0.1:{port}"
    login = pool.request("POST", f"{base}/login", fields={"username": username, "password": TEST_PASSWORD},
                         encode_multipart=False, redirect=False)
    assert login.status == 302, login.data[:300]
    jar = http.cookies.SimpleCookie()
    for header in login.headers.getlist("Set-Cookie"):
        jar.load(header)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    return pool.request("GET", f"{base}{path}", headers={"Cookie": cookie}, redirect=False)


def uploaded_attachment(world, login):
    from tests.test_duty_reports import upload

    campaign = make_campaign(world, "reporting")
    assert upload(login("chair"), campaign, "attachments", docx(), NAME).status_code == 302
    return campaign, db.session.scalar(db.select(ReportFile).where(ReportFile.kind == "attachment"))


@pytest.mark.parametrize("modes", ["shared with nginx's group", "private to the app's user"])
def test_a_file_named_in_chinese_arrives_through_nginx_under_its_name_when_the_modes_let_nginx_read_it(
        app, world, login, served, folder, monkeypatch, modes):
    uploads = folder / "uploads"
    uploads.mkdir()
    shared = modes.startswith("shared")
    if shared:
        if os.geteuid() == 0:  # the group nginx's user is in; files inherit it from the setgid folder
            os.chown(uploads, -1, grp.getgrnam("www-data").gr_gid)
        uploads.chmod(0o2750)
    else:
        uploads.chmod(0o700)
    for key, value in {"UPLOAD_FOLDER": str(uploads), "UPLOADS_ACCEL_PREFIX": "/_uploads/",
                       "UPLOAD_FILE_MODE": 0o640 if shared else 0o600,
                       "UPLOAD_DIR_MODE": 0o2750 if shared else 0o700}.items():
        monkeypatch.setitem(app.config, key, value)
    campaign, file = uploaded_attachment(world, login)
    nginx = Nginx(folder, served, uploads)
    try:
        response = signed_in_get(nginx.port, "chair", f"/campaigns/{campaign.id}/report/files/{file.id}")
    finally:
        nginx.stop()
    if shared or os.geteuid() != 0:
        assert response.status == 200, (response.status, (folder / "error.log").read_text()[-500:])
        assert response.data == docx()
        disposition = response.headers["Content-Disposition"]
        disposition.encode("ascii")
        assert parse_options_header(disposition)[1]["filename"] == NAME
        assert "X-Accel-Redirect" not in response.headers                      # nginx consumed it
    else:
        # What the issue found: files written 0600 in 0700 folders are out of nginx's reach.
        assert response.status == 403
        assert "Permission denied" in (folder / "error.log").read_text()


# The guide's own site (docs/deployment.md, step 7), with this test's ports and paths -----------------

def guide_site(folder, tls_port, live, dead):
    from tests.test_deployment_guide import guide

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",  # nosec
                    "/CN=pingyi.example.cn", "-addext", "subjectAltName=DNS:pingyi.example.cn",
                    "-keyout", str(folder / "privkey.pem"), "-out",
                    str(folder / "fullchain.pem")], check=True, capture_output=True)
    site = guide.written_file("/etc/nginx/sites-available/evalapp")
    for written, here in {"listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
                          "listen 80;": f"listen 127.0.0.1:{free_port()};",
                          "127.0.0.1:8001": f"127.0.0.1:{live}", "127.0.0.1:8002": f"127.0.0.1:{dead}",
                          "/etc/ssl/evalapp/": f"{folder}/", "/var/log/nginx/": f"{folder}/",
                          "/srv/evalapp/app/static": str(ROOT / "static"),
                          "/srv/evalapp/app/instance/uploads/": f"{folder}/"}.items():
        assert written in site
        site = site.replace(written, here)
    return site


def test_the_guides_site_survives_a_dead_instance_logs_no_vote_and_shows_the_retry_page_when_all_are_down(
        app, world, folder):
    live = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=live.serve_forever, daemon=True).start()
    nginx = Nginx(folder, servers=guide_site(folder, tls_port := free_port(), live.server_port, free_port()),
                  port=tls_port)
    pool = urllib3.PoolManager(ca_certs=str(folder / "fullchain.pem"), server_hostname="pingyi.example.cn",
                               retries=False)
    base, host = f"https://127.0.0.1:{tls_port}", {"Host": "pingyi.example.cn"}
    campaign = make_campaign(world, "open")
    vote = f"/campaigns/{campaign.id}/vote"
    try:
        # One instance refuses connections: every request, a POST included, is served by the other.
        answers = [pool.request("GET", f"{base}/healthz", headers=host).status for _ in range(6)]
        answers.append(pool.request("POST", f"{base}/login", headers=host, fields={"username": "m1"},
                                    encode_multipart=False).status)
        assert answers == [200] * 6 + [400]                # the app's own answer (no CSRF token), not nginx's
        # The moment of voting leaves nothing in nginx's logs: not the ballot, not the receipt page,
        # not the vote page's stylesheet (whose Referer is the vote page).
        pool.request("GET", f"{base}{vote}", headers=host)
        pool.request("GET", f"{base}/campaigns/{campaign.id}/voted", headers=host)
        pool.request("GET", f"{base}/static/app.css", headers={**host, "Referer": f"https://pingyi.example.cn{vote}"})
        # Both instances down: a ballot in flight gets the page telling the voter how to check it was stored.
        live.shutdown()
        live.server_close()
        down = pool.request("POST", f"{base}{vote}", headers=host, fields={"q1": "1"}, encode_multipart=False)
        assert down.status == 502
        assert "如果您刚才提交的是评议投票" in down.data.decode() and "您已完成本次评议" in down.data.decode()
    finally:
        nginx.stop()
    access = (folder / "evalapp.access.log").read_text()
    assert "/healthz" in access and "/static/app.css" in access
    assert "/vote" not in access and "/voted" not in access
    error_log = folder / "evalapp.error.log"
    assert "vote" not in (error_log.read_text() if error_log.exists() else "")   # upstream failures name requests
