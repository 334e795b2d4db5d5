"""Incremental writing of live sessions into the store, off the event loop.

The service hands over whole updates (stamped events, live angle points); a background thread
turns them into rows in transactions of ``commit_interval_s``, so anything handed over is
committed within that time and a killed service loses at most that much (default half a
second). Angle points, which come with every batch, are only appended to a deque the thread
sweeps once per transaction into one row per session: the event loop pays no thread wake-up
and the thread takes the GIL a few times per sweep, not once per point.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing.events import AngleTrace
from processing.store.schema import connect, insert_trace_chunk, transaction
from processing.wire.messages import encode

log = logging.getLogger(__name__)

Operation = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class SessionRecord:
    """What is known about a session when it starts."""

    id: str
    lifter: str
    started_ms: int
    sources: tuple[str, ...]
    threshold_deg: float | None = None


class StoreWriter:
    """Queue of writes applied by one background thread (the only writer of the file)."""

    def __init__(self, path: Path, commit_interval_s: float = 0.5) -> None:
        self.path = path
        self.commit_interval_s = commit_interval_s
        self._queue: queue.SimpleQueue[Operation | None] = queue.SimpleQueue()
        self._traces: collections.deque[tuple[str, AngleTrace]] = collections.deque()
        self._error: BaseException | None = None
        connect(path).close()  # create and migrate now, so errors surface in the caller
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def begin_session(self, session: SessionRecord) -> None:
        """Create the session row."""
        self._put(lambda db: _insert_session(db, session))

    def set_input_quality(self, session_id: str, dropped_samples: int, truncated: bool) -> None:
        """Record how many samples were dropped as impossible and whether the input was cut."""
        values = (dropped_samples, int(truncated), session_id)
        self._put(lambda db: _update_input_quality(db, values))

    def add_events(self, session_id: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        """Store stamped events, and the sets and reps they describe."""
        if envelopes:
            self._put(lambda db: _insert_events(db, session_id, envelopes))

    def add_trace(self, session_id: str, trace: AngleTrace) -> None:
        """Store live angle points (non-finite ones are skipped)."""
        self._raise_if_failed()
        if len(trace):
            self._traces.append((session_id, trace))

    def close(self) -> None:
        """Write and commit everything queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()
        self._raise_if_failed()

    def _put(self, operation: Operation) -> None:
        """Queue a write (raising if the thread has already failed)."""
        self._raise_if_failed()
        self._queue.put(operation)

    def _raise_if_failed(self) -> None:
        """Surface an error of the writer thread in the caller."""
        if self._error is not None:
            raise RuntimeError(f"writing the session store {self.path} failed") from self._error

    def _run(self) -> None:
        """Thread body: apply writes, committing at most ``commit_interval_s`` after the first."""
        db = connect(self.path)
        try:
            self._apply_until_closed(db)
        except BaseException as error:  # reported to the caller by the next _put/close
            log.exception("session store writer failed")
            self._error = error
        finally:
            db.close()

    def _apply_until_closed(self, db: sqlite3.Connection) -> None:
        """One transaction per ``commit_interval_s``: queued operations, then angle points."""
        while True:
            deadline = time.monotonic() + self.commit_interval_s
            with transaction(db):
                open_ = self._apply_until(db, deadline)
                self._sweep_traces(db)
            if not open_:
                return

    def _apply_until(self, db: sqlite3.Connection, deadline: float) -> bool:
        """Apply operations in the open transaction until ``deadline``; False on close."""
        while (left_s := deadline - time.monotonic()) > 0:
            try:
                operation = self._queue.get(timeout=left_s)
            except queue.Empty:
                break
            if operation is None:
                return False
            operation(db)
        return True

    def _sweep_traces(self, db: sqlite3.Connection) -> None:
        """Store the angle traces handed over so far: one chunk row per session."""
        by_session: dict[str, list[AngleTrace]] = {}
        while self._traces:
            session_id, trace = self._traces.popleft()
            by_session.setdefault(session_id, []).append(trace)
        for session_id, traces in by_session.items():
            insert_trace_chunk(db, session_id, traces)


def _insert_session(db: sqlite3.Connection, session: SessionRecord) -> None:
    """The ``sessions`` row."""
    db.execute(
        "INSERT INTO sessions (id, lifter, started_ms, threshold_deg, sources)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            session.id,
            session.lifter,
            session.started_ms,
            session.threshold_deg,
            json.dumps(list(session.sources)),
        ),
    )


def _update_input_quality(db: sqlite3.Connection, values: tuple[int, int, str]) -> None:
    """Set a session's ``dropped_samples`` and ``truncated``."""
    db.execute("UPDATE sessions SET dropped_samples = ?, truncated = ? WHERE id = ?", values)


def _insert_events(
    db: sqlite3.Connection, session_id: str, envelopes: Sequence[Mapping[str, Any]]
) -> None:
    """Events, then whatever each one changes in the session, set and rep tables."""
    db.executemany(
        "INSERT OR IGNORE INTO events (session_id, seq, type, t, ts_ms, payload)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(session_id, e["seq"], e["type"], e["t"], e["ts"], encode(e).decode()) for e in envelopes],
    )
    for envelope in envelopes:
        apply = _EVENT_EFFECTS.get(envelope["type"])
        if apply is not None:
            apply(db, session_id, envelope)


def _on_session_start(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """The pipeline knows the mode and the threshold it really uses."""
    db.execute(
        "UPDATE sessions SET mode = ?, threshold_deg = ? WHERE id = ?",
        (e["mode"], e["threshold_deg"], session_id),
    )


def _on_threshold(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """The reference reps set the threshold the rest of the session is judged by."""
    db.execute(
        "UPDATE sessions SET threshold_deg = ? WHERE id = ?", (e["threshold_deg"], session_id)
    )


def _on_session_end(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """A session without an end time was cut short (killed service)."""
    db.execute("UPDATE sessions SET ended_ms = ? WHERE id = ?", (e["ts"], session_id))


def _on_set_start(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """A new set row."""
    db.execute(
        "INSERT OR IGNORE INTO sets (session_id, number, start_t) VALUES (?, ?, ?)",
        (session_id, e["set"], e["t"]),
    )


def _on_set_end(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """Close a set."""
    db.execute(
        "UPDATE sets SET end_t = ? WHERE session_id = ? AND number = ?",
        (e["t"], session_id, e["set"]),
    )


def _on_rep(db: sqlite3.Connection, session_id: str, e: Mapping[str, Any]) -> None:
    """A rep row; its set grows to include it."""
    peak = e["peak_flexion_deg"]
    peak_deg = peak if peak is not None and math.isfinite(peak) else None
    db.execute(
        "INSERT OR IGNORE INTO reps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id, e["set"], e["rep"], e["start"], e["lockout"], e["end"],
            e["concentric_s"], e["eccentric_s"], peak_deg,
            bool(e["flexion_alert"]), e["seconds_above_threshold"],
        ),
    )  # fmt: skip
    db.execute(
        "UPDATE sets SET end_t = max(coalesce(end_t, ?1), ?1)"
        " WHERE session_id = ?2 AND number = ?3",
        (e["end"], session_id, e["set"]),
    )


_EVENT_EFFECTS: dict[str, Callable[[sqlite3.Connection, str, Mapping[str, Any]], None]] = {
    "session_start": _on_session_start,
    "threshold": _on_threshold,
    "session_end": _on_session_end,
    "set_start": _on_set_start,
    "set_end": _on_set_end,
    "rep": _on_rep,
}
