"""Scoring an analysis against ground truth (processing/offline/evaluation.py), on hand-built cases.

Every expected figure below is worked out by hand in the comments, not by running the code.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from processing.cli import main
from processing.detect.pipeline import PipelineConfig
from processing.offline.analysis import analyze_recording
from processing.offline.evaluation import (
    Counts,
    ErrorStats,
    SetScore,
    match_reps,
    score_alerts,
    score_file,
    score_sets,
    set_outcome,
    total_score,
    with_threshold,
)
from sensor.recording import read_recording

Json = dict[str, Any]


def rep(lockout: float, peak_deg: float = 20.0, alert: bool = False) -> Json:
    """A rep 1.5 s up and 1.5 s down around ``lockout``."""
    return {
        "start": lockout - 1.5,
        "lockout": lockout,
        "end": lockout + 1.5,
        "peak_flexion_deg": peak_deg,
        "flexion_alert": alert,
    }


def lift_set(start: float, end: float, n_reps: int) -> Json:
    """A set spanning ``start``..``end`` with ``n_reps`` evenly spread reps."""
    step = (end - start) / n_reps
    return {
        "start": start,
        "end": end,
        "reps": [rep(start + step * (k + 0.5)) for k in range(n_reps)],
    }


def analysis(sets: list[Json], mode: str = "dual", **extra: Any) -> Json:
    """A contract-2 shaped dict (truth files add ``activities`` and ``threshold_deg``)."""
    return {"mode": mode, "sets": sets, "flexion_events": [], **extra}


# --- reps --------------------------------------------------------------------------------


def test_reps_match_when_lockouts_are_within_three_quarters_of_a_second() -> None:
    truth = [rep(10.0), rep(20.0), rep(30.0), rep(40.0)]
    detected = [rep(10.5), rep(20.875), rep(29.25), rep(40.75), rep(45.0)]
    # |10.5-10|=0.5 yes; |20.875-20|=0.875 no; |29.25-30|=0.75 yes (boundary); |40.75-40|=0.75 yes
    assert match_reps(truth, detected) == [(0, 0), (2, 2), (3, 3)]


def test_rep_matching_is_one_to_one_closest_first() -> None:
    # candidate pairs: (t0,d0) 0.4 s, (t1,d0) 0.3 s, (t1,d1) 0.6 s; (t0,d1) is 1.3 s: too far.
    # Closest first takes (t1,d0); t0 can only pair with d0 and d1 only with t1: both taken.
    truth = [rep(10.0), rep(10.7)]
    detected = [rep(10.4), rep(11.3)]
    assert match_reps(truth, detected) == [(1, 0)]


def test_file_rep_counts_precision_and_recall() -> None:
    truth = analysis(
        [{"start": 8.5, "end": 41.5, "reps": [rep(10.0), rep(20.0), rep(30.0), rep(40.0)]}]
    )
    detected = analysis(
        [
            {
                "start": 9,
                "end": 46.5,
                "reps": [rep(10.5), rep(20.875), rep(29.25), rep(40.75), rep(45.0)],
            }
        ]
    )
    score = score_file("f", truth, detected)
    # matched 3 (see above); detected 5 -> 2 false positives; truth 4 -> 1 missed
    assert score.reps == Counts(tp=3, fp=2, fn=1)
    assert score.reps.precision == pytest.approx(3 / 5)
    assert score.reps.recall == pytest.approx(3 / 4)


# --- sets --------------------------------------------------------------------------------


def test_sets_exact_missed_and_spurious_with_the_activities_they_overlap() -> None:
    truth_sets = [
        lift_set(10, 20, 3),  # A: one detected set with 3 reps -> exact
        lift_set(50, 60, 2),  # B: two detected sets overlap it -> not exact, not missed
        lift_set(100, 110, 2),  # C: one detected set with 1 rep -> not exact
        lift_set(150, 160, 1),  # D: nothing overlaps -> missed
    ]
    detected_sets = [
        lift_set(11, 19, 3),
        lift_set(50, 54, 1),
        lift_set(55, 60, 1),
        lift_set(101, 109, 1),
        lift_set(20, 25, 1),  # touches A's end only: no overlap -> spurious during walk
        lift_set(30, 33, 1),  # spurious during walk
        lift_set(70, 72, 1),  # spurious during sit and plates
        lift_set(200, 201, 1),  # spurious, no activity there
    ]
    activities = [
        {"kind": "walk", "start": 21.0, "end": 40.0},
        {"kind": "sit", "start": 65.0, "end": 80.0},
        {"kind": "plates", "start": 71.0, "end": 75.0},
        {"kind": "set", "start": 9.0, "end": 20.0},
    ]
    score = score_sets(truth_sets, detected_sets, activities)
    assert score == SetScore(
        truth=4,
        exact=1,
        missed=1,
        spurious=4,
        spurious_during={"none": 1, "plates": 1, "sit": 1, "walk": 2},
    )
    assert score.exact_rate == pytest.approx(1 / 4)


def test_one_detected_set_spanning_two_truth_sets_makes_neither_exact() -> None:
    truth_sets = [lift_set(10, 20, 2), lift_set(30, 40, 2)]
    detected_sets = [lift_set(10, 40, 2)]
    assert score_sets(truth_sets, detected_sets, []) == SetScore(truth=2, exact=0, missed=0)


def test_each_truth_set_gets_the_outcome_that_says_how_it_was_miscounted() -> None:
    truth_sets = [
        lift_set(10, 20, 3),  # one detected set, 3 reps -> exact
        lift_set(30, 40, 3),  # one detected set, 2 reps -> under
        lift_set(50, 60, 3),  # one detected set, 4 reps -> over
        lift_set(70, 80, 2),  # two detected sets -> split
        lift_set(90, 95, 1),  # one detected set that also covers the next -> merged
        lift_set(96, 99, 1),  # ... merged too
        lift_set(150, 160, 1),  # nothing -> missed
    ]
    detected_sets = [
        lift_set(11, 19, 3),
        lift_set(31, 39, 2),
        lift_set(51, 59, 4),
        lift_set(71, 74, 1),
        lift_set(75, 79, 1),
        lift_set(90, 99, 2),
    ]
    outcomes = [set_outcome(t, detected_sets, truth_sets) for t in truth_sets]
    assert outcomes == ["exact", "under", "over", "split", "merged", "merged", "missed"]


# --- peak flexion ------------------------------------------------------------------------


def test_flexion_error_is_detected_minus_truth_over_matched_reps() -> None:
    truth = analysis(
        [
            {
                "start": 8,
                "end": 42,
                "reps": [rep(10, 20.0), rep(20, 30.0), rep(30, 40.0), rep(40, 50.0)],
            }
        ]
    )
    detected = analysis(
        [{"start": 8, "end": 32, "reps": [rep(10.2, 21.0), rep(19.9, 28.0), rep(30.1, 43.0)]}]
    )
    score = score_file("f", truth, detected)
    # errors +1, -2, +3 (the rep at 40 s is missed and has no error)
    assert score.flexion_errors_deg == pytest.approx((1.0, -2.0, 3.0))
    stats = ErrorStats.of(score.flexion_errors_deg)
    assert stats.n == 3
    assert stats.rmse == pytest.approx(math.sqrt((1 + 4 + 9) / 3))
    assert stats.bias == pytest.approx(2 / 3)


def test_no_matched_reps_has_no_error_statistics() -> None:
    assert ErrorStats.of(()) == ErrorStats(0, None, None)


# --- alerts ------------------------------------------------------------------------------


def test_alerts_are_scored_per_rep_including_unmatched_reps() -> None:
    truth = [
        rep(10, alert=True),  # matched, both alert -> TP
        rep(20, alert=False),  # matched, only detected alerts -> FP
        rep(30, alert=True),  # matched, only truth alerts -> FN
        rep(40, alert=False),  # matched, neither -> nothing
        rep(50, alert=True),  # missed, alert -> FN
        rep(60, alert=False),  # missed, no alert -> nothing
    ]
    detected = [
        rep(10, alert=True),
        rep(20, alert=True),
        rep(30, alert=False),
        rep(40, alert=False),
        rep(80, alert=True),  # spurious rep with alert -> FP
        rep(90, alert=False),  # spurious rep without alert -> nothing
    ]
    pairs = [(0, 0), (1, 1), (2, 2), (3, 3)]
    alerts = score_alerts(truth, detected, pairs)
    assert alerts == Counts(tp=1, fp=2, fn=2)
    assert alerts.precision == pytest.approx(1 / 3)
    assert alerts.recall == pytest.approx(1 / 3)


def test_no_alerts_anywhere_leaves_precision_and_recall_undefined() -> None:
    assert score_alerts([rep(10)], [rep(10)], [(0, 0)]) == Counts()
    assert Counts().precision is None and Counts().recall is None


def test_truth_alerts_follow_a_threshold_given_on_the_command_line() -> None:
    truth = analysis(
        [
            {
                "start": 0,
                "end": 30,
                "reps": [rep(5, 29.0, False), rep(15, 31.0, True), rep(25, 36.0, True)],
            }
        ],
        threshold_deg=30.0,
    )
    assert with_threshold(truth, 30.0) is truth
    relaxed = with_threshold(truth, 35.0)
    assert [r["flexion_alert"] for r in relaxed["sets"][0]["reps"]] == [False, False, True]
    assert relaxed["threshold_deg"] == 35.0
    assert [r["flexion_alert"] for r in truth["sets"][0]["reps"]] == [False, True, True]


# --- totals ------------------------------------------------------------------------------


def test_totals_sum_files_and_pool_flexion_errors_per_mode() -> None:
    dual_truth = analysis(
        [{"start": 8, "end": 32, "reps": [rep(10, 20.0, True), rep(20, 30.0), rep(30, 40.0)]}],
        activities=[{"kind": "walk", "start": 50, "end": 60}],
    )
    dual_detected = analysis(
        [
            {"start": 8, "end": 32, "reps": [rep(10, 21.0, True), rep(20, 28.0), rep(30, 43.0)]},
            lift_set(52, 55, 1),
        ]
    )
    single_truth = analysis(
        [{"start": 8, "end": 22, "reps": [rep(10, 50.0), rep(20, 60.0)]}], mode="single"
    )
    single_detected = analysis([{"start": 8, "end": 12, "reps": [rep(10, 54.0)]}], mode="single")
    total = total_score(
        [score_file("a", dual_truth, dual_detected), score_file("b", single_truth, single_detected)]
    )
    # dual: 1 truth set, exact (3 = 3), 1 spurious during walk; reps 3 TP + the spurious set's
    # rep as FP. single: 1 truth set, 1 detected set with 1 rep of 2 -> not exact; 1 TP, 1 FN.
    assert total.files == 2
    assert total.sets == SetScore(
        truth=2, exact=1, missed=0, spurious=1, spurious_during={"walk": 1}
    )
    assert total.reps == Counts(tp=4, fp=1, fn=1)
    assert total.alerts == Counts(tp=1, fp=0, fn=0)
    assert total.flexion_errors_deg == {"dual": (1.0, -2.0, 3.0), "single": (4.0,)}
    flexion = total.to_json()["flexion"]
    assert flexion["dual"]["rmse_deg"] == pytest.approx(math.sqrt(14 / 3))
    assert flexion["single"] == {"reps": 1, "rmse_deg": 4.0, "bias_deg": 4.0}


def test_file_figures_as_json() -> None:
    truth = analysis([{"start": 8, "end": 12, "reps": [rep(10, 30.0, True)]}])
    detected = analysis([{"start": 8, "end": 12, "reps": [rep(10.1, 32.5, True)]}])
    assert score_file("session.csv.gz", truth, detected).to_json() == {
        "file": "session.csv.gz",
        "mode": "dual",
        "sets": {
            "truth": 1,
            "exact": 1,
            "exact_rate": 1.0,
            "missed": 0,
            "spurious": 0,
            "spurious_during": {},
        },
        "reps": {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0},
        "alerts": {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0},
        "flexion": {"reps": 1, "rmse_deg": 2.5, "bias_deg": 2.5},
    }


# --- the command -------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE = "edge_25hz"


def copy_fixture(directory: Path, name: str = FIXTURE) -> Json:
    """Copy a fixture recording with its sidecars into ``directory``; return its truth."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in FIXTURES.glob(f"{name}.*"):
        shutil.copy(source, directory / source.name)
    truth: Json = json.loads((directory / f"{name}.truth.json").read_text())
    return truth


def test_evaluate_json_counts_every_truth_set_and_rep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = copy_fixture(tmp_path / "sessions" / "monday")
    assert main(["evaluate", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert [f["file"] for f in figures["files"]] == [f"sessions/monday/{FIXTURE}.csv.gz"]
    reps = figures["total"]["reps"]
    assert figures["total"]["sets"]["truth"] == len(truth["sets"])
    assert reps["tp"] + reps["fn"] == sum(len(s["reps"]) for s in truth["sets"])
    recording = read_recording(tmp_path / "sessions" / "monday" / f"{FIXTURE}.csv.gz")
    config = PipelineConfig(threshold_deg=truth["threshold_deg"])
    detected = analyze_recording(recording, config).to_json()
    assert reps["tp"] + reps["fp"] == sum(len(s["reps"]) for s in detected["sets"])
    assert set(figures["total"]["flexion"]) == {truth["mode"]}
    assert figures["failed"] == {}


def test_evaluate_reports_unreadable_recordings_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_fixture(tmp_path)
    (tmp_path / "broken.csv").write_text("t,ax,ay,az,gx,gy,gz\n0,1,2,3,4,5,6\n0.1,1,2,x,4,5,6\n")
    (tmp_path / "broken.truth.json").write_text(json.dumps({"format": "imu-truth/1", "sets": []}))
    (tmp_path / "no_truth.csv").write_text("t,ax,ay,az,gx,gy,gz\n0,1,2,3,4,5,6\n")
    assert main(["evaluate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{FIXTURE}.csv.gz" in out and "total" in out
    assert "broken.csv" in out and "line 3" in out and "no_truth" not in out


def test_evaluate_without_recordings_with_truth_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no recording with a .truth.json" in capsys.readouterr().err
