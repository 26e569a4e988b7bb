"""What an upgrade must do about the migrations it brings: `flask release plan`, read by scripts/upgrade.

The upgrade migrates while the old code still serves, then restarts the instances one at a time.
That is only safe when every pending migration leaves the previous release working (it adds tables,
nullable columns, columns with a default, indexes). A migration that removes or renames what the
previous release reads says so with a module-level `STOP_THE_SERVICE = True`; then every instance
and worker is stopped before migrating. tests/test_migration_safety.py refuses a destructive
migration without the mark.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from evalapp.core.db import db

#: alembic operations after which the previous release's queries can fail.
DESTRUCTIVE_OPERATIONS = {"drop_table", "drop_column", "rename_table"}
#: SQL that does the same when a migration writes it by hand.
DESTRUCTIVE_SQL = ("DROP TABLE", "DROP COLUMN", "RENAME ", "SET NOT NULL")


@dataclass(frozen=True)
class PendingMigration:
    revision: str
    message: str
    stops_the_service: bool


def _scripts():
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def pending_migrations():
    """The migrations `flask db upgrade` would run, oldest first."""
    scripts = _scripts()
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    pending = []
    for head in scripts.get_heads():
        for script in scripts.iterate_revisions(head, current[0] if current else "base"):
            if script.revision in current:
                continue
            pending.append(PendingMigration(script.revision, script.doc.strip().splitlines()[0] if script.doc else "",
                                            bool(getattr(script.module, "STOP_THE_SERVICE", False))))
    return list(reversed(pending))


def destructive_operations(path):
    """What in a migration's upgrade() would break the previous release (empty when nothing)."""
    tree = ast.parse(Path(path).read_text())
    upgrade = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"), None)
    found = []
    for node in ast.walk(upgrade) if upgrade else ():
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if name in DESTRUCTIVE_OPERATIONS:
            found.append(name)
        elif name == "alter_column" and "new_column_name" in keywords:
            found.append("alter_column(new_column_name=…)")
        elif (name == "alter_column" and isinstance(keywords.get("nullable"), ast.Constant)
              and keywords["nullable"].value is False and "server_default" not in keywords):
            found.append("alter_column(nullable=False)")
        elif name in ("execute", "exec_driver_sql"):
            sql = " ".join(argument.value.upper() for argument in node.args
                           if isinstance(argument, ast.Constant) and isinstance(argument.value, str))
            found += [f'execute("{words.strip()} …")' for words in DESTRUCTIVE_SQL if words in sql]
    return found
