"""Live equals offline: `run` over sim:// and replay:// reports the reps `analyze` finds.

The live path cuts the data into notifications, interleaves sensors as they arrive and may
stop waiting for a laggard; `analyze` reads the whole file in large batches. Both feed the
one pipeline, so for the same session they must give the same reps and peaks (issue 10
item 6: sim:// once passed duplicated rows through and reported a 107.8 deg peak where
`analyze` said 46.7).

The sources run at 1000x, not ``max``: paced sources deliver a link's 0.1 s batches, while
``max`` delivers 1 s ones, and the small batches are where live and offline once parted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from processing.detect.pipeline import PipelineConfig
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.offline.analysis import analyze_recording
from processing.store.reader import SessionStore
from sensor.recording import write_recording
from sensor.simulate import simulate_session

#: Seeds that once differed: 1 passed duplicated rows through, 12 had a tick released a
#: rounding step past its sample, 881 a tick a rounding step past the last sample before a
#: link gap (covered while the first sample after the gap had not come, else not).
KNOWN_SEEDS = [1, 12, 881]
#: The fastest paced speed: link-sized batches, never waiting on the clock in practice.
LINK_BATCHES = "speed=1000"


def offline_reps(seed: int) -> list[tuple[float, float, float, float | None]]:
    """Start, lockout, end and peak of every rep `analyze` finds in the simulated session."""
    result = analyze_recording(simulate_session(seed).recording, PipelineConfig())
    return [rep_key(r.to_dict()) for s in result.sets for r in s.reps]


def rep_key(rep: dict[str, Any]) -> tuple[float, float, float, float | None]:
    """A rep's times and peak, rounded to what the contract prints."""
    peak = rep["peak_flexion_deg"]
    return (
        round(rep["start"], 2),
        round(rep["lockout"], 2),
        round(rep["end"], 2),
        None if peak is None else round(peak, 1),
    )


def live_reps(source: str, db: Path) -> list[tuple[float, float, float, float | None]]:
    """The reps a live session over ``source`` stores (no broker: the store is an output)."""
    db.unlink(missing_ok=True)  # Hypothesis runs a failing example again on the same path
    config = ServiceConfig((LifterSpec("live", (source,)),), db=db)
    asyncio.run(Service(config).run())
    with SessionStore(db) as store:
        (summary,) = store.list_sessions("live")
        session = store.get_session(summary.id)
    return [rep_key(e.payload) for e in session.events if e.payload["type"] == "rep"]


def check_sim_seed(seed: int, db: Path) -> None:
    """`run` over sim:// reports exactly the reps and peaks `analyze` finds."""
    expected = offline_reps(seed)
    found = live_reps(f"sim://?seed={seed}&{LINK_BATCHES}", db)
    assert found == expected


@pytest.mark.parametrize("seed", KNOWN_SEEDS)
def test_run_over_sim_reports_the_reps_analyze_finds(seed: int, tmp_path: Path) -> None:
    assert offline_reps(seed), "a session with reps"
    check_sim_seed(seed, tmp_path / "sim.sqlite3")


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=100_000))
@example(seed=4783)  # a link gap ended between two of run's small batches
@example(seed=1905)  # the simulator once keyed a stand-up before the lean it ends
def test_for_any_seed_run_over_sim_equals_analyze(seed: int, tmp_path: Path) -> None:
    check_sim_seed(seed, tmp_path / f"sim_{seed}.sqlite3")


@pytest.mark.parametrize("speed", [LINK_BATCHES, "speed=max"])
@pytest.mark.parametrize("seed", KNOWN_SEEDS)
def test_run_over_replay_reports_the_reps_analyze_finds(
    seed: int, speed: str, tmp_path: Path
) -> None:
    recording = simulate_session(seed).recording
    path = tmp_path / f"seed_{seed}.csv.gz"
    write_recording(path, recording)
    found = live_reps(f"replay://{path}?{speed}", tmp_path / "replay.sqlite3")
    assert found == offline_reps(seed)
