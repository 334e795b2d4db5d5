"""On-disk outbox: events are stored before publishing and deleted only once acknowledged.

A broker outage or a service restart therefore delays events but never loses them; the
publisher sends the remaining rows again, oldest first, on every new connection. Rows belong to
a *stream* (one lifter), so one file can serve every lifter of a process.

The file uses WAL with ``synchronous=NORMAL``: a committed row survives the process being
killed, which is the failure this guards against, without an fsync on the alert path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (stream, id);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message still waiting for its acknowledgement."""

    id: int
    topic: str
    payload: bytes


class Outbox:
    """The SQLite outbox file; used from one thread (the service's event loop)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def add(self, stream: str, messages: Sequence[tuple[str, bytes]]) -> list[int]:
        """Store ``(topic, payload)`` messages in one transaction; returns their row ids."""
        ids = []
        with self._transaction():
            for topic, payload in messages:
                cursor = self._db.execute(
                    "INSERT INTO outbox (stream, topic, payload) VALUES (?, ?, ?)",
                    (stream, topic, payload),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def pending(self, stream: str) -> list[OutboxRow]:
        """Unacknowledged rows of ``stream``, oldest first."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE stream = ? ORDER BY id", (stream,)
        )
        return [OutboxRow(int(i), str(topic), bytes(payload)) for i, topic, payload in rows]

    def ack(self, row_id: int) -> None:
        """The broker has the message: forget it."""
        self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

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

    def close(self) -> None:
        """Close the file; rows left in it are sent by the next run."""
        self._db.close()

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


def outbox_path_for(db_path: Path) -> Path:
    """The outbox beside a session store: ``NAME.outbox.sqlite3`` next to ``NAME.sqlite3``."""
    return db_path.with_name(f"{db_path.stem}.outbox.sqlite3")
