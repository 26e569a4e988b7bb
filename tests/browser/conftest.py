"""Browser fixtures: the real app served on a free local port, and Debian's chromium driven by Playwright.

The app runs as deployed (CSRF and rate limits on) in a background thread, on a database of its own:
a temporary SQLite file (an in-memory database is not shared between threads), and a PostgreSQL
schema as well when EVALAPP_TEST_POSTGRES is set. The root conftest's autouse fixture empties that
database after every test, as it does for the other tests.

Playwright never downloads a browser here: it launches the chromium of Debian's `chromium` package
(EVALAPP_CHROMIUM overrides the path). Screenshots go to test-artifacts/screenshots/<backend>/.
"""
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import got_request_exception
from flask_migrate import upgrade
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from evalapp import create_app
from evalapp.core.db import db
from tests.conftest import BACKENDS, _postgres_schema_url, skip_disk_sync
from tests.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("EVALAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    # Any host but the live server fails at once: the tests never reach the internet, and a third-party
    # asset slipped into a template shows up as a request to another host (see foreign_requests).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

#: The in-app browser of WeChat on an Android phone, where most members open the campaign link.
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/130.0.6723.103 Mobile Safari/537.36 XWEB/1300289 MMWEBSDK/20240404 "
    "MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64"
)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": WECHAT_USER_AGENT,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
#: Chrome DevTools' throttling presets (round-trip latency in ms, throughput in bytes/s). Setting
#: EVALAPP_BROWSER_NETWORK to one of them times the member's journey over that network (slower).
NETWORKS = {
    "slow-4g": {"latency": 562.5, "downloadThroughput": 1.6e6 * 0.9 / 8, "uploadThroughput": 750e3 * 0.9 / 8},
    "slow-3g": {"latency": 2000, "downloadThroughput": 500e3 * 0.8 / 8, "uploadThroughput": 500e3 * 0.8 / 8},
}
NETWORK = os.environ.get("EVALAPP_BROWSER_NETWORK") or None
if NETWORK and NETWORK not in NETWORKS:
    raise ValueError(f"EVALAPP_BROWSER_NETWORK must be one of {', '.join(NETWORKS)}")
#: How long a step may take before the test fails: generous on a throttled network.
STEP_TIMEOUT_MS = 60_000 if NETWORK else 10_000
expect.set_options(timeout=STEP_TIMEOUT_MS)
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    """The application with the protections a real visitor meets: CSRF tokens and rate limits stay on."""
    admin_engine = schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'browser.sqlite'}"
    else:
        url, admin_engine, schema = _postgres_schema_url()
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "browser-test-secret",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "JOBS_INLINE": True,
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("browser-uploads")),
    })
    assert app.config["WTF_CSRF_ENABLED"] and app.config.get("RATELIMIT_ENABLED", True)
    app.backend = request.param
    with app.app_context():
        skip_disk_sync(app)
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    if admin_engine is not None:
        with admin_engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin_engine.dispose()


@dataclass
class LiveServer:
    url: str
    #: Exceptions raised while the server handled a request (each one also answered 500).
    errors: list = field(default_factory=list)


@pytest.fixture(scope="session")
def live_server(app):
    """Serve `app` with werkzeug on 127.0.0.1 and a free port, in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(f"http://127.0.0.1:{server.server_port}")
    # On PostgreSQL the app counts as a production set-up, which prints codes and posters only with
    # its public address configured: here, the live server's.
    app.config["PUBLIC_URL"] = live.url

    def record(_sender, exception, **_extra):
        live.errors.append(exception)

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield live
    server.shutdown()
    thread.join()
    server.server_close()
    got_request_exception.disconnect(record, app)


@pytest.fixture(autouse=True)
def _no_server_errors(live_server):
    live_server.errors.clear()
    yield
    assert not live_server.errors, f"the server failed while handling a request: {live_server.errors!r}"


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole run; every test gets fresh contexts (cookies, cache) in it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no chromium at {CHROMIUM}: ./scripts/test installs Debian's chromium, "
                    "or set EVALAPP_CHROMIUM to the browser's path")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except BaseException:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


class Visit:
    """One person's browser tab, counting what they do: page loads, taps, and every request it made."""

    def __init__(self, context, server_url, screenshot_folder, touch):
        self.context = context
        self.touch = touch
        self.server_url = server_url
        self.screenshot_folder = screenshot_folder
        self.page = context.new_page()
        self.loads = 0
        self.taps = 0
        self.requests = []
        #: Seconds the test spent looking (screenshots, layout checks), not the person using the page.
        self.looking = 0.0
        self.page.on("load", self._count_load)
        context.on("request", self._record_request)

    def _count_load(self, _page):
        self.loads += 1

    def _record_request(self, request):
        self.requests.append(request)

    def open(self, path):
        """Open a link from outside the app (a QR code, a chat message)."""
        return self.page.goto(self.server_url + path)

    def tap(self, locator):
        """Tap (a phone) or click (a desktop) on what `locator` finds."""
        if self.touch:
            locator.tap()
        else:
            locator.click()
        self.taps += 1

    def type_into(self, locator, text):
        """Tap a field, then type into it, as a person does."""
        self.tap(locator)
        locator.fill(text)

    def log_in(self, username, password=PASSWORD):
        """Fill in the login page that is showing, and send it."""
        expect(self.page.get_by_role("heading", name="登录")).to_be_visible()
        self.type_into(self.page.get_by_label("手机号或登录名"), username)
        self.type_into(self.page.get_by_label("密码", exact=True), password)
        self.tap(self.page.get_by_role("button", name="登录"))

    def answer_every_item(self, free_text="希望多组织职工技能培训。"):
        """Answer each question of the voting page: its first option, or a sentence where it asks for text."""
        questions = self.page.locator("form").get_by_role("group")
        assert questions.count() > 0, "the voting page shows no questions"
        for index in range(questions.count()):
            question = questions.nth(index)
            options = question.locator("label").filter(has=self.page.locator("input[type=radio], input[type=checkbox]"))
            if options.count():
                self.tap(options.first)
                expect(options.first.locator("input")).to_be_checked()
            else:
                self.type_into(question.locator("textarea, input[type=text]").first, free_text)
        return questions.count()

    def first_visit(self):
        """Load everything afresh, as on a first visit (the chat app's browser keeps little), over the
        network named by EVALAPP_BROWSER_NETWORK if any; return that network's name."""
        session = self.context.new_cdp_session(self.page)
        session.send("Network.enable")
        session.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if NETWORK:
            session.send("Network.emulateNetworkConditions", {"offline": False, **NETWORKS[NETWORK]})
        return NETWORK or "loopback"

    def fits_width(self):
        """Whether the page shows without horizontal scrolling.

        Compared with the layout viewport (clientWidth), not window.innerWidth: a mobile browser zooms
        out to show content that is too wide, and innerWidth grows with it, hiding the overflow.
        """
        started = time.perf_counter()
        fits = self.page.evaluate("document.scrollingElement.scrollWidth <= document.documentElement.clientWidth")
        self.looking += time.perf_counter() - started
        return fits

    def screenshot(self, name, full_page=True):
        """Keep a PNG of the page (or of what the screen shows now) under test-artifacts/screenshots/."""
        started = time.perf_counter()
        self.screenshot_folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.screenshot_folder / f"{name}.png", full_page=full_page)
        self.looking += time.perf_counter() - started

    def foreign_requests(self):
        """Every request that went anywhere but the app's own server."""
        own = urlsplit(self.server_url).netloc
        return [r.url for r in self.requests if urlsplit(r.url).scheme != "data" and urlsplit(r.url).netloc != own]


@pytest.fixture
def open_visit(browser, live_server, app):
    """Return a function that opens a fresh tab (own cookies and cache) with the given context options."""
    visits = []

    def open_(*, device=PHONE, **options):
        options = {**device, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        visits.append(Visit(context, live_server.url, SCREENSHOTS / app.backend, options.get("has_touch", False)))
        return visits[-1]

    yield open_
    for visit in visits:
        visit.context.close()
    # No page may pull anything from a third party (fonts, scripts, trackers): members' phones talk to us only.
    assert [url for visit in visits for url in visit.foreign_requests()] == []


@pytest.fixture
def phone(open_visit):
    """A member's phone: WeChat's browser on a 390×844 screen, touch, JavaScript on."""
    return open_visit()
