"""audit log append-only

Revision ID: a7c3d9e1f2b4
Revises: 2984fb6bafdb
Create Date: 2026-11-22 02:55:00

The DDL is copied here on purpose: a migration must not change when the application does.
"""
from alembic import op

revision = 'a7c3d9e1f2b4'
down_revision = '2984fb6bafdb'
branch_labels = None
depends_on = None

CREATE = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER audit_head_kept BEFORE DELETE OR TRUNCATE ON audit_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
}
DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
                   "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
                   "DROP TRIGGER IF EXISTS audit_head_kept ON audit_head",
                   "DROP FUNCTION IF EXISTS audit_entries_append_only()"],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_entries_no_update", "DROP TRIGGER IF EXISTS audit_entries_no_delete",
               "DROP TRIGGER IF EXISTS audit_head_kept"],
}


def upgrade():
    for statement in CREATE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
