"""How fast the simulator generates sessions, on one core.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--minutes 10 60]``. Each row simulates a
dual-sensor 100 Hz session of about the given length (sets of 5 reps with 2-2.5 min rests,
noise, jitter, losses and duplicates) and reports the best of three runs. Target: a
10-minute session well under a few seconds.
"""

from __future__ import annotations

import argparse
import time

from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

TARGET_10_MIN_S = 2.0
#: One set of 5 reps plus its rest lasts about this long, s.
SET_CYCLE_S = 165.0


def session_spec(minutes: float) -> SessionSpec:
    """A dual 100 Hz session of about ``minutes`` minutes."""
    link = SensorSpec(rate_hz=100.0, clock_ppm=30.0, jitter_ms=0.5, drop_rate=0.002)
    n_sets = max(1, round(minutes * 60.0 / SET_CYCLE_S))
    return SessionSpec(
        seed=1,
        sensors={"upper": link, "lower": link},
        sets=(SetSpec(reps=5),) * n_sets,
        rest_s=(120.0, 150.0),
    )


def best_time_s(spec: SessionSpec, repeats: int = 3) -> tuple[float, float, int]:
    """Best wall time of ``repeats`` runs, the session's length and its sample count."""
    best = float("inf")
    duration_s, samples = 0.0, 0
    for _ in range(repeats):
        start = time.perf_counter()
        session = simulate_session(spec)
        best = min(best, time.perf_counter() - start)
        duration_s = float(session.truth["simulator"]["duration_s"])
        samples = sum(len(batch) for batch in session.recording.sensors.values())
    return best, duration_s, samples


def main() -> None:
    """Print one row per session length."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    args = parser.parse_args()
    print(f"{'session':>10} {'samples':>10} {'simulate s':>11} {'x real time':>12}")
    for minutes in args.minutes:
        seconds, duration_s, samples = best_time_s(session_spec(minutes))
        speed = duration_s / seconds
        print(f"{duration_s / 60:>8.1f} m {samples:>10,d} {seconds:>11.2f} {speed:>12.0f}")
    print(f"target: a 10-minute session in under {TARGET_10_MIN_S:.0f} s")


if __name__ == "__main__":
    main()
