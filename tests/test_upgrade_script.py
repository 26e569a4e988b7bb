"""scripts/upgrade, the procedure the guide calls: the service's settings from its file, migrations
against the database they name (never a new SQLite file), and a clear stop when the file is missing."""
import getpass
import os
import subprocess  # nosec B404: runs this checkout's own script
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.service, pytest.mark.slow]


def upgrade(env_file, database_url, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "EVALAPP_", "REDIS_", "FLASK_"))}
    env.update({"EVALAPP_USER": getpass.getuser(), "EVALAPP_ENV_FILE": str(env_file),
                "EVALAPP_MIGRATION_DATABASE_URL": database_url, "EVALAPP_RESTART_PAUSE": "0",
                "PATH": f"{tmp_path}:{env['PATH']}"})
    return subprocess.run([str(ROOT / "scripts" / "upgrade"), "--no-install"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # nosec B603


def test_the_upgrade_migrates_the_database_the_settings_name_and_stops_without_them(tmp_path):
    (tmp_path / "systemctl").write_text("#!/bin/sh\nexit 1\n")   # no systemd units on this machine
    (tmp_path / "systemctl").chmod(0o755)
    database = tmp_path / "production.sqlite"
    env_file = tmp_path / "evalapp.env"
    env_file.write_text(f"SECRET_KEY=upgrade-test\nDATABASE_URL=sqlite:///{tmp_path / 'not-this-one.sqlite'}\n")
    result = upgrade(env_file, f"sqlite:///{database}", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migrated to" in result.stdout and "restart every web instance" in result.stderr
    tables = sa.inspect(sa.create_engine(f"sqlite:///{database}")).get_table_names()
    assert "audit_entries" in tables and "alembic_version" in tables
    assert not (tmp_path / "not-this-one.sqlite").exists()        # migrations as the owner, on its URL
    missing = upgrade(tmp_path / "missing.env", f"sqlite:///{database}", tmp_path)
    assert missing.returncode != 0 and "cannot read" in missing.stderr


FAKE_SYSTEMCTL = """#!{python}
# systemd's side of the upgrade: each call is written down with the database's revision at that moment.
import sqlite3, sys
args = sys.argv[1:]
revision = sqlite3.connect("{database}").execute("SELECT version_num FROM alembic_version").fetchone()
with open("{log}", "a") as log:
    log.write(" ".join(args) + " @" + (revision[0] if revision else "-") + "\\n")
if args[0] == "list-units":
    print("\\n".join("evalapp-web@%d.service loaded active running" % port for port in {ports}))
"""


@pytest.fixture
def instances():
    """Two ports answering /healthz, as the restarted instances would."""
    import http.server
    import threading

    class Healthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def systemd_calls(tmp_path, database, ports):
    import sys

    log = tmp_path / "systemctl.log"
    (tmp_path / "systemctl").write_text(FAKE_SYSTEMCTL.format(python=sys.executable, database=database, log=log,
                                                             ports=ports))
    (tmp_path / "systemctl").chmod(0o755)
    return log


def migrate_to(database, revision):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "FLASK_APP": "wsgi.py", "EVALAPP_ENV_FILE": "/dev/null"}
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "db", "upgrade", revision], cwd=ROOT, env=env,  # nosec
                   check=True, capture_output=True)


def upgrade_from(revision, tmp_path, instances):
    """Upgrade a database left at `revision`; return the result and systemd's calls (each with the
    database's revision at that moment)."""
    database = tmp_path / "production.sqlite"
    migrate_to(database, revision)
    log = systemd_calls(tmp_path, database, instances)
    env_file = tmp_path / "evalapp.env"
    env_file.write_text("SECRET_KEY=upgrade-test\n")
    result = upgrade(env_file, f"sqlite:///{database}", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, [line for line in log.read_text().splitlines() if not line.startswith(("cat", "list-units"))]


def test_migrations_the_old_release_survives_are_followed_by_a_restart_of_one_instance_at_a_time(
        tmp_path, instances):
    result, calls = upgrade_from("d2b7f3c81e09", tmp_path, instances)   # one additive migration to go
    first, second = instances
    assert calls == [f"restart evalapp-web@{first}.service @e6a1c9d4b372",      # migrated before any restart
                     f"restart evalapp-web@{second}.service @e6a1c9d4b372",
                     "restart evalapp-worker @e6a1c9d4b372"]
    assert "restarted and healthy" in result.stdout


def test_a_migration_the_old_release_cannot_survive_stops_everything_first(tmp_path, instances):
    result, calls = upgrade_from("a7c3d2e91b40", tmp_path, instances)   # next: deliveries, which drops columns
    units = " ".join(f"evalapp-web@{port}.service" for port in instances)
    assert calls == [f"stop {units} evalapp-worker @a7c3d2e91b40",
                     f"start {units} evalapp-worker @e6a1c9d4b372"]
    assert "the previous release cannot run after it" in result.stdout
