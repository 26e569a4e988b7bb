"""PostgreSQL: migrations run as the owner, the application as a runtime role that cannot rewrite the
audit log (scripts/postgresql-roles.sql, docs/deployment.md)."""
import os
import secrets
import subprocess  # nosec B404: psql and this checkout's flask
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from evalapp.core.config import normalise_database_url

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("EVALAPP_TEST_POSTGRES")
pytestmark = [pytest.mark.service, pytest.mark.slow]


def as_role(role, schema):
    base = sa.engine.make_url(normalise_database_url(SERVER))
    url = base.set(username=role).render_as_string(hide_password=False)
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def engine(url, **options):
    """No pool: every connection closes when its block ends, whatever the test's outcome."""
    return sa.create_engine(url, poolclass=NullPool, **options)


def flask(url, *args, check=True):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_", "EVALAPP_"))}
    env.update({"DATABASE_URL": url, "FLASK_APP": "wsgi.py", "EVALAPP_PRODUCTION": "0", "SECRET_KEY": "roles-test",
                "AUDIT_KEY": "roles-audit-key", "JOBS_BACKEND": "thread", "LOG_LEVEL": "WARNING"})
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)  # nosec B603
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.skipif(not SERVER, reason="PostgreSQL only: EVALAPP_TEST_POSTGRES names the server")
def test_the_application_role_uses_the_site_but_cannot_rewrite_the_audit_log():
    suffix = secrets.token_hex(4)
    owner, runtime, schema = f"evalapp_owner_{suffix}", f"evalapp_app_{suffix}", f"evalapp_roles_{suffix}"
    admin = engine(normalise_database_url(SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{owner}" LOGIN'))
        connection.execute(sa.text(f'CREATE ROLE "{runtime}" LOGIN'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner}"'))
    try:
        flask(as_role(owner, schema), "db", "upgrade")
        psql = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-v", f"owner={owner}", "-v", f"runtime={runtime}",
                               "-v", f"schema={schema}", "-f", str(ROOT / "scripts" / "postgresql-roles.sql"),
                               normalise_database_url(SERVER).replace("postgresql+psycopg", "postgresql")],
                              capture_output=True, text=True, timeout=60)  # nosec B603 B607
        assert psql.returncode == 0, psql.stderr
        # The whole demo (unions, rosters, campaigns, ballots, results) is loaded as the runtime role.
        app_url = as_role(runtime, schema)
        flask(app_url, "demo", "load-if-empty")
        assert "audit chain intact" in flask(app_url, "audit", "verify").stdout
        runtime_engine = engine(app_url)
        for attack in ("DELETE FROM audit_entries", "UPDATE audit_entries SET details = '{}'",
                       "TRUNCATE audit_entries", "DROP TRIGGER audit_entries_append_only ON audit_entries",
                       "ALTER TABLE audit_entries DISABLE TRIGGER ALL", "DROP TABLE results"):
            with runtime_engine.connect() as connection, pytest.raises(sa.exc.ProgrammingError) as refused:
                connection.execute(sa.text(attack))
            assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), attack
        # A migration added later (as the owner) reaches the runtime role through the default privileges.
        with engine(as_role(owner, schema)).begin() as connection:
            connection.execute(sa.text("CREATE TABLE later_table (id integer PRIMARY KEY)"))
        with engine(app_url).begin() as connection:
            connection.execute(sa.text("INSERT INTO later_table VALUES (1)"))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            for role in (runtime, owner):
                connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
                connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))

