"""How fast ``backspotter analyze`` runs on a one-hour, two-sensor, 100 Hz recording.

Run: ``taskset -c 0 .venv/bin/python benchmarks/bench_analyze.py [--minutes 60]`` (one core).
The recording is a simulated training session written to a temporary ``.csv`` and analyzed
by the real command in a fresh process, so reading, imports and JSON output all count, as
they do for a user. Target: at least 1000x faster than real time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sensor.recording import write_recording
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

TARGET_X_REAL_TIME = 1000.0
#: One set of 5 reps plus its rest lasts about this long, s.
SET_CYCLE_S = 165.0


def session_spec(minutes: float) -> SessionSpec:
    """A dual 100 Hz session of about ``minutes`` minutes with a realistic link."""
    link = SensorSpec(rate_hz=100.0, clock_ppm=30.0, jitter_ms=0.5, drop_rate=0.002)
    n_sets = max(1, round(minutes * 60.0 / SET_CYCLE_S))
    return SessionSpec(
        seed=1, sensors={"upper": link, "lower": link}, sets=(SetSpec(reps=5),) * n_sets
    )


def analyze_s(path: Path, repeats: int) -> float:
    """Best wall time of ``backspotter analyze --json`` on ``path`` in a fresh process."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "processing.cli", "analyze", str(path), "--json"],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Simulate, write, analyze and print the figures as a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    session = simulate_session(session_spec(args.minutes))
    duration_s = session.recording.duration_s
    samples = sum(len(b) for b in session.recording.sensors.values())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hour.csv"
        write_recording(path, session.recording)
        seconds = analyze_s(path, args.repeats)
    table = Table(title=f"backspotter analyze (fresh process, best of {args.repeats})")
    for header in ("recording", "samples", "analyze s", "x real time", "target"):
        table.add_column(header, justify="right")
    speed = duration_s / seconds
    verdict = "ok" if speed >= TARGET_X_REAL_TIME else f"below ({TARGET_X_REAL_TIME:.0f}x)"
    table.add_row(
        f"{duration_s / 60:.1f} min", f"{samples:,}", f"{seconds:.2f}", f"{speed:.0f}", verdict
    )
    Console().print(table)


if __name__ == "__main__":
    main()
