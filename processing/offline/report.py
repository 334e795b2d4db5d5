"""Human-readable terminal output shared by the commands: tables and progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from processing.detect.pipeline import AnalysisResult

_CAPTION = (
    "start, lockout, end: recording seconds; up/down: concentric/eccentric seconds; "
    "peak: degrees; above: seconds above the threshold"
)

#: Recordings shorter than this, in s of recording time, analyze too fast to need a bar.
PROGRESS_MIN_RECORDING_S = 600.0


@contextmanager
def progress_reporter(total_s: float, label: str) -> Iterator[Callable[[float], None] | None]:
    """A callback advancing a progress bar on a terminal; None when a bar would be noise."""
    if not sys.stderr.isatty() or total_s < PROGRESS_MIN_RECORDING_S:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total_s)
        origin_s: float | None = None

        def advance(t_s: float) -> None:
            """Move the bar to recording time ``t_s`` (counted from the first call)."""
            nonlocal origin_s
            origin_s = t_s if origin_s is None else origin_s
            bar.update(task, completed=t_s - origin_s)

        yield advance


def print_analysis(result: AnalysisResult, title: str, warnings: Sequence[str] = ()) -> None:
    """One table per set with a row per rep, then the flexion alerts; ``warnings`` about the
    input (dropped samples, a cut file) follow the title."""
    console = Console()
    angle = "lumbar flexion" if result.mode == "dual" else "trunk inclination"
    console.print(
        f"[bold]{title}[/bold]: {result.mode} sensor mode, peak {angle}, "
        f"alert above {result.threshold_deg:g} deg; upright from {result.calibration or 'none'}",
        soft_wrap=True,  # a long file path must not break the line at an arbitrary word
    )
    for warning in warnings:
        console.print(f"[yellow]Warning: {warning}.[/yellow]", soft_wrap=True)
    if result.mode == "single":
        console.print(
            "[dim]One sensor measures inclination: it cannot tell a hip hinge from a rounded "
            "back. Wear two (upper + lower) to measure lumbar flexion.[/dim]"
        )
    if not result.sets:
        console.print("No reps found.")
    for number, lift_set in enumerate(result.sets, start=1):
        table = Table(title=f"Set {number}: {len(lift_set.reps)} reps", caption=_CAPTION)
        for header in ("rep", "start", "lockout", "end", "up", "down", "peak", "above", "alert"):
            table.add_column(header, justify="right")
        for rep_no, rep in enumerate(lift_set.reps, start=1):
            table.add_row(
                str(rep_no),
                f"{rep.start:.1f}",
                f"{rep.lockout:.1f}",
                f"{rep.end:.1f}",
                f"{rep.concentric_s:.1f}",
                f"{rep.eccentric_s:.1f}",
                "-"
                if rep.peak_flexion_deg != rep.peak_flexion_deg
                else f"{rep.peak_flexion_deg:.1f}",
                f"{rep.seconds_above_threshold:.1f}",
                "[red]ALERT[/red]" if rep.flexion_alert else "",
            )
        console.print(table)
    alerts = len(result.flexion_events)
    console.print(f"{alerts} interval(s) above the threshold.")
