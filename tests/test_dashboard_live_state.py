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
    asyncio.run(Service(ServiceConfig((spec,), db=db)).run())
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
    asyncio.run(Service(ServiceConfig((spec,), db=db)).run())
    with SessionStore(db) as store:
        (summary,) = store.list_sessions()
        session_events = [event.payload for event in store.get_session(summary.id).events]
    (threshold,) = [e for e in session_events if e["type"] == "threshold"]
    start = next(e for e in session_events if e["type"] == "session_start")
    assert threshold["threshold_deg"] != start["threshold_deg"]
    assert summary.threshold_deg == threshold["threshold_deg"]
    assert folded(session_events).threshold_deg == threshold["threshold_deg"]


SESSION = "20250615T081500Z-2f087cb5"


def event(seq: int, kind: str, **fields: Any) -> dict[str, Any]:
    """One contract-3 event of ``SESSION``."""
    return {"v": 1, "type": kind, "session_id": SESSION, "seq": seq, "ts": 1_000 * seq, **fields}


def rep(seq: int, set_number: int, number: int, start: float, end: float, peak: float) -> Any:
    """A ``rep`` event."""
    return event(
        seq, "rep", t=end, set=set_number, rep=number, start=start, lockout=start + 1, end=end,
        concentric_s=1.0, eccentric_s=1.0, peak_flexion_deg=peak, flexion_alert=peak > 30,
        seconds_above_threshold=0.0,
    )  # fmt: skip


def alert(seq: int, t: float, set_number: int | None, number: int | None) -> dict[str, Any]:
    """A ``flexion_alert`` at ``t``."""
    return event(seq, "flexion_alert", t=t, angle_deg=30.4, threshold_deg=30.0, set=set_number,
                 rep=number)  # fmt: skip


def test_an_alert_names_only_a_rep_that_covers_its_time() -> None:
    start = event(1, "session_start", t=0.0, mode="dual", roles=["upper", "lower"],
                  threshold_deg=30.0)  # fmt: skip
    # Setting up at 13 s: an older service tagged it with the next rep, the new one with null.
    tagged, untagged = alert(2, 13.0, 1, 1), alert(3, 14.0, None, None)
    view = folded([start, tagged, untagged])
    assert [a.where for a in view.alerts] == ["outside a rep", "in the current rep"]
    # The set's reps come later and none covers 13-14 s: neither alert names a rep.
    reps = [rep(4, 1, 1, 43.0, 46.0, 25.0), rep(5, 1, 2, 47.0, 50.0, 26.0)]
    later = folded([start, tagged, untagged, *reps, event(6, "set_end", t=51.0, set=1, reps=2)])
    assert [a.where for a in later.alerts] == ["outside a rep", "outside a rep"]
    # An alert inside a rep is placed once that rep is reported, even when its tag was null.
    inside = alert(7, 55.0, None, None)
    placed = folded([start, inside, rep(8, 2, 1, 54.0, 57.0, 35.0)])
    assert placed.alerts[0].where == "in set 2 rep 1"


def test_the_fixture_alerts_outside_its_sets_are_shown_outside_a_rep(
    events: list[dict[str, Any]],
) -> None:
    reps = [e for e in events if e["type"] == "rep"]
    for shown in folded(events).alerts:
        covering = [r for r in reps if r["start"] <= shown.t_s <= r["end"]]
        expected = (
            f"in set {covering[0]['set']} rep {covering[0]['rep']}"
            if covering
            else ("outside a rep")
        )
        assert shown.where == expected


def test_each_alert_carries_the_peak_its_clear_reported(events: list[dict[str, Any]]) -> None:
    clears = [e for e in events if e["type"] == "flexion_clear"]
    shown = folded(events).alerts
    assert shown and all(a.peak_deg is not None for a in shown)
    for a in shown:
        clear = next(c for c in clears if c["start"] <= a.t_s + 1e-6 and c["end"] >= a.t_s)
        assert a.peak_deg == clear["peak_deg"] >= a.angle_deg - 1e-6


def test_the_worst_rep_of_the_current_set_is_in_the_view(events: list[dict[str, Any]]) -> None:
    view = folded(events)
    last_set = [e for e in events if e["type"] == "rep" and e["set"] == view.set_number]
    worst = max(last_set, key=lambda e: e["peak_flexion_deg"])
    assert view.worst_in_set == (worst["rep"], worst["peak_flexion_deg"])


def test_a_clean_stop_reads_finished_even_without_the_sessions_events() -> None:
    state = LifterState("alice")
    state.apply_status({"v": 1, "state": "offline", "session_id": SESSION, "sensors": {},
                        "ts": 1_749_975_315_759})  # fmt: skip
    view = state.view(0.0, 0.0)
    assert (view.service, view.ended) == ("finished", True)
    # The broker's last will (no ts) still means the service died mid-session.
    state.apply_status({"v": 1, "state": "offline", "session_id": SESSION, "sensors": {},
                        "ts": None})  # fmt: skip
    assert state.view(0.0, 0.0).service == "OFFLINE"


def test_before_the_upright_reference_the_view_says_it_is_not_calibrated(
    events: list[dict[str, Any]],
) -> None:
    first_calibrated = next(i for i, e in enumerate(events) if e["type"] == "calibrated")
    assert not folded(events[:first_calibrated]).calibrated
    assert folded(events).calibrated
