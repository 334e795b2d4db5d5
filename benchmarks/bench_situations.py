"""Situations the rep detector does not handle yet, measured rather than asserted.

Each was a unit test of the rule-per-situation detector that issue 10 replaced with a few
principles (docs/measurement.md). The principles do not cover them; until they do, this
command shows which still fail, so that a change that fixes one (or breaks a passing one in
tests/test_rep_situations.py) is seen. Prints a table; exits 0 either way.

    .venv/bin/python benchmarks/bench_situations.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from processing.detect.pipeline import AnalysisResult, PipelineConfig
from processing.offline.analysis import analyze_recording
from sensor.recording import read_recording, read_truth
from sensor.simulate import Gap, SensorSpec, SessionSpec, SetSpec, simulate_session

DUAL = {"upper": SensorSpec(), "lower": SensorSpec()}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
Truth = dict  # type: ignore[type-arg]


def analyzed(spec: SessionSpec | int) -> tuple[AnalysisResult, Truth]:
    """Simulate a session and analyze its recording at the truth's threshold."""
    session = simulate_session(spec)
    config = PipelineConfig(threshold_deg=session.truth["threshold_deg"])
    return analyze_recording(session.recording, config), session.truth


def counts(result: AnalysisResult, truth: Truth) -> tuple[list[int], list[int]]:
    """Reps per set as detected and as true."""
    return [len(s.reps) for s in result.sets], [len(s["reps"]) for s in truth["sets"]]


def same_counts(spec: SessionSpec) -> bool:
    """Whether every set of the session is counted exactly."""
    detected, true = counts(*analyzed(spec))
    return detected == true


def heavy_single_into_gap(seed: int, wear: str) -> bool:
    """The link drops a quarter into a slow single and returns once the bar is down."""
    sets = (SetSpec(reps=1, load=0.9, sit_before=False),) * 2
    sensors = (
        {"lumbar": SensorSpec()}
        if wear == "single"
        else dict.fromkeys(DUAL, SensorSpec(rate_hz=104.0))
    )
    base = SessionSpec(seed=seed, sensors=sensors, sets=sets)
    first = simulate_session(base).truth["sets"][0]["reps"][0]
    gap_from_s = first["start"] + 0.25 * first["concentric_s"]
    gap = Gap(first["end"] + 0.3 - gap_from_s, at_s=gap_from_s)
    return same_counts(replace(base, gaps=(gap,)))


def light_set_lowered(seed: int) -> bool:
    """At 60% of 1RM the last pull is as quick as standing up after lowering the bar."""
    sets = tuple(SetSpec(reps=3, load=0.6, ending="lower", sit_before=False) for _ in range(2))
    return same_counts(SessionSpec(seed=seed, sensors=DUAL, sets=sets))


def no_rep_during(result: AnalysisResult, truth: Truth, kind: str) -> bool:
    """Whether no detected lockout falls in an activity of ``kind``."""
    spans = [a for a in truth["activities"] if a["kind"] == kind]
    lockouts = [r.lockout for s in result.sets for r in s.reps]
    return bool(spans) and not [t for t in lockouts for a in spans if a["start"] <= t <= a["end"]]


def rep_in_gap_after_first(seed: int) -> bool:
    """A 2.8 s gap swallows the second rep of a set of 3, from early in its pull to after
    it: with one rep seen before it, the set's pace is not known yet."""
    sets = (SetSpec(reps=3, sit_before=False),)
    return same_counts(SessionSpec(seed=seed, sensors=DUAL, sets=sets, gaps=(Gap(2.8, in_set=0),)))


def abandoned_set_up() -> bool:
    """A lifter comes halfway up from a first set-up and bends down again to grip."""
    recording = read_recording(FIXTURES / "random_seed_105.csv.gz")
    truth = read_truth(FIXTURES / "random_seed_105.csv.gz")
    assert truth is not None
    result = analyze_recording(recording, PipelineConfig(threshold_deg=truth["threshold_deg"]))
    return no_rep_during(result, truth, "setup")


SITUATIONS: list[tuple[str, Callable[[], bool]]] = [
    *[
        (f"heavy single into a gap, seed {s} {w}", lambda s=s, w=w: heavy_single_into_gap(s, w))
        for s, w in ((3, "single"), (4, "single"), (9, "single"), (3, "dual"))
    ],
    ("light set lowered, seed 46", lambda: light_set_lowered(46)),
    ("set-up abandoned halfway up", abandoned_set_up),
    *[
        (f"rep in a gap after the first, seed {s}", lambda s=s: rep_in_gap_after_first(s))
        for s in range(30, 36)
    ],
]


def main() -> None:
    """Run every situation and print whether the detector handles it."""
    table = Table(title="Situations outside the detector's principles")
    table.add_column("situation")
    table.add_column("handled")
    handled = 0
    for name, check in SITUATIONS:
        ok = check()
        handled += ok
        table.add_row(name, "yes" if ok else "no")
    Console().print(table)
    print(f"{handled} of {len(SITUATIONS)} handled")


if __name__ == "__main__":
    main()
