"""The session store: an SQLite file (WAL) of sessions, sets, reps, events, angle traces and
soreness notes, with versioned schema migrations and a small typed read API for the dashboard.

The service writes it through :class:`processing.store_writer.StoreWriter`; everything else
(dashboard, reports) reads it through :class:`SessionStore`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from processing.events import AngleTrace


class StoreError(Exception):
    """The store file cannot be used (e.g. written by a newer Backspotter)."""


@dataclass(frozen=True)
class Migration:
    """One step of the schema; applied in order, each exactly once, in a transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, sets, reps, events and angle trace",
        (
            """CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                lifter TEXT NOT NULL,
                started_ms INTEGER NOT NULL,
                ended_ms INTEGER,
                mode TEXT,
                threshold_deg REAL,
                sources TEXT NOT NULL
            )""",
            "CREATE INDEX sessions_by_lifter ON sessions (lifter, started_ms)",
            """CREATE TABLE sets (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                start_t REAL NOT NULL,
                end_t REAL,
                PRIMARY KEY (session_id, number)
            )""",
            """CREATE TABLE reps (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                set_number INTEGER NOT NULL,
                number INTEGER NOT NULL,
                start_t REAL NOT NULL,
                lockout_t REAL NOT NULL,
                end_t REAL NOT NULL,
                concentric_s REAL NOT NULL,
                eccentric_s REAL NOT NULL,
                peak_flexion_deg REAL,
                flexion_alert INTEGER NOT NULL,
                seconds_above_threshold REAL NOT NULL,
                PRIMARY KEY (session_id, set_number, number)
            )""",
            """CREATE TABLE events (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                type TEXT NOT NULL,
                t REAL NOT NULL,
                ts_ms INTEGER NOT NULL,
                payload TEXT NOT NULL,
                PRIMARY KEY (session_id, seq)
            )""",
            """CREATE TABLE trace (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                t REAL NOT NULL,
                angle_deg REAL NOT NULL
            )""",
            "CREATE INDEX trace_by_session ON trace (session_id, t)",
        ),
    ),
    Migration(
        2,
        "soreness log",
        (
            """CREATE TABLE soreness (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                logged_ms INTEGER NOT NULL,
                score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
                note TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX soreness_by_session ON soreness (session_id, logged_ms)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def default_db_path() -> Path:
    """``sessions.sqlite3`` in the user's data directory (e.g. ~/.local/share/backspotter)."""
    return platformdirs.user_data_path("backspotter") / "sessions.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating and migrating if needed) the store at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    migrate(db)
    return db


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations the file lacks, in order; returns the resulting version."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL, description TEXT NOT NULL)"
    )
    with transaction(db, immediate=True):
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the session store has schema version {current}, newer than this "
                f"Backspotter's {SCHEMA_VERSION}; upgrade Backspotter"
            )
        for migration in MIGRATIONS[current:]:
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                (migration.version, time.time_ns() // 1_000_000, migration.description),
            )
    return SCHEMA_VERSION


def schema_version(db: sqlite3.Connection) -> int:
    """The highest migration applied to the file (0 for a new file)."""
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


@contextmanager
def transaction(db: sqlite3.Connection, immediate: bool = False) -> Iterator[None]:
    """Run the block in one transaction (``immediate`` takes the write lock at once)."""
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def to_datetime(epoch_ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def to_epoch_ms(moment: datetime) -> int:
    """An aware datetime (naive ones are taken as UTC) as epoch milliseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class SessionSummary:
    """One row of the session list."""

    id: str
    lifter: str
    started_at: datetime
    ended_at: datetime | None
    mode: str | None
    threshold_deg: float | None
    sources: tuple[str, ...]
    sets: int
    reps: int
    alerts: int
    peak_flexion_deg: float | None


@dataclass(frozen=True)
class StoredRep:
    """A rep as stored (times in recording seconds)."""

    set_number: int
    number: int
    start: float
    lockout: float
    end: float
    concentric_s: float
    eccentric_s: float
    peak_flexion_deg: float | None
    flexion_alert: bool
    seconds_above_threshold: float


@dataclass(frozen=True)
class StoredSet:
    """A set with its reps."""

    number: int
    start: float
    end: float | None
    reps: tuple[StoredRep, ...]


@dataclass(frozen=True)
class StoredEvent:
    """An event exactly as published (``payload`` is the whole MQTT message)."""

    seq: int
    type: str
    t: float
    ts: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class SessionDetail:
    """A session with its sets, reps and events."""

    summary: SessionSummary
    sets: tuple[StoredSet, ...]
    events: tuple[StoredEvent, ...]


@dataclass(frozen=True)
class SorenessEntry:
    """How sore the lifter's back was, 0 (not at all) to 10, after a session."""

    id: int
    session_id: str
    logged_at: datetime
    score: int
    note: str


_SUMMARY_SQL = """
SELECT s.id, s.lifter, s.started_ms, s.ended_ms, s.mode, s.threshold_deg, s.sources,
    (SELECT count(*) FROM sets WHERE session_id = s.id),
    (SELECT count(*) FROM reps WHERE session_id = s.id),
    (SELECT count(*) FROM events WHERE session_id = s.id AND type = 'flexion_alert'),
    (SELECT max(peak_flexion_deg) FROM reps WHERE session_id = s.id)
FROM sessions AS s
"""


class SessionStore:
    """Read API of the store (plus the soreness log); safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_db_path()
        self._db = connect(self.path)
        self._lock = threading.Lock()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def lifters(self) -> list[str]:
        """Every lifter with at least one session, alphabetically."""
        rows = self._query("SELECT DISTINCT lifter FROM sessions ORDER BY lifter")
        return [str(lifter) for (lifter,) in rows]

    def list_sessions(
        self,
        lifter: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[SessionSummary]:
        """Sessions started in ``[since, until)``, newest first, optionally of one lifter."""
        since_ms = None if since is None else to_epoch_ms(since)
        until_ms = None if until is None else to_epoch_ms(until)
        rows = self._query(
            _SUMMARY_SQL + "WHERE (?1 IS NULL OR s.lifter = ?1)"
            " AND (?2 IS NULL OR s.started_ms >= ?2) AND (?3 IS NULL OR s.started_ms < ?3)"
            " ORDER BY s.started_ms DESC, s.id DESC",
            (lifter, since_ms, until_ms),
        )
        return [_summary(row) for row in rows]

    def get_session(self, session_id: str) -> SessionDetail:
        """A session with its sets, reps and events; ``KeyError`` if there is none."""
        rows = self._query(_SUMMARY_SQL + "WHERE s.id = ?", (session_id,))
        if not rows:
            raise KeyError(f"no session {session_id!r}")
        return SessionDetail(_summary(rows[0]), self._sets(session_id), self._events(session_id))

    def get_trace(self, session_id: str) -> AngleTrace:
        """The downsampled angle of a session, in time order (empty if none was stored)."""
        rows = self._query(
            "SELECT t, angle_deg FROM trace WHERE session_id = ? ORDER BY t", (session_id,)
        )
        points = np.array(rows, dtype=np.float64).reshape(-1, 2)
        return AngleTrace(points[:, 0].copy(), points[:, 1].copy())

    def log_soreness(
        self, session_id: str, score: int, note: str = "", logged_at: datetime | None = None
    ) -> SorenessEntry:
        """Record how sore the back is after ``session_id`` (score 0-10)."""
        if not 0 <= score <= 10:
            raise ValueError(f"soreness score must be 0 to 10, not {score}")
        logged_ms = to_epoch_ms(logged_at) if logged_at else time.time_ns() // 1_000_000
        with self._lock:
            if not self._db.execute(
                "SELECT 1 FROM sessions WHERE id = ?", (session_id,)
            ).fetchone():
                raise KeyError(f"no session {session_id!r}")
            cursor = self._db.execute(
                "INSERT INTO soreness (session_id, logged_ms, score, note) VALUES (?, ?, ?, ?)",
                (session_id, logged_ms, score, note),
            )
        return SorenessEntry(
            int(cursor.lastrowid or 0), session_id, to_datetime(logged_ms), score, note
        )

    def soreness_for(
        self, session_id: str | None = None, lifter: str | None = None
    ) -> list[SorenessEntry]:
        """Soreness notes of one session or of all of a lifter's sessions, oldest first."""
        rows = self._query(
            "SELECT so.id, so.session_id, so.logged_ms, so.score, so.note FROM soreness AS so"
            " JOIN sessions AS s ON s.id = so.session_id"
            " WHERE (?1 IS NULL OR so.session_id = ?1) AND (?2 IS NULL OR s.lifter = ?2)"
            " ORDER BY so.logged_ms, so.id",
            (session_id, lifter),
        )
        return [
            SorenessEntry(int(i), str(sid), to_datetime(ms), int(score), str(note))
            for i, sid, ms, score, note in rows
        ]

    def _sets(self, session_id: str) -> tuple[StoredSet, ...]:
        """Sets of a session with their reps, in order."""
        rows = self._query(
            "SELECT set_number, number, start_t, lockout_t, end_t, concentric_s, eccentric_s,"
            " peak_flexion_deg, flexion_alert, seconds_above_threshold FROM reps"
            " WHERE session_id = ? ORDER BY set_number, number",
            (session_id,),
        )
        reps = [_rep(row) for row in rows]
        sets = self._query(
            "SELECT number, start_t, end_t FROM sets WHERE session_id = ? ORDER BY number",
            (session_id,),
        )
        return tuple(
            StoredSet(int(n), start, end, tuple(r for r in reps if r.set_number == n))
            for n, start, end in sets
        )

    def _events(self, session_id: str) -> tuple[StoredEvent, ...]:
        """Events of a session in ``seq`` order."""
        rows = self._query(
            "SELECT seq, type, t, ts_ms, payload FROM events WHERE session_id = ? ORDER BY seq",
            (session_id,),
        )
        return tuple(
            StoredEvent(int(seq), str(kind), float(t), to_datetime(ts), json.loads(payload))
            for seq, kind, t, ts, payload in rows
        )

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        """All rows of a query, under the lock."""
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()


def _summary(row: Any) -> SessionSummary:
    """A ``_SUMMARY_SQL`` row as a dataclass."""
    sid, lifter, started, ended, mode, threshold, sources, sets, reps, alerts, peak = row
    return SessionSummary(
        str(sid),
        str(lifter),
        to_datetime(started),
        None if ended is None else to_datetime(ended),
        mode,
        threshold,
        tuple(json.loads(sources)),
        int(sets),
        int(reps),
        int(alerts),
        peak,
    )


def _rep(row: Any) -> StoredRep:
    """A ``reps`` row as a dataclass."""
    set_number, number, start, lockout, end, concentric_s, eccentric_s, peak, alert, above_s = row
    return StoredRep(
        set_number,
        number,
        start,
        lockout,
        end,
        concentric_s,
        eccentric_s,
        peak,
        bool(alert),
        above_s,
    )
