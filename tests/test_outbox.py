"""The on-disk outbox: order, acknowledgement, streams, survival across reopening, schema
migration, and what ``backspotter outbox`` lists and purges."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from processing.live.outbox import OUTBOX_VERSION, Outbox, OutboxError, format_age


def test_rows_come_back_in_order_until_acknowledged(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    ids = outbox.add("alice", [("t/a", b"1"), ("t/b", b"2"), ("t/c", b"3")])
    outbox.ack(ids[1])
    pending = outbox.pending("alice")
    assert [(r.topic, r.payload) for r in pending] == [("t/a", b"1"), ("t/c", b"3")]
    assert outbox.count("alice") == 2


def test_streams_are_separate(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add("alice", [("a", b"1")])
    outbox.add("bob", [("b", b"2")])
    assert [r.payload for r in outbox.pending("bob")] == [b"2"]
    assert outbox.streams() == ["alice", "bob"]
    assert outbox.count() == 2


def test_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path)
    first.add("alice", [("a", b"1"), ("a", b"2")])
    first.close()
    second = Outbox(path)
    assert [r.payload for r in second.pending("alice")] == [b"1", b"2"]
    second.add("alice", [("a", b"3")])
    assert [r.payload for r in second.pending("alice")] == [b"1", b"2", b"3"]


def test_a_failed_add_stores_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        not_a_topic: Any = None
        outbox.add("alice", [("a", b"1"), (not_a_topic, b"2")])
    assert outbox.count() == 0


def event(session_id: str, seq: int, ts: int) -> bytes:
    """An event payload as the publisher stores it (only the fields the outbox reads)."""
    return json.dumps({"type": "rep", "session_id": session_id, "seq": seq, "ts": ts}).encode()


def test_a_file_from_before_versioning_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    # The outbox as every Backspotter before schema version 2 wrote it.
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,"
        " topic TEXT NOT NULL, payload BLOB NOT NULL);"
        "CREATE INDEX outbox_stream ON outbox (stream, id);"
    )
    old.executemany(
        "INSERT INTO outbox (stream, topic, payload) VALUES (?, ?, ?)",
        [("alice", "t/rep", event("S1", 1, 1_000)), ("alice", "t/x", b"not json")],
    )
    old.commit()
    old.close()

    before = time.time_ns() // 1_000_000
    outbox = Outbox(path)
    rows = outbox.pending("alice")
    assert [(r.topic, r.session_id) for r in rows] == [("t/rep", "S1"), ("t/x", None)]
    # Its age comes from the event's own ts; a payload without one counts from the upgrade.
    assert rows[0].queued_ms == 1_000
    assert rows[1].queued_ms >= before
    outbox.add("alice", [("t/rep", event("S2", 1, 5))])
    assert [r.session_id for r in outbox.pending("alice")] == ["S1", None, "S2"]
    # Version 3 reads each event's seq, so a store's confirmation can clear the old rows too.
    assert outbox.confirm("alice", "S1", 1) == 1
    assert [r.session_id for r in outbox.pending("alice")] == [None, "S2"]
    outbox.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == OUTBOX_VERSION == 3
    # Opening again applies nothing twice (a second ALTER TABLE would fail).
    assert len(Outbox(path).pending("alice")) == 2


def test_a_file_from_a_newer_backspotter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {OUTBOX_VERSION + 1}")
    with pytest.raises(OutboxError, match="newer"):
        Outbox(path)


def test_sessions_summarize_and_purge_deletes_what_is_asked(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    before = time.time_ns() // 1_000_000
    outbox.add(
        "alice", [("a/events/rep", event("S1", 1, 0)), ("a/events/set_end", event("S1", 2, 0))]
    )
    outbox.add("alice", [("a/events/rep", event("S2", 1, 0))])
    outbox.add("bob", [("b/events/rep", event("S3", 1, 0))])
    summary = {(p.stream, p.session_id): (p.count, p.types) for p in outbox.sessions()}
    assert summary == {
        ("alice", "S1"): (2, {"rep": 1, "set_end": 1}),
        ("alice", "S2"): (1, {"rep": 1}),
        ("bob", "S3"): (1, {"rep": 1}),
    }
    first = outbox.sessions(["alice"])[0]
    assert before <= first.oldest_ms <= first.newest_ms <= time.time_ns() // 1_000_000
    assert [p.session_id for p in outbox.sessions(["bob"])] == ["S3"]

    assert outbox.purge(session_id="S1") == 2
    assert outbox.purge(["bob"], session_id="S2") == 0  # S2 is alice's
    assert outbox.purge(["alice"]) == 1
    assert [p.session_id for p in outbox.sessions()] == ["S3"]
    assert outbox.purge() == 1
    assert outbox.count() == 0


@pytest.mark.parametrize(
    ("age_ms", "text"),
    [(400, "0.4 s"), (12_300, "12 s"), (185_000, "3 min 5 s"), (7_620_000, "2 h 7 min"),
     (273_600_000, "3 d 4 h")],
)  # fmt: skip
def test_ages_read_like_a_person_says_them(age_ms: int, text: str) -> None:
    assert format_age(age_ms) == text
