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
                "EVALAPP_MIGRATION_DATABASE_URL": database_url, "PATH": f"{tmp_path}:{env['PATH']}"})
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
