"""Fixtures: one app per database backend, a clean database for each test that uses it, factories and logins.

The suite runs on SQLite always, and on PostgreSQL too when EVALAPP_TEST_POSTGRES holds a server
URL; there each run migrates into a schema of its own and drops it at the end.

A test that uses no app (neither `app` nor `database`, `world`, `client`, `login`) runs once, with no
database at all: pure statistics, parsing, password strength. Such a test has no backend in its id, so
`-k sqlite` leaves it out; to run on SQLite only, leave EVALAPP_TEST_POSTGRES unset instead.
The markers of pyproject.toml name the browser, service and slow tests, which `./scripts/test --fast` skips.
"""
import contextlib
import contextvars
import functools
import os
import secrets
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from evalapp import create_app
from evalapp.core import config
from evalapp.core.audit import APPEND_ONLY_TRIGGERS, DROP_APPEND_ONLY_TRIGGERS
from evalapp.core.config import normalise_database_url
from evalapp.core.db import db
from evalapp.core.limits import limiter

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("EVALAPP_TEST_POSTGRES") else [])
TEST_PASSWORD = "correct-horse-9"
BROWSER_TESTS = Path(__file__).parent / "browser"
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "JOBS_INLINE": True,
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Everything under tests/browser drives a browser (before `-m` selects by marker)."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _postgres_schema_url():
    base = normalise_database_url(os.environ["EVALAPP_TEST_POSTGRES"])
    schema = f"evalapp_test_{secrets.token_hex(5)}"
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    return base + f"{separator}options=-csearch_path%3D{schema}", engine, schema


def skip_disk_sync(app):
    """Commit to a test SQLite file without waiting for the disk (call in an app context).

    The file is thrown away after the run, so nothing is lost; each commit saves a few milliseconds,
    which the whole suite pays tens of thousands of times.
    """
    if app.backend == "sqlite":
        sa.event.listen(db.engine, "connect", lambda connection, _record: connection.execute("PRAGMA synchronous=OFF"))


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's app context (nor its `g` or session).

    The test's pending work is committed before each request, and its objects are expired after,
    so both sides see the database as a real user would.
    """

    def open(self, *args, **kwargs):
        if not has_app_context():  # a redirect followed from inside the request's own context
            return super().open(*args, **kwargs)
        db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()
        return response


class ClosingClient(IsolatedClient):
    """Reads each response in full and closes it, as a WSGI server does (served files are open files)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    admin_engine = schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        url, admin_engine, schema = _postgres_schema_url()
    app = create_app({
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": url,
        # Files of their own for each run and each xdist worker, never the working tree's instance/.
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "ROSTER_UPLOAD_FOLDER": str(tmp_path_factory.mktemp("rosters")),
        # Room for the 50 concurrent ballots of the double-vote test, each holding a connection.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 55, "max_overflow": 5},
    })
    app.test_client_class = IsolatedClient
    app.backend = request.param
    with app.app_context():
        skip_disk_sync(app)
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    if admin_engine is not None:
        with admin_engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


@pytest.fixture
def database(app):
    """The test body runs in an app context, with fresh rate limits, and leaves an empty database."""
    with app.app_context():
        limiter.reset()
        yield
        empty_database(app)


@pytest.fixture(autouse=True)
def app_context(request):
    """A test that uses the app, itself or through a fixture (`world`, `client`, `login`…), gets `database`.

    Tests that use none run without creating or emptying any table. A module whose tests share one
    world overrides this fixture.
    """
    if "app" in request.fixturenames:
        request.getfixturevalue("database")


@pytest.fixture
def app_config_context():
    """An app context with the test configuration and nothing else (no database, views or extensions):
    for code that only reads settings such as the display time zone."""
    bare = Flask("evalapp")
    config.load(bare, TEST_CONFIG)
    with bare.app_context():
        yield


def empty_database(app):
    """Delete every row of every table (in the current app context)."""
    db.session.rollback()
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    # The audit tables refuse deletion; lift their triggers for the clean-up, as only an owner could.
    for statement in DROP_APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(sa.text(statement))
    if app.backend == "postgresql":
        db.session.execute(sa.text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(sa.text(f"DELETE FROM {table}"))
    for statement in APPEND_ONLY_TRIGGERS[app.backend]:
        db.session.execute(sa.text(statement))
    db.session.commit()


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """A folder of the test's own for uploaded files (returned), and clients that close what they read."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setattr(app, "test_client_class", ClosingClient)
    return tmp_path / "uploads"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app, database):
    """The small federation of factories.build_world, in the database of its own that every test gets.

    On SQLite it is built once per app and then copied into the database page by page, which takes a
    millisecond where building it takes fifty; its objects are loaded by id, as after a commit.
    """
    from tests.factories import build_world

    if app.backend != "sqlite":
        return build_world()
    if getattr(app, "world_copy", None) is None:
        world = build_world()
        app.world_copy = WorldCopy(world)
        return world
    return app.world_copy.restore()


class WorldCopy:
    """The SQLite test database as build_world left it, and the identities of the world's objects."""

    def __init__(self, world):
        db.session.commit()
        self.pages = sqlite3.connect(":memory:")
        with _test_database_connection() as test_database:
            test_database.backup(self.pages)
        self.identities = {name: _identity(value) for name, value in vars(world).items()}

    def restore(self):
        """Put the copy back into the test database, and return the world loaded from it."""
        with _test_database_connection() as test_database:
            self.pages.backup(test_database)
        return SimpleNamespace(**{name: _load(identity) for name, identity in self.identities.items()})


@contextlib.contextmanager
def _test_database_connection():
    """The sqlite3 connection of a pooled connection to the test database."""
    pooled = db.engine.raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


def _identity(value):
    if isinstance(value, list):
        return [_identity(item) for item in value]
    return type(value), sa.inspect(value).identity


def _load(identity):
    if isinstance(identity, list):
        return [_load(item) for item in identity]
    return db.session.get(*identity)


def log_in(app, username, password=TEST_PASSWORD):
    """A fresh client of `app`, signed in as `username`."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"login as {username} failed"
    return client


@pytest.fixture
def login(app):
    """Return a function that logs a fresh client in as `username`."""
    return functools.partial(log_in, app)
