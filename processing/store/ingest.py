"""Events into the store: the one way sessions, sets and reps get there.

Both the live service's writer and the ``backspotter store`` consumer call :func:`ingest`. It is
idempotent on ``(session_id, seq)``: an event already stored changes nothing, so redelivered
and replayed messages never duplicate a rep. It is also order-free: consumers sharing a
subscription each get some of a session's events, in any order, and every effect below is a
merge that ends the same whichever event lands first (a session row made by whichever event
comes first, a set's end the latest end seen, the threshold of the latest ``seq``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from processing.store.database import Database
from processing.wire.messages import encode

Envelope = Mapping[str, Any]


def ingest(db: Database, lifter: str, envelopes: Sequence[Envelope]) -> int:
    """Store the events not stored before and what they change; returns how many were new."""
    for session_id, first_ms in _first_ts_by_session(envelopes).items():
        ensure_session(db, session_id, lifter, first_ms)
    return sum(store_event(db, envelope) for envelope in envelopes)


def store_event(db: Database, envelope: Envelope) -> bool:
    """Store one event of a session whose row exists, and what it changes; False when it was
    stored before."""
    if not _insert_event(db, envelope):
        return False
    effect = _EFFECTS.get(envelope["type"])
    if effect is not None:
        effect(db, envelope["session_id"], envelope)
    return True


def ensure_session(db: Database, session_id: str, lifter: str, seen_ms: int) -> None:
    """The session's row, started at the earliest wall-clock time any of its messages shows.

    Not an upsert: PostgreSQL's ``ON CONFLICT DO UPDATE`` locks the row FOR UPDATE, which
    blocks the foreign-key checks of other consumers' inserts into the same session, and their
    waits for each other deadlocked (bench_gym). The plain update below only locks the row when
    it changes it, and then FOR NO KEY UPDATE, which those checks do not wait for.
    """
    db.execute(
        "INSERT INTO sessions (id, lifter, started_ms, sources) VALUES (?, ?, ?, '[]')"
        " ON CONFLICT (id) DO NOTHING",
        (session_id, lifter, seen_ms),
    )
    db.execute(
        "UPDATE sessions SET started_ms = ? WHERE id = ? AND started_ms > ?",
        (seen_ms, session_id, seen_ms),
    )


def stored_through(db: Database, session_id: str, known: int = 0) -> int:
    """The highest ``n`` such that every event ``1..n`` of the session is stored (0 if the
    first is missing), given that ``1..known`` are."""
    rows = db.execute(
        "SELECT seq FROM events WHERE session_id = ? AND seq > ? ORDER BY seq", (session_id, known)
    ).fetchall()
    through = known
    for (seq,) in rows:
        if seq != through + 1:
            break
        through = seq
    return through


def _first_ts_by_session(envelopes: Iterable[Envelope]) -> dict[str, int]:
    """The earliest ``ts`` per session among ``envelopes``."""
    first: dict[str, int] = {}
    for envelope in envelopes:
        session_id, ts = envelope["session_id"], int(envelope["ts"])
        first[session_id] = min(ts, first.get(session_id, ts))
    return first


def _insert_event(db: Database, e: Envelope) -> bool:
    """The ``events`` row; False when this ``(session_id, seq)`` is stored already."""
    rows = db.execute(
        "INSERT INTO events (session_id, seq, type, t, ts_ms, payload) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (session_id, seq) DO NOTHING",
        (e["session_id"], e["seq"], e["type"], e["t"], e["ts"], encode(e).decode()),
    )
    return rows.rowcount == 1


def _on_session_start(db: Database, session_id: str, e: Envelope) -> None:
    """The mode, and the threshold unless a ``threshold`` event has set it already."""
    db.execute("UPDATE sessions SET mode = ? WHERE id = ?", (e["mode"], session_id))
    db.execute(
        "UPDATE sessions SET threshold_deg = ? WHERE id = ? AND NOT EXISTS"
        " (SELECT 1 FROM events WHERE session_id = ? AND type = 'threshold')",
        (e["threshold_deg"], session_id, session_id),
    )


def _on_threshold(db: Database, session_id: str, e: Envelope) -> None:
    """The threshold the reference reps set, unless a later one is stored already."""
    db.execute(
        "UPDATE sessions SET threshold_deg = ? WHERE id = ? AND NOT EXISTS"
        " (SELECT 1 FROM events WHERE session_id = ? AND type = 'threshold' AND seq > ?)",
        (e["threshold_deg"], session_id, session_id, e["seq"]),
    )


def _on_session_end(db: Database, session_id: str, e: Envelope) -> None:
    """A session without an end time was cut short (killed service)."""
    db.execute("UPDATE sessions SET ended_ms = ? WHERE id = ?", (e["ts"], session_id))


#: A set's row, made by whichever of its events comes first; its end grows to the latest seen.
_MERGE_SET = (
    "INSERT INTO sets (session_id, number, start_t, end_t) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (session_id, number) DO UPDATE SET end_t = CASE"
    " WHEN sets.end_t IS NULL OR sets.end_t < excluded.end_t THEN excluded.end_t"
    " ELSE sets.end_t END"
)


def _on_set_start(db: Database, session_id: str, e: Envelope) -> None:
    """The set's start, which a rep or the set's end that came first could only guess."""
    db.execute(_MERGE_SET, (session_id, e["set"], e["t"], None))
    db.execute(
        "UPDATE sets SET start_t = ? WHERE session_id = ? AND number = ?",
        (e["t"], session_id, e["set"]),
    )


def _on_set_end(db: Database, session_id: str, e: Envelope) -> None:
    """The set ends no earlier than its ``set_end``."""
    db.execute(_MERGE_SET, (session_id, e["set"], e["t"], e["t"]))


def _on_rep(db: Database, session_id: str, e: Envelope) -> None:
    """A rep row; its set grows to include it."""
    peak = e["peak_flexion_deg"]
    peak_deg = peak if peak is not None and math.isfinite(peak) else None
    db.execute(
        "INSERT INTO reps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            session_id, e["set"], e["rep"], e["start"], e["lockout"], e["end"],
            e["concentric_s"], e["eccentric_s"], peak_deg,
            int(bool(e["flexion_alert"])), e["seconds_above_threshold"],
        ),
    )  # fmt: skip
    db.execute(_MERGE_SET, (session_id, e["set"], e["start"], e["end"]))


_EFFECTS: dict[str, Callable[[Database, str, Envelope], None]] = {
    "session_start": _on_session_start,
    "threshold": _on_threshold,
    "session_end": _on_session_end,
    "set_start": _on_set_start,
    "set_end": _on_set_end,
    "rep": _on_rep,
}
