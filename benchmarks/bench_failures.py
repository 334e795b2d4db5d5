"""Where the detector fails on simulated sessions, by what the simulator drew for them.

A simulated session's seed draws everything about it again (``sensor/sim/population.py``):
the lifter's body and habits, the device, its rate and strap, where the recording starts.
This command analyzes every session under the given folders whose truth names the population
and seed that drew it (``fixtures/make_fixtures.py --unseen`` writes them so for the wide
population; other recordings are skipped and counted), puts every truth set in one
outcome (``processing/offline/evaluation.py``'s ``set_outcome``: exact, missed, merged,
split, under, over) and prints the share of sets not counted exactly:

- per value of each choice drawn (device, chip, sample rate, one or two sensors, where the
  recording starts, ...) and per kind of set (its number of reps, the session's first set);
- for each number drawn (trunk angle at the bottom, concentric time, ...), in the lowest
  and the highest quarter of its values, the settings whose quarters differ most first;
- by the set's true peak, with one sensor (its inclination: what the hinge angle swings
  through, which must reach 20 deg for a rep) and with two (lumbar flexion).

The figures describe the populations given, read by today's detector: use spent ones (see
docs/simulator.md) so that no hold-out is read. Nothing is written to disk.

    .venv/bin/python benchmarks/bench_failures.py DIR [DIR ...] [--top N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from processing.detect.pipeline import PipelineConfig
from processing.offline.analysis import analyze_recording
from processing.offline.evaluation import SetOutcome, set_outcome
from sensor.recording import read_recording
from sensor.sim.population import POPULATIONS
from sensor.sim.spec import SessionSpec

#: Outcomes in the order the tables show them.
OUTCOMES: tuple[SetOutcome, ...] = ("exact", "missed", "under", "over", "merged", "split")

#: Edges of the true-peak bands, in deg: 20 is the smallest swing a rep makes
#: (``RepSettings.min_swing_deg``).
PEAK_EDGES_DEG = (0.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 180.0)

#: Rest between sets, s, the specs are drawn again with: only the simulation reads it, none
#: of the settings this command compares.
REST_S = (60.0, 240.0)

Drawn = dict[str, Any]


@dataclass(frozen=True)
class SetRow:
    """One truth set: how it was counted, and what was drawn for its session and for it."""

    outcome: SetOutcome
    drawn: Drawn
    #: The mean of its reps' true peaks, in deg: lumbar flexion with two sensors, the
    #: sensor's inclination with one (what the hinge angle swings through).
    peak_deg: float


def session_drawn(spec: SessionSpec) -> Drawn:
    """What the seed drew for a session: the lifter's numbers, the first sensor's device,
    chip, rate and strap, and the session's choices."""
    drawn: Drawn = {}
    if spec.lifter is not None:
        drawn.update(_numbers(spec.lifter))
        drawn.update(_numbers(spec.lifter.habits))
    sensor = next(iter(spec.sensors.values()))
    drawn.update(
        sensors="+".join(spec.sensors),
        device=sensor.device,
        chip=sensor.imu,
        rate_hz=sensor.rate_hz,
        face_out=sensor.mount.face_out,
        loose_strap=sensor.mount.wobble_hz > 0.0,
        recording_start=spec.recording_start,
        calibration_stance=spec.include_calibration,
        stance=spec.stance,
    )
    return drawn


def _numbers(record: object) -> Drawn:
    """The float fields of a dataclass instance."""
    assert is_dataclass(record)
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    return {name: value for name, value in values.items() if isinstance(value, float)}


def session_rows(path: Path) -> list[SetRow] | None:
    """Every truth set of one simulated session, analyzed with today's detector; None for a
    recording no population's seed drew (a hand-made fixture, a real recording)."""
    truth_path = Path(str(path).replace(".csv.gz", ".truth.json"))
    if not truth_path.exists():
        return None
    truth = json.loads(truth_path.read_text())
    simulator = truth.get("simulator", {})
    if simulator.get("population") not in POPULATIONS:
        return None
    spec = POPULATIONS[simulator["population"]](int(simulator["seed"]), REST_S)
    detected = analyze_recording(read_recording(path), PipelineConfig()).to_json()["sets"]
    drawn = session_drawn(spec)
    rows = []
    for index, truth_set in enumerate(truth["sets"]):
        own = {"reps_in_set": len(truth_set["reps"]), "first_set": index == 0}
        outcome = set_outcome(truth_set, detected, truth["sets"])
        peak_deg = float(np.mean([rep["peak_flexion_deg"] for rep in truth_set["reps"]]))
        rows.append(SetRow(outcome, {**drawn, **own}, peak_deg))
    return rows


def choices_table(rows: Sequence[SetRow]) -> Table:
    """Share of sets not exact per value of every drawn choice."""
    table = _outcome_table("choice", "value")
    for key in _common_keys(rows, numbers=False):
        groups: dict[Any, list[SetRow]] = defaultdict(list)
        for row in rows:
            groups[row.drawn[key]].append(row)
        for value, group in sorted(groups.items(), key=lambda item: item[0]):
            table.add_row(key, str(value), *_outcome_cells(group))
        table.add_section()
    return table


def numbers_table(rows: Sequence[SetRow], top: int) -> Table:
    """Share of sets not exact in the lowest and highest quarter of each drawn number."""
    table = _outcome_table("number", "quarter")
    spreads = []
    for key in _common_keys(rows, numbers=True):
        values = np.array([row.drawn[key] for row in rows])
        low_edge, high_edge = np.quantile(values, [0.25, 0.75])
        low = [row for row, v in zip(rows, values, strict=True) if v <= low_edge]
        high = [row for row, v in zip(rows, values, strict=True) if v >= high_edge]
        spreads.append((abs(_failed(high) - _failed(low)), key, low_edge, high_edge, low, high))
    for _, key, low_edge, high_edge, low, high in sorted(spreads, reverse=True)[:top]:
        table.add_row(key, f"<= {low_edge:.3g}", *_outcome_cells(low))
        table.add_row("", f">= {high_edge:.3g}", *_outcome_cells(high))
        table.add_section()
    return table


def peaks_table(rows: Sequence[SetRow]) -> Table:
    """Share of sets not exact by their true peak, for one sensor and for two."""
    table = _outcome_table("sensors", "true peak, deg")
    for mode, single in (("one", True), ("two", False)):
        own = [row for row in rows if ("+" not in row.drawn["sensors"]) == single]
        for low, high in itertools.pairwise(PEAK_EDGES_DEG):
            group = [row for row in own if low <= row.peak_deg < high]
            if group:
                table.add_row(mode, f"{low:g}-{high:g}", *_outcome_cells(group))
        table.add_section()
    return table


def _common_keys(rows: Sequence[SetRow], numbers: bool) -> list[str]:
    """The drawn settings every row has (a classic session draws no lifter numbers): the
    numbers (``numbers``) or the choices, the sample rate among the choices."""
    keys = [k for k in rows[0].drawn if all(k in row.drawn for row in rows)]
    return [k for k in keys if (isinstance(rows[0].drawn[k], float) and k != "rate_hz") == numbers]


def _outcome_table(what: str, which: str) -> Table:
    """An empty table with a column per outcome."""
    table = Table()
    for name in (what, which, "sets", "not exact"):
        table.add_column(name, justify="left" if name in (what, which) else "right")
    for outcome in OUTCOMES[1:]:
        table.add_column(outcome, justify="right")
    return table


def _outcome_cells(rows: Sequence[SetRow]) -> list[str]:
    """Sets, the share not exact, and how many of each failed outcome."""
    counts = Counter(row.outcome for row in rows)
    return [str(len(rows)), f"{_failed(rows):.0%}", *(str(counts[o]) for o in OUTCOMES[1:])]


def _failed(rows: Iterable[SetRow]) -> float:
    """Share of ``rows`` not counted exactly."""
    outcomes = [row.outcome for row in rows]
    return 1.0 - outcomes.count("exact") / len(outcomes) if outcomes else 0.0


def main(argv: Sequence[str]) -> int:
    """Analyze every simulated session under the folders given and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=12, help="numbers shown (default 12)")
    args = parser.parse_args(argv)
    paths = sorted(p for folder in args.folders for p in folder.glob("*.csv.gz"))
    with Pool() as pool:
        per_session = [rows for rows in pool.map(session_rows, paths) if rows is not None]
    rows = [row for rows in per_session for row in rows]
    if not rows:
        parser.error("no set in a session drawn from a population's seed in the folders given")
    console = Console(width=140)
    skipped = len(paths) - len(per_session)
    console.print(
        f"{len(rows)} sets in {len(per_session)} sessions ({skipped} recordings skipped: "
        f"their truth names no population): {_failed(rows):.1%} not exact"
    )
    console.print(choices_table(rows))
    console.print(numbers_table(rows, args.top))
    console.print(peaks_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
