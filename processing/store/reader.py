"""The session store: sessions, sets, reps, events, angle traces and soreness notes in an
SQLite file (WAL) or a PostgreSQL database (schema and migrations in
:mod:`processing.store.schema`), and the small typed read API the dashboard uses.

The service writes it through :class:`processing.store.writer.StoreWriter`, a gym's store
consumers through :mod:`processing.store.ingest`; everything else (dashboard, reports) reads
it through :class:`SessionStore`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from processing.events import AngleTrace
from processing.store.database import Parameters
from processing.store.location import StoreLocation
from processing.store.schema import connect, unpack_trace


def default_db_path() -> Path:
    """``sessions.sqlite3`` in the user's data directory (e.g. ~/.local/share/backspotter)."""
    return platformdirs.user_data_path("backspotter") / "sessions.sqlite3"


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


_REP_COLUMNS = (
    "set_number, number, start_t, lockout_t, end_t, concentric_s, eccentric_s,"
    " peak_flexion_deg, flexion_alert, seconds_above_threshold"
)

_SUMMARY_SQL = """
SELECT s.id, s.lifter, s.started_ms, s.ended_ms, s.mode, s.threshold_deg, s.sources,
    (SELECT count(*) FROM sets WHERE session_id = s.id),
    (SELECT count(*) FROM reps WHERE session_id = s.id),
    (SELECT count(*) FROM events WHERE session_id = s.id AND type = 'flexion_alert'),
    (SELECT max(peak_flexion_deg) FROM reps WHERE session_id = s.id)
FROM sessions AS s"""


class SessionStore:
    """Read API of the store (plus the soreness log); safe to share between threads."""

    def __init__(self, location: StoreLocation | None = None) -> None:
        self.location = location or default_db_path()
        self._db = connect(self.location)
        self._lock = threading.Lock()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
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
        conditions = {
            "s.lifter = :lifter": lifter,
            "s.started_ms >= :since_ms": None if since is None else to_epoch_ms(since),
            "s.started_ms < :until_ms": None if until is None else to_epoch_ms(until),
        }
        given = {sql: value for sql, value in conditions.items() if value is not None}
        where = " AND ".join(given) or "1 = 1"
        parameters = {sql.rsplit(":", 1)[1]: value for sql, value in given.items()}
        rows = self._query(
            f"{_SUMMARY_SQL} WHERE {where} ORDER BY s.started_ms DESC, s.id DESC", parameters
        )
        return [_summary(row) for row in rows]

    def get_session(self, session_id: str) -> SessionDetail:
        """A session with its sets, reps and events; ``KeyError`` if there is none."""
        rows = self._query(_SUMMARY_SQL + " WHERE s.id = ?", (session_id,))
        if not rows:
            raise KeyError(f"no session {session_id!r}")
        return SessionDetail(_summary(rows[0]), self._sets(session_id), self._events(session_id))

    def get_trace(self, session_id: str) -> AngleTrace:
        """The downsampled angle of a session, in time order (empty if none was stored)."""
        rows = self._query(
            "SELECT t_s, angle_deg FROM trace_chunks WHERE session_id = ? ORDER BY start_t",
            (session_id,),
        )
        return unpack_trace(rows)

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
            (entry_id,) = self._db.execute(
                "INSERT INTO soreness (session_id, logged_ms, score, note) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (session_id, logged_ms, score, note),
            ).fetchone()
        return SorenessEntry(int(entry_id), session_id, to_datetime(logged_ms), score, note)

    def soreness_for(
        self, session_id: str | None = None, lifter: str | None = None
    ) -> list[SorenessEntry]:
        """Soreness notes of one session or of all of a lifter's sessions, oldest first."""
        rows = self._query(
            "SELECT so.id, so.session_id, so.logged_ms, so.score, so.note FROM soreness AS so"
            " JOIN sessions AS s ON s.id = so.session_id"
            " WHERE (so.session_id = :session_id OR :session_id IS NULL)"
            " AND (s.lifter = :lifter OR :lifter IS NULL)"
            " ORDER BY so.logged_ms, so.id",
            {"session_id": session_id, "lifter": lifter},
        )
        return [
            SorenessEntry(int(i), str(sid), to_datetime(ms), int(score), str(note))
            for i, sid, ms, score, note in rows
        ]

    def reps_by_session(self, session_ids: Collection[str]) -> dict[str, list[StoredRep]]:
        """The reps of each of ``session_ids`` that has any, in order."""
        wanted = sorted(set(session_ids))
        if not wanted:
            return {}
        rows = self._query(
            f"SELECT session_id, {_REP_COLUMNS} FROM reps"
            f" WHERE session_id IN ({', '.join('?' * len(wanted))})"
            " ORDER BY session_id, set_number, number",
            tuple(wanted),
        )
        reps: dict[str, list[StoredRep]] = {}
        for session_id, *rep in rows:
            reps.setdefault(str(session_id), []).append(_rep(rep))
        return reps

    def _sets(self, session_id: str) -> tuple[StoredSet, ...]:
        """Sets of a session with their reps, in order."""
        reps = self.reps_by_session([session_id]).get(session_id, [])
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

    def _query(self, sql: str, parameters: Parameters = ()) -> list[Any]:
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
