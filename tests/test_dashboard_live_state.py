"""The live page's state folded from a real session's events: duplicates, late and reordered
events, older sessions' stragglers and a newer session."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from dashboard.live_state import LifterState, LiveView
from processing.commands.replay import replay_url
from processing.detect.alerts import ReferenceSettings
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.store.reader import SessionStore

FIXTURE = Path(__file__).parents[1] / "fixtures" / "random_seed_110.csv.gz"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every event of the fixture's session as the service published and stored them."""
    db = tmp_path_factory.mktemp("live_state") / "sessions.sqlite3"
    spec = LifterSpec("alice", (replay_url(FIXTURE, "max"),))
    asyncio.run(Service(ServiceConfig((spec,), db_path=db)).run())
    with SessionStore(db) as store:
        (summary,) = store.list_sessions()
        return [event.payload for event in store.get_session(summary.id).events]


def folded(events: list[dict[str, Any]]) -> LiveView:
    """The view after applying ``events`` in the given order."""
    state = LifterState("alice")
    for event in events:
        state.apply_event(event)
    return state.view(now_s=0.0, now_epoch_s=0.0)


def test_the_view_counts_what_the_session_end_says(events: list[dict[str, Any]]) -> None:
    view = folded(events)
    end = events[-1]
    assert end["type"] == "session_end"
    assert (view.set_number, view.total_reps) == (end["sets"], end["reps"])
    assert view.alert_count == sum(e["type"] == "flexion_alert" for e in events)
    assert view.ended


def test_duplicates_and_any_arrival_order_give_the_same_view(events: list[dict[str, Any]]) -> None:
    shuffled = events + events[::3]
    random.Random(5).shuffle(shuffled)
    assert folded(shuffled) == folded(events)


def test_a_hole_in_seq_marks_the_state_incomplete_until_it_is_filled(
    events: list[dict[str, Any]],
) -> None:
    state = LifterState("alice")
    for event in events[:3] + events[4:]:
        state.apply_event(event)
    assert state.incomplete()
    state.apply_event(events[3])
    assert not state.incomplete()


def test_stragglers_of_an_older_session_are_ignored_and_a_newer_one_resets(
    events: list[dict[str, Any]],
) -> None:
    state = LifterState("alice")
    for event in events:
        state.apply_event(event)
    older = {**events[5], "session_id": "00000000T000000Z-00000000"}
    state.apply_event(older)
    assert state.view(0.0, 0.0).total_reps == events[-1]["reps"]
    newer_id = "99991231T235959Z-ffffffff"
    state.apply_event({**events[0], "session_id": newer_id})
    view = state.view(0.0, 0.0)
    assert (view.session_id, view.total_reps, view.mode) == (newer_id, 0, events[0]["mode"])


def test_the_threshold_set_by_reference_reps_reaches_the_view_and_the_store(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sessions.sqlite3"
    reference = ReferenceSettings(above_deg=4.0, reps=2)
    spec = LifterSpec("alice", (replay_url(FIXTURE, "max"),), reference=reference)
    asyncio.run(Service(ServiceConfig((spec,), db_path=db)).run())
    with SessionStore(db) as store:
        (summary,) = store.list_sessions()
        session_events = [event.payload for event in store.get_session(summary.id).events]
    (threshold,) = [e for e in session_events if e["type"] == "threshold"]
    start = next(e for e in session_events if e["type"] == "session_start")
    assert threshold["threshold_deg"] != start["threshold_deg"]
    assert summary.threshold_deg == threshold["threshold_deg"]
    assert folded(session_events).threshold_deg == threshold["threshold_deg"]
