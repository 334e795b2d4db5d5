"""Decoded samples per second per device profile, on one core.

Run: ``.venv/bin/python benchmarks/bench_decoders.py [--samples N]``. Each profile decodes a
stream of real notifications (made by its encoder, as the device sends them); WitMotion is
also measured with 12 frames per notification, as when a host stack hands several over at
once. Target: at least 1 million samples per second.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sensor.profiles import PROFILES, get_profile

TARGET_SAMPLES_PER_S = 1_000_000


def notifications(name: str, n_samples: int, frames_per_notification: int = 1) -> list[bytes]:
    """A realistic notification stream of ``name`` for ``n_samples`` random samples."""
    profile = get_profile(name)
    rng = np.random.default_rng(0)
    accel, gyro = rng.normal(0, 5, (n_samples, 3)), rng.normal(0, 2, (n_samples, 3))
    mag = rng.normal(0, 40, (n_samples, 3)) if profile.has_magnetometer else None
    rate = 500 if name == "backspotter" else None  # full 19-sample packets
    payloads = profile.encode(accel, gyro, mag, rate_hz=rate)
    if frames_per_notification == 1:
        return payloads
    step = frames_per_notification
    return [b"".join(payloads[i : i + step]) for i in range(0, len(payloads), step)]


def samples_per_second(name: str, payloads: list[bytes], repeats: int = 3) -> tuple[float, int]:
    """Best-of-``repeats`` decoding rate, and the samples decoded per run."""
    best_s, samples = float("inf"), 0
    for _ in range(repeats):
        decoder = get_profile(name).new_decoder()
        feed = decoder.feed
        start = time.perf_counter()
        for payload in payloads:
            feed(payload)
        best_s = min(best_s, time.perf_counter() - start)
        samples = decoder.stats.samples
    return samples / best_s, samples


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    args = parser.parse_args()
    cases = [(name, 1) for name in sorted(PROFILES)] + [("witmotion", 12)]
    print(f"{'profile':<12} {'samples/notif':>13} {'notifications':>13} {'samples/s':>12}  target")
    for name, frames in cases:
        payloads = notifications(name, args.samples, frames)
        rate, samples = samples_per_second(name, payloads)
        per_notification = samples / len(payloads)
        verdict = "ok" if rate >= TARGET_SAMPLES_PER_S else "below"
        print(
            f"{name:<12} {per_notification:>13.1f} {len(payloads):>13,} {rate:>12,.0f}  {verdict}"
        )


if __name__ == "__main__":
    main()
