"""The session store: migrations, incremental writing, the read API, and a killed writer, on
SQLite and on a real PostgreSQL."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from brokers import wait_until
from postgres import PostgresServer

from processing.events import AngleTrace, Event
from processing.live.outbox import Outbox
from processing.store.exc import StoreError
from processing.store.location import PostgresURL, StoreLocation
from processing.store.reader import SessionStore
from processing.store.writer import SessionRecord, StoreWriter
from processing.wire.messages import EventStamper

WRITER_PROCESS = Path(__file__).with_name("store_writer_process.py")

#: Version 1 of the schema exactly as Backspotter 0.1 created it (do not edit: old files
#: look like this).
SCHEMA_V1 = """
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL, description TEXT NOT NULL);
INSERT INTO schema_version
    VALUES (1, 1700000000000, 'sessions, sets, reps, events and angle trace');
CREATE TABLE sessions (id TEXT PRIMARY KEY, lifter TEXT NOT NULL, started_ms INTEGER NOT NULL,
    ended_ms INTEGER, mode TEXT, threshold_deg REAL, sources TEXT NOT NULL);
CREATE INDEX sessions_by_lifter ON sessions (lifter, started_ms);
CREATE TABLE sets (session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    number INTEGER NOT NULL, start_t REAL NOT NULL, end_t REAL, PRIMARY KEY (session_id, number));
CREATE TABLE reps (session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    set_number INTEGER NOT NULL, number INTEGER NOT NULL, start_t REAL NOT NULL,
    lockout_t REAL NOT NULL, end_t REAL NOT NULL, concentric_s REAL NOT NULL,
    eccentric_s REAL NOT NULL, peak_flexion_deg REAL, flexion_alert INTEGER NOT NULL,
    seconds_above_threshold REAL NOT NULL, PRIMARY KEY (session_id, set_number, number));
CREATE TABLE events (session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, type TEXT NOT NULL, t REAL NOT NULL, ts_ms INTEGER NOT NULL,
    payload TEXT NOT NULL, PRIMARY KEY (session_id, seq));
CREATE TABLE trace (session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    t REAL NOT NULL, angle_deg REAL NOT NULL);
CREATE INDEX trace_by_session ON trace (session_id, t);
INSERT INTO sessions VALUES ('old', 'alice', 1700000000000, 1700000600000, 'dual', 30.0,
    '["ble://A", "ble://B"]');
INSERT INTO sets VALUES ('old', 1, 10.0, 14.0);
INSERT INTO reps VALUES ('old', 1, 1, 10.0, 12.0, 14.0, 2.0, 2.0, 33.5, 1, 0.4);
INSERT INTO trace VALUES ('old', 10.0, 5.0), ('old', 10.04, 6.0);
"""

T0_MS = 1_750_000_000_000


def rep_event(set_no: int, rep_no: int, start: float, peak: float) -> Event:
    """A ``rep`` event shaped like the pipeline's."""
    data = {
        "set": set_no, "rep": rep_no, "start": start, "lockout": start + 1.5, "end": start + 3.0,
        "concentric_s": 1.5, "eccentric_s": 1.5, "peak_flexion_deg": peak,
        "flexion_alert": peak > 30.0, "seconds_above_threshold": 0.2 if peak > 30.0 else 0.0,
    }  # fmt: skip
    return Event("rep", start + 3.0, data)


SESSION_EVENTS = [
    Event(
        "session_start", 0.0, {"mode": "dual", "roles": ["upper", "lower"], "threshold_deg": 30.0}
    ),
    Event("set_start", 10.0, {"set": 1}),
    rep_event(1, 1, 10.0, 25.0),
    Event("flexion_alert", 14.5, {"angle_deg": 30.4, "threshold_deg": 30.0, "set": 1, "rep": 2}),
    rep_event(1, 2, 13.5, 34.0),
    Event("set_end", 16.5, {"set": 1, "reps": 2}),
    Event("set_start", 100.0, {"set": 2}),
    rep_event(2, 1, 100.0, float("nan")),
    Event("set_end", 103.0, {"set": 2, "reps": 1}),
    Event("session_end", 110.0, {"sets": 2, "reps": 3}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """A new store: an SQLite file, or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "store.sqlite3"
    return PostgresURL.parse(request.getfixturevalue("postgres_url"))


def write_session(path: StoreLocation, session_id: str, lifter: str, started_ms: int) -> None:
    """A whole session through the writer, as the service writes it."""
    writer = StoreWriter(path)
    writer.begin_session(SessionRecord(session_id, lifter, started_ms, ("sim://?seed=1",)))
    stamper = EventStamper(session_id)
    writer.add_events(lifter, stamper.stamp(SESSION_EVENTS[:3], started_ms + 10_000))
    writer.add_trace(
        session_id, AngleTrace(np.array([10.0, 10.04, 10.08]), np.array([1.0, np.nan, 2.5]))
    )
    writer.add_events(lifter, stamper.stamp(SESSION_EVENTS[3:], started_ms + 110_000))
    writer.close()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")]


def test_a_new_file_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    SessionStore(path).close()
    assert versions(path) == [1, 2, 3, 4]
    assert {"sessions", "sets", "reps", "events", "trace_chunks", "soreness"} <= tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    SessionStore(path).close()  # opening again applies nothing twice
    assert versions(path) == [1, 2, 3, 4]


def test_a_version_1_file_is_migrated_keeping_its_sessions_and_trace(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_V1)
    with SessionStore(path) as store:
        assert versions(path) == [1, 2, 3, 4]
        old = store.get_session("old")
        assert old.summary.sources == ("ble://A", "ble://B")
        assert old.summary.ended_at == datetime(2023, 11, 14, 22, 23, 20, tzinfo=UTC)
        assert [(r.number, r.peak_flexion_deg, r.flexion_alert) for r in old.sets[0].reps] == [
            (1, 33.5, True)
        ]
        assert store.get_trace("old").angle_deg.tolist() == [5.0, 6.0]
        assert "trace" not in tables(path)  # version 3 moved the points into chunks
        entry = store.log_soreness("old", 6, "tight after set 1")
        assert [(e.score, e.note) for e in store.soreness_for("old")] == [(6, "tight after set 1")]
        assert entry.session_id == "old"


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    SessionStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    with pytest.raises(StoreError, match="schema version 99"):
        SessionStore(path)


def test_written_sessions_read_back(location: StoreLocation) -> None:
    path = location
    write_session(path, "s-alice-1", "alice", T0_MS)
    write_session(path, "s-bob-1", "bob", T0_MS + 3_600_000)
    write_session(path, "s-alice-2", "alice", T0_MS + 86_400_000)
    with SessionStore(path) as store:
        assert store.lifters() == ["alice", "bob"]
        assert [s.id for s in store.list_sessions()] == ["s-alice-2", "s-bob-1", "s-alice-1"]
        assert [s.id for s in store.list_sessions(lifter="alice")] == ["s-alice-2", "s-alice-1"]
        day_two = datetime.fromtimestamp((T0_MS + 86_400_000) / 1000, UTC)
        assert [s.id for s in store.list_sessions(since=day_two)] == ["s-alice-2"]
        assert [s.id for s in store.list_sessions(until=day_two)] == ["s-bob-1", "s-alice-1"]

        session = store.get_session("s-alice-1")
        summary = session.summary
        assert (summary.mode, summary.threshold_deg, summary.sets, summary.reps) == (
            "dual",
            30.0,
            2,
            3,
        )
        assert (summary.alerts, summary.peak_flexion_deg) == (1, 34.0)
        assert summary.started_at == datetime.fromtimestamp(T0_MS / 1000, UTC)
        assert summary.ended_at == datetime.fromtimestamp((T0_MS + 110_000) / 1000, UTC)
        assert [(s.number, s.start, s.end, len(s.reps)) for s in session.sets] == [
            (1, 10.0, 16.5, 2),
            (2, 100.0, 103.0, 1),
        ]
        assert session.sets[1].reps[0].peak_flexion_deg is None
        assert [e.seq for e in session.events] == list(range(1, len(SESSION_EVENTS) + 1))
        assert session.events[3].payload["angle_deg"] == 30.4
        trace = store.get_trace("s-alice-1")
        assert trace.t_s.tolist() == [10.0, 10.08] and trace.angle_deg.tolist() == [1.0, 2.5]
        with pytest.raises(KeyError):
            store.get_session("missing")


def test_soreness_log(location: StoreLocation) -> None:
    path = location
    write_session(path, "s1", "alice", T0_MS)
    write_session(path, "s2", "alice", T0_MS + 86_400_000)
    with SessionStore(path) as store:
        next_day = datetime(2025, 6, 16, 8, 0, tzinfo=UTC)
        store.log_soreness("s1", 7, "lower back stiff", logged_at=next_day)
        store.log_soreness("s2", 2)
        assert [(e.session_id, e.score) for e in store.soreness_for(lifter="alice")] == [
            ("s1", 7),
            ("s2", 2),
        ]
        assert store.soreness_for("s1")[0].logged_at == next_day
        with pytest.raises(ValueError, match="0 to 10"):
            store.log_soreness("s1", 11)
        with pytest.raises(KeyError):
            store.log_soreness("missing", 3)


def test_a_killed_writer_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    process = subprocess.Popen([sys.executable, str(WRITER_PROCESS), str(path)])
    try:
        wait_until(lambda: committed_span_s(path) > 1.5, 30.0, "1.5 s of committed trace")
    finally:
        killed_at = time.time()
        process.send_signal(signal.SIGKILL)
        process.wait()
    with SessionStore(path) as store:
        newest = float(store.get_trace("killed").t_s[-1])
    assert killed_at - newest <= 1.0


def committed_span_s(path: Path) -> float:
    """Seconds between the first and last committed point (what another process sees)."""
    if not path.exists():
        return 0.0
    try:
        with sqlite3.connect(path) as db:
            first, last = db.execute("SELECT min(start_t), max(end_t) FROM trace_chunks").fetchone()
    except sqlite3.OperationalError:  # the writer is still creating the schema
        return 0.0
    return 0.0 if first is None else float(last - first)


def pg_versions(url: str) -> list[int]:
    with psycopg.connect(url) as db:
        return [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")]


@pytest.mark.parametrize(
    ("open_file", "is_empty"),
    [
        (SessionStore, lambda store: store.list_sessions() == []),
        (Outbox, lambda outbox: outbox.pending("events") == []),
    ],
    ids=["session store", "outbox"],
)
def test_a_new_sqlite_file_opened_by_several_at_once_opens_for_all(
    tmp_path: Path, open_file: Callable[[Path], Any], is_empty: Callable[[Any], bool]
) -> None:
    # A hub creating its store while a dashboard (or a test) reads it, or its outbox while
    # `backspotter outbox list` runs: switching the new file to WAL once failed with
    # "database is locked" in about one open in twelve.
    together = threading.Barrier(4)

    def open_with_the_others(path: Path) -> Any:
        together.wait()
        return open_file(path)

    for attempt in range(60):
        path = tmp_path / f"file-{attempt}.sqlite3"
        with ThreadPoolExecutor(4) as pool:
            opened = list(pool.map(open_with_the_others, [path] * 4))
        for handle in opened:
            assert is_empty(handle)
            handle.close()


def test_postgresql_gets_the_same_migrations_once_under_concurrent_opens(postgres_url: str) -> None:
    location = PostgresURL.parse(postgres_url)
    # Consumers of a gym start together: each opens (and would migrate) the store at once.
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: SessionStore(location), range(4)))
    for store in stores:
        store.close()
    assert pg_versions(postgres_url) == [1, 2, 3, 4]
    with psycopg.connect(postgres_url) as db:
        db.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    with pytest.raises(StoreError, match="schema version 99"):
        SessionStore(location)


def test_an_unreachable_postgresql_is_a_store_error_without_the_password(
    postgres_server: PostgresServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    url = postgres_server.url_for("coach", postgres_url.rsplit("/", 1)[1])
    with pytest.raises(StoreError, match="password authentication failed") as refused:
        SessionStore(PostgresURL.parse(url))
    assert "not-the-password" not in str(refused.value)
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    write_session(PostgresURL.parse(url), "s1", "alice", T0_MS)  # the coach role may write


def test_a_password_in_the_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="PGPASSWORD") as refused:
        PostgresURL.parse("postgresql://coach:hunter2@db.gym/backspotter")
    assert "hunter2" not in str(refused.value)


def test_points_handed_over_before_their_session_row_wait_for_it(tmp_path: Path) -> None:
    path = tmp_path / "early.sqlite3"
    writer = StoreWriter(path, commit_interval_s=0.01)
    early = AngleTrace(np.array([0.0, 0.04]), np.array([1.0, 2.0]))
    writer.add_trace("late", early)  # its session's row is not even queued yet
    writer.begin_session(SessionRecord("first", "alice", T0_MS, ("sim://?seed=1",)))
    writer.add_trace("first", early)
    # A sweep has run with "late"'s points in hand (and "first"'s row written).
    wait_until(lambda: committed_span_s(path) > 0, 10.0, "the first session's points")
    writer.begin_session(SessionRecord("late", "alice", T0_MS + 1, ("sim://?seed=2",)))
    writer.close()
    with SessionStore(path) as store:
        assert store.get_trace("late").angle_deg.tolist() == [1.0, 2.0]
        assert store.get_trace("first").angle_deg.tolist() == [1.0, 2.0]
