"""One connection to the session store, on SQLite or PostgreSQL, speaking one SQL.

The store's statements are written once, in the subset both engines share (``INSERT ... ON
CONFLICT``, ``RETURNING``, ``CASE``), with ``?`` and ``:name`` parameters as sqlite3 takes
them; on PostgreSQL (psycopg 3) they are rewritten to ``%s`` and ``%(name)s``. Column types in
the migrations are SQLite's; :func:`postgres_ddl` maps them to PostgreSQL's, so both engines
share one list of migrations and one schema version.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from processing.store.exc import StoreError
from processing.store.location import PostgresURL, StoreLocation

Parameters = Sequence[Any] | Mapping[str, Any]
Dialect = Literal["sqlite", "postgresql"]

#: How long, in s, opening an SQLite store waits while another connection holds it locked.
_SQLITE_BUSY_TIMEOUT_S = 10.0
#: How often, in s, switching a locked SQLite file to WAL is tried again.
_WAL_RETRY_S = 0.01

#: Key of the PostgreSQL advisory lock that serialises migrations of concurrent consumers.
_MIGRATION_LOCK_KEY = 0x6B537074  # any constant that nothing else using the database takes


class Rows(Protocol):
    """What a statement returns: its rows, and how many rows it changed."""

    @property
    def rowcount(self) -> int:
        """Rows inserted, updated or deleted (-1 when the driver cannot tell)."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """All remaining rows."""
        ...


class Database:
    """A connection in autocommit mode; :meth:`transaction` groups statements."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self.dialect: Dialect = dialect

    def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        """Run one statement."""
        return self._raw.execute(self._native(sql), parameters)  # type: ignore[no-any-return]

    def execute_ddl(self, statement: str) -> None:
        """Run a schema statement written with SQLite's column types."""
        self.execute(postgres_ddl(statement) if self.dialect == "postgresql" else statement)

    def executemany(self, sql: str, rows: Sequence[Parameters]) -> None:
        """Run one statement for each parameter row."""
        if self.dialect == "sqlite":
            self._raw.executemany(sql, rows)
        else:
            with self._raw.cursor() as cursor:
                cursor.executemany(self._native(sql), rows)

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        """Run the block in one transaction; ``exclusive`` takes the write lock at once (SQLite)
        or the migration lock (PostgreSQL)."""
        if self.dialect == "postgresql":
            with self._raw.transaction():
                if exclusive:
                    self._raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
                yield
            return
        self._raw.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
        try:
            yield
        except BaseException:
            self._raw.execute("ROLLBACK")
            raise
        self._raw.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._raw.close()

    def _native(self, sql: str) -> str:
        """``sql`` with this driver's parameter markers."""
        return sql if self.dialect == "sqlite" else _postgres_markers(sql)


def open_database(location: StoreLocation) -> Database:
    """Connect to the store at ``location`` (an SQLite file is created if missing)."""
    if isinstance(location, PostgresURL):
        return _open_postgres(location)
    return _open_sqlite(location)


def _open_sqlite(path: Path) -> Database:
    """The store in an SQLite file (see :func:`connect_sqlite`)."""
    return Database(connect_sqlite(path), "sqlite")


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """An SQLite file (created if missing) in WAL mode with foreign keys on, in autocommit
    mode: the store's and the outbox's files alike."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(
        path, isolation_level=None, timeout=_SQLITE_BUSY_TIMEOUT_S, check_same_thread=False
    )
    _switch_to_wal(raw)
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    return raw


def _switch_to_wal(raw: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting up to the busy timeout while it is locked.

    SQLite reports "database is locked" for this switch at once instead of waiting out its
    busy timeout, so a hub and a dashboard (or a test's reader) opening a new store together
    failed: 32 of 400 opens by four threads at once.
    """
    deadline_s = time.monotonic() + _SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline_s:
                raise
        time.sleep(_WAL_RETRY_S)


def _open_postgres(url: PostgresURL) -> Database:
    """A psycopg 3 connection; libpq finds the password (environment or password file)."""
    import psycopg  # imported here: only a gym's store needs it

    try:
        return Database(psycopg.connect(url.url, autocommit=True), "postgresql")
    except psycopg.OperationalError as error:
        raise StoreError(f"cannot open the session store {url}: {error}") from error


@functools.lru_cache(maxsize=256)
def _postgres_markers(sql: str) -> str:
    """``?`` -> ``%s``, ``:name`` -> ``%(name)s``, literal ``%`` doubled."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


_POSTGRES_TYPES = (
    (
        r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (r"\bINTEGER\b", "BIGINT"),  # epoch milliseconds overflow PostgreSQL's 32-bit INTEGER
    (r"\bREAL\b", "DOUBLE PRECISION"),  # PostgreSQL's REAL is 32-bit
    (r"\bBLOB\b", "BYTEA"),
)


def postgres_ddl(statement: str) -> str:
    """A migration statement with SQLite's column types mapped to PostgreSQL's."""
    for pattern, replacement in _POSTGRES_TYPES:
        statement = re.sub(pattern, replacement, statement)
    return statement
