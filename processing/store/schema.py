"""Schema of the session store and its migrations: ordered, each applied once, in a transaction.

A store records the migrations applied to it in ``schema_version``; opening it applies the
ones it lacks, so a store written by any earlier Backspotter keeps its sessions. SQLite and
PostgreSQL share the list and its version numbers (column types mapped by
:func:`processing.store.database.postgres_ddl`); on PostgreSQL an advisory lock lets several
store consumers start at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from processing.events import AngleTrace
from processing.store.database import Database, open_database
from processing.store.exc import StoreError
from processing.store.location import StoreLocation


@dataclass(frozen=True)
class Migration:
    """One step of the schema; applied in order, each exactly once, in a transaction: its SQL
    statements, then ``upgrade`` for what SQL alone cannot do."""

    version: int
    description: str
    statements: tuple[str, ...]
    upgrade: Callable[[Database], None] | None = None


def pack_trace(traces: Sequence[AngleTrace]) -> tuple[float, float, bytes, bytes] | None:
    """Consecutive traces as one ``trace_chunks`` row (start, end, times, angles: float64
    little-endian); points without a finite angle are left out. None when nothing is left."""
    t_s = np.concatenate([trace.t_s for trace in traces])
    angle_deg = np.concatenate([trace.angle_deg for trace in traces])
    finite = np.isfinite(angle_deg)
    if not finite.any():
        return None
    t_s, angle_deg = t_s[finite], angle_deg[finite]
    return float(t_s[0]), float(t_s[-1]), _bytes(t_s), _bytes(angle_deg)


def unpack_trace(chunks: Sequence[tuple[bytes, bytes]]) -> AngleTrace:
    """``trace_chunks`` rows (times, angles) back as one trace in time order."""
    if not chunks:
        return AngleTrace(np.empty(0), np.empty(0))
    t_s = np.concatenate([np.frombuffer(t, "<f8") for t, _ in chunks])
    angle_deg = np.concatenate([np.frombuffer(a, "<f8") for _, a in chunks])
    order = np.argsort(t_s, kind="stable")
    return AngleTrace(t_s[order], angle_deg[order])


def insert_trace_chunks(
    db: Database, traces_by_session: Mapping[str, Sequence[AngleTrace]]
) -> None:
    """Store each session's consecutive traces as one row, in one statement for all."""
    rows = [
        (session_id, *chunk)
        for session_id, traces in traces_by_session.items()
        if (chunk := pack_trace(traces)) is not None
    ]
    if rows:
        db.executemany("INSERT INTO trace_chunks VALUES (?, ?, ?, ?, ?)", rows)


def _bytes(values: np.ndarray) -> bytes:
    """float64 little-endian bytes."""
    return np.asarray(values, dtype="<f8").tobytes()


def _trace_points_to_chunks(db: Database) -> None:
    """Version 3: each session's per-point trace rows become one chunk; the old table goes."""
    sessions = [sid for (sid,) in db.execute("SELECT DISTINCT session_id FROM trace").fetchall()]
    for session_id in sessions:
        rows = db.execute(
            "SELECT t, angle_deg FROM trace WHERE session_id = ? ORDER BY t", (session_id,)
        ).fetchall()
        points = np.array(rows, dtype=np.float64).reshape(-1, 2)
        insert_trace_chunks(db, {session_id: [AngleTrace(points[:, 0], points[:, 1])]})
    db.execute("DROP TABLE trace")


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
    Migration(
        3,
        "angle trace in chunks (one row per commit instead of one per point)",
        (
            """CREATE TABLE trace_chunks (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                start_t REAL NOT NULL,
                end_t REAL NOT NULL,
                t_s BLOB NOT NULL,
                angle_deg BLOB NOT NULL
            )""",
            "CREATE INDEX trace_chunks_by_session ON trace_chunks (session_id, start_t)",
        ),
        _trace_points_to_chunks,
    ),
    Migration(
        4,
        "input quality: samples dropped as impossible, recording cut short",
        (
            "ALTER TABLE sessions ADD COLUMN dropped_samples INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE sessions ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def connect(location: StoreLocation) -> Database:
    """Open (creating and migrating if needed) the store at ``location``.

    Raises :class:`StoreError` when the store is newer than this Backspotter or a PostgreSQL
    server cannot be reached.
    """
    db = open_database(location)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def migrate(db: Database) -> int:
    """Apply the migrations the store lacks, in order; returns the resulting version."""
    with db.transaction(exclusive=True):
        db.execute_ddl(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL, description TEXT NOT NULL)"
        )
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the session store has schema version {current}, newer than this "
                f"Backspotter's {SCHEMA_VERSION}; upgrade Backspotter"
            )
        for migration in MIGRATIONS[current:]:
            for statement in migration.statements:
                db.execute_ddl(statement)
            if migration.upgrade is not None:
                migration.upgrade(db)
            db.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                (migration.version, time.time_ns() // 1_000_000, migration.description),
            )
    return SCHEMA_VERSION


def schema_version(db: Database) -> int:
    """The highest migration applied to the store (0 for a new one)."""
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)
