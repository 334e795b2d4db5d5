"""The on-disk outbox: order, acknowledgement, streams and survival across reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from processing.live.outbox import Outbox


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
