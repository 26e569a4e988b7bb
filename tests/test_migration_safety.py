"""Upgrades migrate while the previous release still serves (docs/deployment.md, "Upgrading"): a
migration that would break it must say so, so that scripts/upgrade stops the service for it."""
import importlib.util
from pathlib import Path

import pytest

from evalapp.core.releases import destructive_operations

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def stops_the_service(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "STOP_THE_SERVICE", False)


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.stem[9:21])
def test_a_migration_that_breaks_the_running_release_stops_the_service(path):
    found = destructive_operations(path)
    assert not found or stops_the_service(path), (
        f"{path.name} does {', '.join(found)} in upgrade(): the release before it would fail while the upgrade "
        "restarts instances one by one. Split it (add now, remove in a later release) or set STOP_THE_SERVICE = True")


MIGRATION = '''
from alembic import op
import sqlalchemy as sa

def upgrade():
    {body}

def downgrade():
    op.drop_table("kept")
'''


@pytest.mark.parametrize("body, expected", [
    ('op.create_table("new", sa.Column("id", sa.Integer, primary_key=True))', []),
    ('op.add_column("members", sa.Column("nickname", sa.String(40), nullable=True))', []),
    ('op.alter_column("members", "nickname", nullable=False, server_default="")', []),
    ('op.drop_table("old")', ["drop_table"]),
    ('with op.batch_alter_table("members") as batch:\n        batch.drop_column("phone")', ["drop_column"]),
    ('op.alter_column("members", "phone", new_column_name="mobile")', ["alter_column(new_column_name=…)"]),
    ('op.alter_column("members", "phone", nullable=False)', ["alter_column(nullable=False)"]),
    ('op.execute("ALTER TABLE members DROP COLUMN phone")', ['execute("DROP COLUMN …")']),
    ('op.rename_table("members", "people")', ["rename_table"]),
], ids=["create", "add nullable", "not null with default", "drop table", "batch drop column", "rename column",
        "not null", "raw SQL", "rename table"])
def test_what_breaks_the_running_release_is_recognised(tmp_path, body, expected):
    path = tmp_path / "migration.py"
    path.write_text(MIGRATION.format(body=body))
    assert destructive_operations(path) == expected           # downgrade()'s drop_table never counts
