"""On-disk outbox: events are stored before publishing and deleted only once acknowledged.

A broker outage or a service restart therefore delays events but never loses them; the
publisher sends the remaining rows again, oldest first, on every new connection. A hub that
waits for a gym's store (``--await-store``) keeps a row the broker acknowledged (marked
delivered) until a store consumer confirms the session is stored up to its ``seq``. Rows belong to
a *stream* (one lifter), so one file can serve every lifter of a process. Each row keeps its
session and when it was queued, so late deliveries can say how late, and
``backspotter outbox`` can list and purge what waits.

The file uses WAL with ``synchronous=NORMAL``: a committed row survives the process being
killed, which is the failure this guards against, without an fsync on the alert path.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from processing.store.database import connect_sqlite
from processing.store.location import StoreLocation
from processing.store.reader import default_db_path

#: Schema steps, in order: SQL statements, then what SQL alone cannot do. ``PRAGMA
#: user_version`` records how many a file has. Version 1 is the original table (``IF NOT
#: EXISTS``: files from before versioning have it already, at user_version 0).
_Migration = tuple[str, Callable[[sqlite3.Connection], None] | None]
_V1 = """
    CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stream TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (stream, id);
"""
_V2 = """
    ALTER TABLE outbox ADD COLUMN session_id TEXT;
    ALTER TABLE outbox ADD COLUMN queued_ms INTEGER;
"""
_V3 = """
    ALTER TABLE outbox ADD COLUMN seq INTEGER;
    ALTER TABLE outbox ADD COLUMN delivered_ms INTEGER;
    CREATE INDEX outbox_session ON outbox (stream, session_id, seq);
"""


class OutboxError(Exception):
    """The outbox file cannot be used (written by a newer Backspotter)."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message still waiting for its acknowledgement."""

    id: int
    topic: str
    payload: bytes
    #: The event's session (None for a payload that names none).
    session_id: str | None = None
    #: Wall clock when it was queued, epoch ms.
    queued_ms: int = 0


@dataclass
class PendingSession:
    """What waits of one session of one stream: how many, since when, of which types."""

    stream: str
    session_id: str | None
    count: int = 0
    oldest_ms: int = 0
    newest_ms: int = 0
    types: dict[str, int] = field(default_factory=dict)


class Outbox:
    """The SQLite outbox file; used from one thread (the service's event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect_sqlite(path)
        self._migrate()

    def add(self, stream: str, messages: Sequence[tuple[str, bytes]]) -> list[int]:
        """Store ``(topic, payload)`` messages in one transaction; returns their row ids."""
        ids = []
        queued_ms = time.time_ns() // 1_000_000
        with self._transaction():
            for topic, payload in messages:
                session_id, seq = _session_and_seq(payload)
                cursor = self._db.execute(
                    "INSERT INTO outbox (stream, topic, payload, session_id, queued_ms, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (stream, topic, payload, session_id, queued_ms, seq),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def pending(self, stream: str) -> list[OutboxRow]:
        """Unacknowledged rows of ``stream``, oldest first."""
        return self._rows("stream = ?", (stream,))

    def ack(self, row_id: int) -> None:
        """The broker has the message: forget it."""
        self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def unconfirmed(self, stream: str, delivered_before_ms: int) -> list[OutboxRow]:
        """Rows the broker acknowledged before ``delivered_before_ms`` (epoch ms) that no
        store has confirmed, oldest first."""
        return self._rows("stream = ? AND delivered_ms < ?", (stream, delivered_before_ms))

    def delivered(self, row_id: int) -> None:
        """The broker has the message; keep it until a store confirms it."""
        self._db.execute(
            "UPDATE outbox SET delivered_ms = ? WHERE id = ?", (time.time_ns() // 1_000_000, row_id)
        )

    def confirm(self, stream: str, session_id: str, seq: int) -> int:
        """A store has the session's events ``1..seq``: forget them; returns how many went."""
        cursor = self._db.execute(
            "DELETE FROM outbox WHERE stream = ? AND session_id = ? AND seq <= ?",
            (stream, session_id, seq),
        )
        return int(cursor.rowcount)

    def count(self, stream: str | None = None) -> int:
        """How many rows wait, in one stream or in all."""
        if stream is None:
            row = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        else:
            row = self._db.execute("SELECT count(*) FROM outbox WHERE stream = ?", (stream,))
            row = row.fetchone()
        return int(row[0])

    def streams(self) -> list[str]:
        """Streams that still have rows waiting."""
        rows = self._db.execute("SELECT DISTINCT stream FROM outbox ORDER BY stream")
        return [str(stream) for (stream,) in rows]

    def sessions(self, streams: Iterable[str] | None = None) -> list[PendingSession]:
        """What waits per (stream, session), oldest session first; all streams by default."""
        wanted = None if streams is None else set(streams)
        found: dict[tuple[str, str | None], PendingSession] = {}
        rows = self._db.execute(
            "SELECT stream, session_id, topic, queued_ms FROM outbox ORDER BY id"
        )
        for stream, session_id, topic, queued_ms in rows:
            if wanted is not None and stream not in wanted:
                continue
            pending = found.setdefault(
                (stream, session_id), PendingSession(stream, session_id, oldest_ms=queued_ms)
            )
            pending.count += 1
            pending.newest_ms = queued_ms
            kind = str(topic).rsplit("/", 1)[-1]
            pending.types[kind] = pending.types.get(kind, 0) + 1
        return list(found.values())

    def purge(self, streams: Iterable[str] | None = None, session_id: str | None = None) -> int:
        """Delete waiting rows (of ``streams``, of one session, or all); returns how many."""
        where, params = [], []
        if streams is not None:
            names = list(streams)
            where.append(f"stream IN ({', '.join('?' * len(names))})")
            params += names
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        with self._transaction():
            cursor = self._db.execute(f"DELETE FROM outbox{condition}", params)
        return int(cursor.rowcount)

    def _rows(self, where: str, parameters: tuple[object, ...]) -> list[OutboxRow]:
        """The rows matching ``where``, oldest first."""
        rows = self._db.execute(
            "SELECT id, topic, payload, session_id, queued_ms FROM outbox"
            f" WHERE {where} ORDER BY id",
            parameters,
        )
        return [
            OutboxRow(int(i), str(topic), bytes(payload), session_id, int(queued_ms))
            for i, topic, payload, session_id, queued_ms in rows
        ]

    def close(self) -> None:
        """Close the file; rows left in it are sent by the next run."""
        self._db.close()

    def _migrate(self) -> None:
        """Bring the file to :data:`OUTBOX_VERSION`, each step once, in one transaction."""
        # IMMEDIATE: two processes opening an old file at once must not both migrate it.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > OUTBOX_VERSION:
                raise OutboxError(
                    f"{self.path} has outbox version {version}, newer than this Backspotter's "
                    f"{OUTBOX_VERSION}: upgrade Backspotter"
                )
            for statements, upgrade in _MIGRATIONS[version:]:
                # One by one: executescript would commit the transaction half-way.
                for statement in statements.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                if upgrade is not None:
                    upgrade(self._db)
            self._db.execute(f"PRAGMA user_version = {OUTBOX_VERSION}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Commit the statements inside on success, roll them back on error."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _backfill(db: sqlite3.Connection) -> None:
    """Version 2 on an older file: rows get their session and queue time from the event."""
    now = time.time_ns() // 1_000_000
    for row_id, payload in db.execute("SELECT id, payload FROM outbox").fetchall():
        event = _decoded(bytes(payload))
        # The event's own ``ts`` is when it was emitted, which is when it was queued; a
        # payload without one counts from now (its age is then a lower bound).
        queued_ms = event.get("ts")
        db.execute(
            "UPDATE outbox SET session_id = ?, queued_ms = ? WHERE id = ?",
            (_session_of(event), queued_ms if isinstance(queued_ms, int) else now, row_id),
        )


def _backfill_seq(db: sqlite3.Connection) -> None:
    """Version 3 on an older file: rows get their event's ``seq``."""
    for row_id, payload in db.execute("SELECT id, payload FROM outbox").fetchall():
        db.execute(
            "UPDATE outbox SET seq = ? WHERE id = ?", (_seq_of(_decoded(bytes(payload))), row_id)
        )


_MIGRATIONS: tuple[_Migration, ...] = ((_V1, None), (_V2, _backfill), (_V3, _backfill_seq))
OUTBOX_VERSION = len(_MIGRATIONS)


def _decoded(payload: bytes) -> dict[str, object]:
    """A JSON object payload's fields (none when it is not JSON or not an object)."""
    try:
        decoded = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _session_and_seq(payload: bytes) -> tuple[str | None, int | None]:
    """The ``session_id`` and ``seq`` an event payload carries, if any (parsed once)."""
    event = _decoded(payload)
    return _session_of(event), _seq_of(event)


def _session_of(event: dict[str, object]) -> str | None:
    """The event's ``session_id``, if it names one."""
    session_id = event.get("session_id")
    return session_id if isinstance(session_id, str) else None


def _seq_of(event: dict[str, object]) -> int | None:
    """The event's ``seq``, if it carries one."""
    seq = event.get("seq")
    return seq if isinstance(seq, int) else None


def format_age(age_ms: int) -> str:
    """An age a person reads: ``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 7 min``, ``3 d 4 h``."""
    seconds = max(age_ms, 0) / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    for unit, size, sub_unit, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60)):
        if whole >= size:
            return f"{whole // size} {unit} {whole % size // sub_size} {sub_unit}"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole} s"


def outbox_path_for(db: StoreLocation | None) -> Path:
    """The outbox beside an SQLite session store (``NAME.outbox.sqlite3`` next to
    ``NAME.sqlite3``); with a PostgreSQL store or none, beside the default store's file."""
    path = db if isinstance(db, Path) else default_db_path()
    return path.with_name(f"{path.stem}.outbox.sqlite3")
