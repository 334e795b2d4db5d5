"""Events into the store in any order, any number of times: the same store.

Consumers sharing a subscription each get part of a session, in any order, and the broker
sends again what was not acknowledged; whatever lands first, the tables must end up as if the
session had been stored once, in order, by its own hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_store import SESSION_EVENTS, T0_MS

from processing.events import Event
from processing.store.database import Database
from processing.store.ingest import ingest, stored_through
from processing.store.location import PostgresURL, StoreLocation
from processing.store.schema import connect
from processing.wire.messages import EventStamper

THRESHOLD = Event(
    "threshold", 20.0, {"threshold_deg": 27.5, "reference_peak_deg": 17.5, "reference_reps": 2}
)
#: The test session with the threshold set from its reference reps half-way.
EVENTS = [*SESSION_EVENTS[:5], THRESHOLD, *SESSION_EVENTS[5:]]
ENVELOPES = EventStamper("s1").stamp(EVENTS, T0_MS)


def tables(db: Database) -> dict[str, list[Any]]:
    """Everything the store says about the sessions, in a fixed order."""
    queries = {
        "sessions": "SELECT id, lifter, started_ms, ended_ms, mode, threshold_deg FROM sessions",
        "sets": "SELECT session_id, number, start_t, end_t FROM sets ORDER BY number",
        "reps": "SELECT * FROM reps ORDER BY set_number, number",
        "events": "SELECT session_id, seq, type, payload FROM events ORDER BY seq",
    }
    return {
        name: [tuple(row) for row in db.execute(sql).fetchall()] for name, sql in queries.items()
    }


def stored(location: StoreLocation, deliveries: list[list[int]]) -> dict[str, list[Any]]:
    """The tables after ingesting ``ENVELOPES`` by index, one transaction per delivery."""
    db = connect(location)
    try:
        for delivery in deliveries:
            with db.transaction():
                ingest(db, "alice", [ENVELOPES[i] for i in delivery])
        return tables(db)
    finally:
        db.close()


IN_ORDER = [list(range(len(ENVELOPES)))]

#: Deliveries: every event at least once, some twice, in any order, in batches.
deliveries = st.lists(
    st.integers(0, len(ENVELOPES) - 1), min_size=len(ENVELOPES), max_size=3 * len(ENVELOPES)
).flatmap(
    lambda extra: st.permutations([*range(len(ENVELOPES)), *extra]).flatmap(
        lambda order: st.lists(st.integers(1, 4), min_size=len(order), max_size=len(order)).map(
            lambda sizes: _batches(order, sizes)
        )
    )
)


def _batches(order: list[int], sizes: list[int]) -> list[list[int]]:
    """``order`` cut into consecutive batches of the given sizes."""
    out, i = [], 0
    for size in sizes:
        if i >= len(order):
            break
        out.append(order[i : i + size])
        i += size
    return out


@settings(max_examples=60, deadline=None)
@given(deliveries)
def test_any_order_and_any_repeats_store_the_same_session(
    tmp_path_factory: Any, delivery: list[list[int]]
) -> None:
    directory = tmp_path_factory.mktemp("ingest")
    assert stored(directory / "any.sqlite3", delivery) == stored(directory / "in.sqlite3", IN_ORDER)


def test_postgresql_stores_a_shuffled_repeated_session_like_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    # The session's end first; a set's end before its start; the threshold before the
    # session's start; a rep before its set's start; then some of it all over again.
    shuffled = [[10, 6, 4], [5, 0, 3], [9, 8, 1, 2], [7, 10, 6]]
    assert stored(PostgresURL.parse(postgres_url), shuffled) == stored(
        tmp_path / "in.sqlite3", IN_ORDER
    )


def test_stored_through_is_the_end_of_the_unbroken_run_from_seq_1(tmp_path: Path) -> None:
    db = connect(tmp_path / "gaps.sqlite3")
    with db.transaction():
        ingest(db, "alice", [ENVELOPES[i] for i in (1, 2, 4)])  # seq 2, 3 and 5
    assert stored_through(db, "s1") == 0
    ingest(db, "alice", [ENVELOPES[0]])
    assert stored_through(db, "s1") == 3
    assert stored_through(db, "s1", known=3) == 3
    ingest(db, "alice", [ENVELOPES[3]])
    assert stored_through(db, "s1", known=3) == 5
    db.close()
