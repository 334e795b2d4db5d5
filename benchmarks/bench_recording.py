"""How fast recordings are written, read and replayed, on one core.

Run: ``.venv/bin/python benchmarks/bench_recording.py [--minutes 60]``. The recording has two
sensors at 100 Hz (a one-hour one has 720,000 rows) with noisy realistic values. Reading is
timed first in a fresh process (imports included, as ``backspotter analyze`` pays them), then
as the best of three. Target: a one-hour two-sensor recording read in well under a second.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sensor.recording import Recording, iter_batches, read_recording, write_recording
from sensor.samples import SampleBatch

TARGET_READ_S = 1.0
RATE_HZ = 100.0


def noisy_recording(minutes: float) -> Recording:
    """Two sensors standing still with sensor noise, ``minutes`` long."""
    rng = np.random.default_rng(1)
    n = int(minutes * 60 * RATE_HZ)
    sensors = {}
    for role in ("upper", "lower"):
        t_s = np.arange(n) / RATE_HZ + rng.uniform(0, 0.002)
        accel = np.array([0.3, 9.8, 0.5]) + rng.normal(0.0, 0.05, (n, 3))
        gyro = rng.normal(0.0, 0.01, (n, 3))
        sensors[role] = SampleBatch(role, t_s, accel, gyro)
    return Recording(sensors)


def best_s(action: Callable[[], object], repeats: int = 3) -> float:
    """Best wall time of ``repeats`` runs of ``action``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def fresh_read_s(path: Path) -> float:
    """Seconds to import and read ``path`` in a new Python process."""
    code = (
        "import time; t = time.perf_counter(); from sensor.recording import read_recording; "
        f"read_recording({str(path)!r}); print(time.perf_counter() - t)"
    )
    return float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )


def file_timings(path: Path, recording: Recording) -> dict[str, float]:
    """Seconds to write ``recording`` to ``path`` and to read it back, cold and warm."""
    return {
        f"write {path.name}": best_s(lambda: write_recording(path, recording), repeats=1),
        f"read {path.name}, fresh process": fresh_read_s(path),
        f"read {path.name}, best of 3": best_s(lambda: read_recording(path)),
    }


def main() -> None:
    """Print one row per operation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    recording = noisy_recording(args.minutes)
    duration_s = recording.duration_s
    rows = sum(len(batch) for batch in recording.sensors.values())
    print(f"{args.minutes:g} min, 2 sensors, {RATE_HZ:g} Hz: {rows:,d} rows")
    print(f"{'operation':<34} {'seconds':>8} {'x real time':>12}")
    with tempfile.TemporaryDirectory() as directory:
        for name in ("session.csv", "session.csv.gz"):
            for operation, seconds in file_timings(Path(directory) / name, recording).items():
                print(f"{operation:<34} {seconds:>8.2f} {duration_s / seconds:>12.0f}")
    seconds = best_s(lambda: sum(1 for _ in iter_batches(recording)))
    print(f"{'iter_batches (0.1 s windows)':<34} {seconds:>8.2f} {duration_s / seconds:>12.0f}")
    print(f"target: a one-hour recording read in under {TARGET_READ_S:.0f} s")


if __name__ == "__main__":
    main()
