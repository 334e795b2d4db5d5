"""The ``evaluate`` command's output: real recordings, then simulated sessions, then failures.

Real recordings (count-only truth) are printed by :mod:`processing.offline.count_report`;
simulated sessions (full truth) get figures per file, totals and peak-flexion error per mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from processing.offline.count_evaluation import CountScore
from processing.offline.count_report import print_real
from processing.offline.evaluation import Counts, ErrorStats, FileScore, SetScore, TotalScore
from processing.offline.real_targets import TargetResult

#: What the peak angle measures in each mode (docs/measurement.md).
ANGLE_OF_MODE = {"dual": "lumbar flexion", "single": "trunk inclination"}
_COLUMNS = (
    "file", "mode", "sets", "exact", "missed", "spurious", "reps TP/FP/FN",
    "rep P", "rep R", "peak RMSE deg", "peak bias deg", "alert P", "alert R",
)  # fmt: skip
#: Width of the tables when output goes to a file or pipe rather than a terminal.
FILE_OUTPUT_WIDTH = 200


def print_evaluation(
    scores: Sequence[FileScore],
    total: TotalScore,
    failures: Mapping[str, str],
    real: Sequence[CountScore] = (),
    targets: Sequence[TargetResult] = (),
) -> None:
    """Real recordings and their targets, simulated sessions, then what could not be read."""
    console = Console()
    if not console.is_terminal:
        console.width = FILE_OUTPUT_WIDTH  # a log keeps whole rows, whatever the terminal was
    if real:
        console.rule("Real recordings")
        print_real(console, real, targets)
    if scores:
        console.rule("Simulated sessions")
        print_simulated(console, scores, total)
    for name, reason in failures.items():
        console.print(f"[red]not evaluated[/red] {name}: {reason}")


def print_simulated(console: Console, scores: Sequence[FileScore], total: TotalScore) -> None:
    """Per-file table with a total row, the flexion error per mode, and spurious sets."""
    table = Table(title="Evaluation against ground truth")
    table.add_column(_COLUMNS[0], overflow="fold")
    for name in _COLUMNS[1:]:
        table.add_column(name, justify="left" if name == "mode" else "right", no_wrap=True)
    for score in scores:
        flexion = ErrorStats.of(score.flexion_errors_deg)
        table.add_row(
            score.name, score.mode, *_cells(score.sets, score.reps, score.alerts, flexion)
        )
    table.add_section()
    table.add_row("total", "", *_cells(total.sets, total.reps, total.alerts, None), style="bold")
    console.print(table)
    console.print(_flexion_table(total.flexion_errors_deg))
    console.print(_spurious_line(total.sets))


def _cells(sets: SetScore, reps: Counts, alerts: Counts, flexion: ErrorStats | None) -> list[str]:
    """The figure columns of one row; flexion is left blank on the total row (mixed modes)."""
    return [
        str(sets.truth),
        f"{sets.exact} ({_percent(sets.exact_rate)})",
        str(sets.missed),
        str(sets.spurious),
        f"{reps.tp}/{reps.fp}/{reps.fn}",
        _percent(reps.precision),
        _percent(reps.recall),
        _degrees(flexion.rmse if flexion else None),
        _degrees(flexion.bias if flexion else None),
        _percent(alerts.precision),
        _percent(alerts.recall),
    ]


def _flexion_table(errors_by_mode: Mapping[str, Sequence[float]]) -> Table:
    """Peak-angle error of matched reps, one row per mode."""
    table = Table(title="Peak angle error of matched reps (detected - truth)")
    for name in ("mode", "angle", "reps", "RMSE deg", "bias deg"):
        table.add_column(name, justify="left" if name in ("mode", "angle") else "right")
    for mode, errors in errors_by_mode.items():
        stats = ErrorStats.of(errors)
        angle = ANGLE_OF_MODE.get(mode, "")
        table.add_row(mode, angle, str(stats.n), _degrees(stats.rmse), _degrees(stats.bias))
    return table


def _spurious_line(sets: SetScore) -> str:
    """Which truth activities the spurious sets overlapped."""
    if not sets.spurious:
        return "No spurious sets."
    during = ", ".join(f"{kind} {count}" for kind, count in sets.spurious_during.items())
    return f"{sets.spurious} spurious set(s), overlapping: {during}."


def _percent(value: float | None) -> str:
    """A share as a percentage, or a dash when undefined."""
    return "-" if value is None else f"{100 * value:.1f}%"


def _degrees(value: float | None) -> str:
    """An angle in degrees, or a dash when undefined."""
    return "-" if value is None else f"{value:.2f}"
