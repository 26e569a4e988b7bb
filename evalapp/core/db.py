"""The SQLAlchemy handle, naming conventions for constraints, SQLite settings, the read replica."""
import contextvars
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import Delete, Insert, MetaData, Update, event
from sqlalchemy.engine import Engine

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The bind key of the read replica (REPLICA_DATABASE_URL), when one is configured.
REPLICA = "replica"
_reading_from_replica = contextvars.ContextVar("reading_from_replica", default=False)


class RoutingSession(Session):
    """Sends the SELECTs made inside `reading_from_replica()` to the replica; every write to the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and _reading_from_replica.get() and not self._flushing
                and not isinstance(clause, Insert | Update | Delete) and REPLICA in self._db.engines):
            return self._db.engines[REPLICA]
        return super().get_bind(mapper, clause, bind, **kwargs)


@contextmanager
def reading_from_replica():
    """Read from the replica (if configured) inside the block: for heavy reports that may lag a little."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION), session_options={"class_": RoutingSession})
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer work at once.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def final_commit(session):
    """Whether an `after_commit` event is the outermost commit: SQLAlchemy also sends it when a
    SAVEPOINT (`begin_nested`) is released, which the enclosing transaction may still roll back."""
    return not session.in_nested_transaction()


def init_app(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)


def _migrations_dir():
    return Path(__file__).resolve().parents[2] / "migrations"
