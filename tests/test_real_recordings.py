"""The issue 10 targets on real recordings, measured by ``backspotter evaluate ../shared/real``.

The recordings carry no licence, so they never enter this repository: they are read from
``../shared/real`` beside the checkout, and every test here is skipped (saying why) when that
folder is absent, as on a user's clone. Which recordings count for which target is decided
here from the truth fields again (``exercise``, ``expected_reps``, ``person``, ``form``,
``activity``), not taken from the command's targets table, so the table is checked too.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from processing.cli import main
from processing.offline.analysis import analyze_recording
from processing.offline.real_targets import MIN_DEADLIFT_SWING_DEG
from sensor.recording import read_recording, read_truth
from sensor.sim.devices import read_by

REAL = Path(__file__).parents[1] / ".." / "shared" / "real"
#: SisFall activities that must give no rep: walking, stairs, sitting down and getting up,
#: sit-lie-sit.
NO_REP_ACTIVITIES = {"D01", "D02", "D05", "D06", "D07", "D08", "D09", "D10", "D13"}
#: SisFall single bends: one unloaded bend each, not scored.
UNSCORED_ACTIVITIES = {"D15", "D16"}

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"no real recordings at {REAL.resolve()}: they carry no licence, so they live "
    "beside the checkout in ../shared/real and never in the repository",
)

Json = dict[str, Any]


@pytest.fixture(scope="module")
def figures() -> Json:
    """``evaluate ../shared/real --json``, run once for the module."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["evaluate", str(REAL), "--json"])
    assert status == 0, out.getvalue()
    result: Json = json.loads(out.getvalue())
    return result


def real_files(figures: Json) -> list[Json]:
    """The per-file figures of the real recordings."""
    files: list[Json] = figures["real"]["files"]
    return files


def target(figures: Json, starts: str) -> Json:
    """The targets-table row whose name starts with ``starts``."""
    rows = [t for t in figures["real"]["targets"] if t["target"].startswith(starts)]
    assert len(rows) == 1, [t["target"] for t in figures["real"]["targets"]]
    row: Json = rows[0]
    return row


def describe(files: list[Json]) -> list[str]:
    """``name: found (expected +-tol, swing deg)`` for failure messages."""
    return [
        f"{f['file']}: {f['reps_found']} reps (expected {f['expected_reps']} +-{f['tolerance']}, "
        f"swing {f['swing_deg']:.1f} deg)"
        for f in files
    ]


def activity_code(file: Json) -> str | None:
    """``D07`` of a SisFall recording's ``activity`` (``D07: Slowly sit ...``)."""
    match = re.match(r"(D\d\d):", file.get("activity") or "")
    return match.group(1) if match else None


def test_every_real_recording_was_read_and_none_is_simulated(figures: Json) -> None:
    assert figures["failed"] == {}
    assert figures["files"] == []  # no full truth: nothing in the simulated section
    assert len(real_files(figures)) >= 100


def test_every_deadlift_set_whose_sensor_swings_20_deg_is_counted_within_tolerance(
    figures: Json,
) -> None:
    deadlifts = [
        f
        for f in real_files(figures)
        if f["exercise"] == "deadlift"
        and f["expected_reps"] is not None
        and f["swing_deg"] >= MIN_DEADLIFT_SWING_DEG
    ]
    assert len(deadlifts) >= 3  # Kiana good and bad, Tom bad
    wrong = [f for f in deadlifts if abs(f["reps_found"] - f["expected_reps"]) > f["tolerance"]]
    assert wrong == [], describe(wrong)
    assert len(target(figures, "deadlift sets swinging >=")["items"]) == len(deadlifts)


def test_toms_good_form_set_is_reported_but_not_required(figures: Json) -> None:
    tom_good = [
        f
        for f in real_files(figures)
        if f["exercise"] == "deadlift" and f["person"] == "Tom" and f["form"] == "good"
    ]
    assert len(tom_good) == 1 and tom_good[0]["swing_deg"] < MIN_DEADLIFT_SWING_DEG
    small = target(figures, "deadlift sets swinging <")
    assert not small["required"] and small["items"] == [tom_good[0]["file"]]


def test_bad_form_shows_a_larger_median_peak_than_the_same_lifters_good_form(
    figures: Json,
) -> None:
    sets: dict[str, dict[str, Json]] = {}
    for f in real_files(figures):
        if f["exercise"] == "deadlift" and f["form"] in ("good", "bad"):
            sets.setdefault(f["person"], {})[f["form"]] = f
    compared = {
        person: (pair["good"]["median_peak_deg"], pair["bad"]["median_peak_deg"])
        for person, pair in sets.items()
        if len(pair) == 2
        and pair["good"]["median_peak_deg"] is not None
        and pair["bad"]["median_peak_deg"] is not None
    }
    assert compared, f"no lifter has reps in both a good and a bad set: {sets}"
    not_larger = {p: peaks for p, peaks in compared.items() if not peaks[1] > peaks[0]}
    assert not_larger == {}, f"(good, bad) median peak deg: {not_larger}"
    assert sorted(target(figures, "bad form")["items"]) == sorted(compared)


def test_no_reps_in_overhead_press_push_up_and_row_sets(figures: Json) -> None:
    others = [f for f in real_files(figures) if f["exercise"] in ("ohp", "pushup", "row")]
    assert {f["exercise"] for f in others} == {"ohp", "pushup", "row"}
    with_reps = [f for f in others if f["reps_found"] != 0]
    assert with_reps == [], describe(with_reps)


#: Everyday recordings that still count a rep (target: 0), measured after the last change.
EVERYDAY_WITH_REPS_NOW = 4


def test_few_reps_in_walking_stairs_and_sit_to_stand_recordings(figures: Json) -> None:
    everyday = [f for f in real_files(figures) if activity_code(f) in NO_REP_ACTIVITIES]
    assert {activity_code(f) for f in everyday} == NO_REP_ACTIVITIES
    assert all(f["expected_reps"] == 0 for f in everyday)
    with_reps = [f for f in everyday if f["reps_found"] != 0]
    share = f"{len(with_reps)} of {len(everyday)} recordings"
    # The target is none; slow sit-to-stands (a trunk leaning 25-50 deg for seconds, a
    # single rise) still pass for lone reps, and so do sit-lie-sits whose waist device's face
    # does not follow the trunk (README, docs/measurement.md). This ceiling is
    # what the detector achieves today, so any step back fails here.
    assert len(with_reps) <= EVERYDAY_WITH_REPS_NOW, f"{share}: " + "; ".join(describe(with_reps))
    assert len(target(figures, "walking, stairs")["items"]) == len(everyday)


def test_single_bends_and_squat_sets_are_listed_but_not_scored(figures: Json) -> None:
    bends = [f for f in real_files(figures) if activity_code(f) in UNSCORED_ACTIVITIES]
    squats = [f for f in real_files(figures) if f["exercise"] == "squat"]
    assert {activity_code(f) for f in bends} == UNSCORED_ACTIVITIES and squats
    assert all(f["right"] is None for f in bends + squats)
    in_targets = {item for t in figures["real"]["targets"] for item in t["items"]}
    assert not in_targets & {f["file"] for f in bends + squats}


@pytest.mark.parametrize(
    ("device", "chip", "unit"), [("movesense", "LSM6DS3", 1), ("witmotion", "MPU-6050", 2)]
)
def test_no_reps_in_presses_push_ups_and_rows_read_by_a_worse_sensor(
    device: str, chip: str, unit: int
) -> None:
    # The units of benchmarks/bench_real_variants.py (seed 20261207 and the unit number):
    # a gyroscope offset never seen still (the LSM6DS3's 9 deg/s) and an accelerometer
    # offset (the MPU-6050's 66-76 mg) swung the push-ups' near-horizontal backs through
    # 20 deg, and they counted 6 and 7 reps.
    counted = {}
    for path in sorted(REAL.rglob("*.csv*")):
        truth = read_truth(path)
        if truth is None or truth.get("exercise") not in {"ohp", "pushup", "row"}:
            continue
        recording = read_recording(path)
        sensors = {
            role: read_by(batch, device, chip, np.random.default_rng([20261207, unit]))
            for role, batch in recording.sensors.items()
        }
        result = analyze_recording(replace(recording, sensors=sensors))
        counted[path.name] = sum(len(lift_set.reps) for lift_set in result.sets)
    assert len(counted) == 9
    assert counted == dict.fromkeys(counted, 0)
