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
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from processing.events import AngleTrace
from processing.store.database import Database
from processing.store.ingest import ingest
from processing.store.location import StoreLocation
from processing.store.schema import connect, insert_trace_chunks

log = logging.getLogger(__name__)

#: A write applied by the thread; what it returns is not used.
Operation = Callable[[Database], object]


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

    def __init__(self, location: StoreLocation, commit_interval_s: float = 0.5) -> None:
        self.location = location
        self.commit_interval_s = commit_interval_s
        self._queue: queue.SimpleQueue[Operation | None] = queue.SimpleQueue()
        self._traces: collections.deque[tuple[str, AngleTrace]] = collections.deque()
        #: Sessions whose row the thread has written (their points may follow).
        self._begun: set[str] = set()
        self._error: BaseException | None = None
        connect(location).close()  # create and migrate now, so errors surface in the caller
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def begin_session(self, session: SessionRecord) -> None:
        """Create the session row."""
        self._put(lambda db: self._begin(db, session))

    def _begin(self, db: Database, session: SessionRecord) -> None:
        """The session's row; from now on its angle points may be swept."""
        _insert_session(db, session)
        self._begun.add(session.id)

    def set_input_quality(self, session_id: str, dropped_samples: int, truncated: bool) -> None:
        """Record how many samples were dropped as impossible and whether the input was cut."""
        values = (dropped_samples, int(truncated), session_id)
        self._put(lambda db: _update_input_quality(db, values))

    def add_events(self, lifter: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        """Store a lifter's stamped events, and the sets and reps they describe."""
        if envelopes:
            self._put(lambda db: ingest(db, lifter, envelopes))

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
            raise RuntimeError(f"writing the session store {self.location} failed") from self._error

    def _run(self) -> None:
        """Thread body: apply writes, committing at most ``commit_interval_s`` after the first."""
        db = connect(self.location)
        try:
            self._apply_until_closed(db)
        except BaseException as error:  # reported to the caller by the next _put/close
            log.exception("session store writer failed")
            self._error = error
        finally:
            db.close()

    def _apply_until_closed(self, db: Database) -> None:
        """One transaction per ``commit_interval_s``: queued operations, then angle points."""
        while True:
            deadline = time.monotonic() + self.commit_interval_s
            with db.transaction():
                open_ = self._apply_until(db, deadline)
                self._sweep_traces(db)
            if not open_:
                return

    def _apply_until(self, db: Database, deadline: float) -> bool:
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

    def _sweep_traces(self, db: Database) -> None:
        """Store the angle traces handed over so far: one chunk row per session. Points of a
        session whose row is still queued (handed over after the transaction's last operation)
        wait for the next sweep: written now, they would break the foreign key."""
        by_session: dict[str, list[AngleTrace]] = {}
        waiting: list[tuple[str, AngleTrace]] = []
        while self._traces:
            session_id, trace = self._traces.popleft()
            if session_id in self._begun:
                by_session.setdefault(session_id, []).append(trace)
            else:
                waiting.append((session_id, trace))
        self._traces.extendleft(reversed(waiting))
        insert_trace_chunks(db, by_session)


def _insert_session(db: Database, session: SessionRecord) -> None:
    """The ``sessions`` row (a store consumer sharing the database may have made it first)."""
    db.execute(
        "INSERT INTO sessions (id, lifter, started_ms, threshold_deg, sources)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
        " SET started_ms = excluded.started_ms, sources = excluded.sources",
        (
            session.id,
            session.lifter,
            session.started_ms,
            session.threshold_deg,
            json.dumps(list(session.sources)),
        ),
    )


def _update_input_quality(db: Database, values: tuple[int, int, str]) -> None:
    """Set a session's ``dropped_samples`` and ``truncated``."""
    db.execute("UPDATE sessions SET dropped_samples = ?, truncated = ? WHERE id = ?", values)
