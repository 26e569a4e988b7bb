"""The staging table: the file's checked rows in a temporary table, for set-based SQL.

PostgreSQL receives them through COPY; SQLite through chunked executemany. The table lives on the
import's own connection and holds hashes only, never an ID number.
"""
COLUMNS = ("row_no", "name", "phone", "id_hash", "last4", "union_id", "ok")
SQLITE_CHUNK = 5000


def table(connection):
    """Return the staging table's qualified name on this connection's database."""
    return "pg_temp.roster_stage" if connection.dialect.name == "postgresql" else "temp.roster_stage"


def create(connection):
    name = table(connection)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {name.split('.')[1]} (row_no integer NOT NULL, name text NOT NULL, phone text, "
        "id_hash text NOT NULL, last4 text NOT NULL, union_id integer, ok boolean NOT NULL)"
        + (" ON COMMIT DROP" if connection.dialect.name == "postgresql" else ""))


def fill(connection, staged_rows):
    """Write the rows (tuples in COLUMNS order) into the staging table; return how many."""
    if connection.dialect.name == "postgresql":
        return _copy(connection, staged_rows)
    return _executemany(connection, staged_rows)


def finish(connection):
    """Index and analyse the staged rows for the joins that follow."""
    name = table(connection)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {name}")
    else:
        connection.exec_driver_sql("CREATE INDEX temp.ix_roster_stage_id_hash ON roster_stage (id_hash)")


def drop(connection):
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table(connection)}")


def _copy(connection, staged_rows):
    count = 0
    cursor = connection.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table(connection)} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        write = copy.write_row
        for row in staged_rows:
            write(row)
            count += 1
    return count


def _executemany(connection, staged_rows):
    count = 0
    cursor = connection.connection.dbapi_connection.cursor()
    # Our own table and columns.
    statement = f"INSERT INTO {table(connection)} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # nosec B608
    chunk = []
    for row in staged_rows:
        chunk.append(row)
        if len(chunk) >= SQLITE_CHUNK:
            cursor.executemany(statement, chunk)
            count += len(chunk)
            chunk.clear()
    if chunk:
        cursor.executemany(statement, chunk)
        count += len(chunk)
    cursor.close()
    return count
