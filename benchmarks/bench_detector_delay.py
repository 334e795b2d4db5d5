"""The detector's own delay in raising a flexion alert, independent of any transport.

Run: ``.venv/bin/python benchmarks/bench_detector_delay.py [--sessions 6]``. Simulated
two-sensor sessions with rounded reps are fed sample by sample, as a live link delivers them.
For every rep whose true lumbar flexion (from the body model) crosses the threshold, the delay
is the newest sample time at the moment the ``flexion_alert`` event is emitted minus the time
the truth crossed. It includes the orientation filter, the tick grid and waiting for the
second sensor; transport to a subscriber is measured by ``bench_alert_latency.py``.
Target: at most 80 ms.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from processing.detect.pipeline import Pipeline, PipelineConfig
from sensor.recording import iter_batches
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

TARGET_MS = 80.0
THRESHOLD_DEG = 30.0


def session(seed: int) -> SessionSpec:
    """A dual 100 Hz session of rounded sets, with a realistic link but no gaps."""
    link = SensorSpec(rate_hz=100.0, clock_ppm=30.0, jitter_ms=0.5)
    sets = (SetSpec(reps=5, back="rounded"), SetSpec(reps=5, back="fatigue"))
    return SessionSpec(seed=seed, sensors={"upper": link, "lower": link}, sets=sets)


def delays_ms(seed: int) -> list[float]:
    """Alert delays of one session, one per rep whose truth crosses the threshold."""
    simulated = simulate_session(session(seed))
    pipeline = Pipeline(simulated.recording.roles, PipelineConfig(threshold_deg=THRESHOLD_DEG))
    alerts_at: list[float] = []
    for sample in iter_batches(simulated.recording, 0.01):
        for event in pipeline.feed(sample).events:
            if event.type == "flexion_alert":
                alerts_at.append(float(sample.t_s[-1]))
    out = []
    for lift_set in simulated.truth["sets"]:
        for rep in lift_set["reps"]:
            grid = np.arange(rep["start"] - 3.0, rep["end"], 0.001)
            above = simulated.truth_angle_deg(grid) > THRESHOLD_DEG
            crossings = grid[1:][above[1:] & ~above[:-1]]
            for crossed in crossings:
                later = [a for a in alerts_at if crossed - 0.5 <= a <= crossed + 1.0]
                if later:
                    out.append((min(later) - crossed) * 1000.0)
    return out


def main() -> None:
    """Run the sessions and print the delay distribution."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=6)
    args = parser.parse_args()
    delays = np.array([d for seed in range(args.sessions) for d in delays_ms(seed)])
    table = Table(title="Detector delay of flexion alerts (samples fed one by one)")
    for header in ("alerts", "p50 ms", "p90 ms", "p99 ms", "max ms", "target"):
        table.add_column(header, justify="right")
    p50, p90, p99 = np.percentile(delays, [50, 90, 99])
    verdict = "ok" if p99 <= TARGET_MS else f"above {TARGET_MS:.0f} ms"
    row = (str(delays.size), f"{p50:.0f}", f"{p90:.0f}", f"{p99:.0f}", f"{delays.max():.0f}")
    table.add_row(*row, verdict)
    Console().print(table)


if __name__ == "__main__":
    main()
