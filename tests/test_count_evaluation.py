"""Count-only truth (real recordings): scoring, targets, sensor swing and the evaluate command.

Truth files are written in tmp_path and read back as ``evaluate`` reads them; the detected side
is a hand-built contract-2 dict, so every expected figure is worked out by hand.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from processing.cli import main
from processing.offline.analysis import analyze_recording
from processing.offline.count_evaluation import (
    CountScore,
    group_counts,
    is_count_only,
    score_count,
)
from processing.offline.real_targets import MIN_DEADLIFT_SWING_DEG, real_targets
from processing.offline.swing import sensor_swing_deg
from sensor.recording import Recording, read_recording, read_truth
from sensor.samples import SampleBatch

Json = dict[str, Any]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE = "edge_25hz"


def detected_with(reps_per_set: list[int], peak_deg: float = 30.0) -> Json:
    """A contract-2 analysis with the given reps per set, every rep peaking at ``peak_deg``."""
    rep = {"start": 0.0, "lockout": 1.0, "end": 2.0, "peak_flexion_deg": peak_deg}
    sets = [{"start": 0.0, "end": 2.0, "reps": [dict(rep) for _ in range(n)]} for n in reps_per_set]
    return {"mode": "single", "sets": sets}


def truth_file(directory: Path, name: str, **fields: Any) -> Json:
    """Write ``name.truth.json`` (beside an empty ``name.csv``) and read it back."""
    (directory / f"{name}.csv").write_text("")
    (directory / f"{name}.truth.json").write_text(json.dumps({"mode": "single", **fields}))
    truth = read_truth(directory / f"{name}.csv")
    assert truth is not None
    return truth


def count(name: str, exercise: str, expected: int | None, found: int, **extra: Any) -> CountScore:
    """A count-only score built by hand."""
    fields: dict[str, Any] = {"tolerance": 1 if expected else 0, "median_peak_deg": None}
    fields.update(extra)
    return CountScore(name, "single", exercise, expected, reps_found=found, **fields)


# --- scoring one file --------------------------------------------------------------------


def test_ten_expected_with_tolerance_one_and_nine_found_is_right(tmp_path: Path) -> None:
    truth = truth_file(tmp_path, "dl", exercise="deadlift", expected_reps=10, tolerance=1)
    assert is_count_only(truth)
    score = score_count("dl.csv", truth, detected_with([5, 4]), swing_deg=40.0)
    # 5 + 4 = 9 reps found over two sets; |9 - 10| = 1 <= 1
    assert (score.reps_found, score.scored, score.right) == (9, True, True)
    assert score.median_peak_deg == 30.0 and score.expected_text == "10 +-1"


def test_eight_found_of_ten_with_tolerance_one_is_wrong(tmp_path: Path) -> None:
    truth = truth_file(tmp_path, "dl", exercise="deadlift", expected_reps=10, tolerance=1)
    assert score_count("dl.csv", truth, detected_with([8]), None).right is False


def test_zero_expected_and_one_found_is_wrong(tmp_path: Path) -> None:
    truth = truth_file(tmp_path, "walk", exercise="walking", expected_reps=0, tolerance=0)
    score = score_count("walk.csv", truth, detected_with([1]), None)
    assert (score.reps_found, score.right, score.expected_text) == (1, False, "0")
    assert score_count("walk.csv", truth, detected_with([]), None).right is True


def test_null_expected_is_listed_but_not_scored(tmp_path: Path) -> None:
    truth = truth_file(tmp_path, "bend", exercise="stoop_bend", expected_reps=None, tolerance=0)
    assert is_count_only(truth)
    score = score_count("bend.csv", truth, detected_with([1]), None)
    assert (score.scored, score.right, score.expected_text) == (False, None, "not scored")
    assert score.to_json()["right"] is None and score.to_json()["reps_found"] == 1


def test_reps_without_a_peak_leave_the_median_undefined() -> None:
    detected = detected_with([2])
    for rep in detected["sets"][0]["reps"]:
        rep["peak_flexion_deg"] = None
    score = score_count("x.csv", {"exercise": "deadlift", "expected_reps": 2}, detected, None)
    assert score.median_peak_deg is None and score.right is True


def test_full_truth_is_not_count_only() -> None:
    assert not is_count_only({"sets": [], "expected_reps": 3})
    assert not is_count_only({"mode": "dual"})


def test_lifters_sets_are_rows_of_their_own_and_everyday_files_group_by_activity() -> None:
    scores = [
        count("a/walk_1.csv", "walking", 0, 0, activity="D01: Walking"),
        count("a/walk_2.csv", "walking", 0, 2, activity="D01: Walking"),
        count("b/dl_Ann_good.csv", "deadlift", 10, 10, person="Ann", form="good"),
        count("b/ohp_x.csv", "ohp", 0, 0),
    ]
    groups = group_counts(scores)
    assert [g.label for g in groups] == ["D01: Walking", "b/dl_Ann_good.csv", "ohp"]
    walking = groups[0]
    assert (walking.right, len(walking.scored), walking.reps_found) == (1, 2, 2)
    assert [m.name for m in walking.wrong] == ["a/walk_2.csv"]


# --- targets -----------------------------------------------------------------------------


def test_targets_take_their_files_from_exercise_swing_person_and_form() -> None:
    scores = [
        count("dl_Ann_good", "deadlift", 10, 9, person="Ann", form="good", median_peak_deg=30.0,
              swing_deg=40.0),
        count("dl_Ann_bad", "deadlift", 10, 12, person="Ann", form="bad", median_peak_deg=50.0,
              swing_deg=60.0),
        count("dl_Bo_good", "deadlift", 10, 0, person="Bo", form="good", swing_deg=10.0),
        count("dl_Bo_bad", "deadlift", 10, 10, person="Bo", form="bad", median_peak_deg=40.0,
              swing_deg=30.0),
        count("ohp_Bo", "ohp", 0, 1),
        count("row_Bo", "row", 0, 0),
        count("walk", "walking", 0, 0),
        count("sit", "sit_lie_sit", 0, 0),
        count("bend", "stoop_bend", None, 3),
        count("squat", "squat", None, 4),
    ]  # fmt: skip
    swing, small, form, other, everyday = real_targets(scores)
    # Ann bad found 12 of 10 +-1: missed; Bo good swings 10 deg < 20: only reported
    assert swing.required and swing.items == ("dl_Ann_good", "dl_Ann_bad", "dl_Bo_bad")
    assert swing.met == ("dl_Ann_good", "dl_Bo_bad")
    assert swing.missed == ("dl_Ann_bad: 12 rep(s), expected 10 +-1",)
    assert not small.required and small.items == ("dl_Bo_good",) and small.met == ()
    # Ann 50 > 30 deg: met; Bo's good set has no reps, so Bo is not compared
    assert (form.items, form.met, form.missed) == (("Ann",), ("Ann",), ())
    assert form.not_compared == ("Bo: no reps with a peak in good",)
    assert other.items == ("ohp_Bo", "row_Bo") and other.missed == ("ohp_Bo: 1 rep(s), expected 0",)
    assert everyday.items == ("walk", "sit") and everyday.met == ("walk", "sit")
    assert MIN_DEADLIFT_SWING_DEG == 20.0


def test_bad_form_with_a_smaller_median_peak_misses_the_target() -> None:
    scores = [
        count("g", "deadlift", 10, 10, person="Cy", form="good", median_peak_deg=45.0),
        count("b", "deadlift", 10, 10, person="Cy", form="bad", median_peak_deg=40.0),
    ]
    form = real_targets(scores)[2]
    assert form.missed == ("Cy: bad 40.0 deg <= good 45.0 deg",) and form.met == ()


# --- sensor swing ------------------------------------------------------------------------


def tilting_recording(amplitude_deg: float, rate_hz: float = 50.0) -> Recording:
    """A sensor strapped at an odd angle whose gravity tilts +-amplitude in one plane at 0.25 Hz."""
    t_s = np.arange(0.0, 60.0, 1 / rate_hz)
    tilt = np.radians(amplitude_deg) * np.sin(2 * math.pi * 0.25 * t_s)
    upright = np.array([np.cos(tilt), np.sin(tilt), np.zeros_like(tilt)]).T * 9.81
    # strapping: rotate every vector by a fixed rotation about an oblique axis
    axis = np.array([1.0, 2.0, 3.0]) / math.sqrt(14.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = math.radians(70.0)
    strap = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
    batch = SampleBatch("lumbar", t_s, upright @ strap.T, np.zeros_like(upright))
    return Recording({"lumbar": batch})


@pytest.mark.parametrize("amplitude_deg", [5.0, 15.0, 40.0])
def test_swing_is_the_spread_of_the_tilt_at_any_strapping_angle(amplitude_deg: float) -> None:
    swing_deg = sensor_swing_deg(tilting_recording(amplitude_deg))
    assert swing_deg is not None
    # a 4 s period barely feels the 0.5 s mean; p5..p95 of a sine spans 2 A sin(0.45 pi)
    expected_deg = 2 * amplitude_deg * math.sin(0.45 * math.pi)
    assert swing_deg == pytest.approx(expected_deg, rel=0.05)


def test_swing_needs_a_back_sensor() -> None:
    batch = tilting_recording(10.0).sensors["lumbar"]
    lower = SampleBatch("lower", batch.t_s, batch.accel_mps2, batch.gyro_rps)
    assert sensor_swing_deg(Recording({"lower": lower})) is None


# --- the command -------------------------------------------------------------------------


def test_evaluate_prints_real_and_simulated_sections_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, sim = tmp_path / "real", tmp_path / "sim"
    real.mkdir()
    sim.mkdir()
    found = len(
        [
            rep
            for s in analyze_recording(read_recording(FIXTURES / f"{FIXTURE}.csv.gz")).sets
            for rep in s.reps
        ]
    )
    for source in FIXTURES.glob(f"{FIXTURE}.*"):
        shutil.copy(source, sim / source.name)
    truths = {
        "right": {"exercise": "deadlift", "expected_reps": found + 1, "tolerance": 1},
        "wrong": {"exercise": "walking", "expected_reps": 0, "tolerance": 0},
        "unscored": {"exercise": "squat", "expected_reps": None, "tolerance": 0},
    }
    for name, truth in truths.items():
        shutil.copy(FIXTURES / f"{FIXTURE}.csv.gz", real / f"{name}.csv.gz")
        (real / f"{name}.truth.json").write_text(json.dumps({"mode": "single", **truth}))

    assert main(["evaluate", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert [f["file"] for f in figures["files"]] == [f"sim/{FIXTURE}.csv.gz"]
    by_name = {f["file"]: f for f in figures["real"]["files"]}
    assert {n: f["right"] for n, f in by_name.items()} == {
        "real/right.csv.gz": True,
        "real/unscored.csv.gz": None,
        "real/wrong.csv.gz": found == 0,
    }
    assert all(f["reps_found"] == found for f in by_name.values())
    assert (figures["real"]["scored"], figures["real"]["right"]) == (2, 1 + (found == 0))
    assert figures["real"]["targets"][0]["target"].startswith("deadlift sets")

    assert main(["evaluate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("Real recordings") < out.index("Targets") < out.index("Simulated sessions")
    assert "not scored" in out and "total" in out


def test_evaluate_refuses_a_truth_with_neither_sets_nor_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FIXTURES / f"{FIXTURE}.csv.gz", tmp_path / "odd.csv.gz")
    (tmp_path / "odd.truth.json").write_text(json.dumps({"mode": "single"}))
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "neither sets nor expected_reps" in capsys.readouterr().out
