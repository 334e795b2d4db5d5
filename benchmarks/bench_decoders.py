"""Decoded samples per second per device profile, on one core, per notification and batched.

Run: ``.venv/bin/python benchmarks/bench_decoders.py [--samples N]``. Each profile decodes a
stream of real notifications (made by its encoder, as the device sends them); WitMotion is
also measured with 12 frames per notification, as when a host stack hands several over at
once. Paths: ``feed`` (one call per notification) and ``feed_many`` with the batches the
BLE link hands over, one per event-loop pass: what one connection event carries at the
light end (7.5 ms at 100 Hz) and the heavy end (30 ms at 200 Hz) of a lifting session, and
a 256-notification backlog (a loaded host or a stall). Target: at least 1 million samples
per second.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from sensor.profiles import PROFILES, Decoder, get_profile

TARGET_SAMPLES_PER_S = 1_000_000
#: (label, connection interval s, sample rate Hz) of the connection events measured.
CONNECTION_EVENTS = (("event 7.5ms@100Hz", 0.0075, 100.0), ("event 30ms@200Hz", 0.030, 200.0))
BACKLOG_NOTIFICATIONS = 256


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


def feed_each(decoder: Decoder, payloads: list[bytes]) -> None:
    """One ``feed`` call per notification."""
    feed = decoder.feed
    for payload in payloads:
        feed(payload)


def feed_batches(batch: int) -> Callable[[Decoder, list[bytes]], None]:
    """One ``feed_many`` call per ``batch`` consecutive notifications."""

    def run(decoder: Decoder, payloads: list[bytes]) -> None:
        """Feed ``payloads`` in batches."""
        feed_many = decoder.feed_many
        for start in range(0, len(payloads), batch):
            feed_many(payloads[start : start + batch])

    return run


def samples_per_second(
    name: str, payloads: list[bytes], path: Callable[[Decoder, list[bytes]], None], repeats: int
) -> tuple[float, int]:
    """Best-of-``repeats`` decoding rate through ``path``, and the samples decoded per run."""
    best_s, samples = float("inf"), 0
    for _ in range(repeats):
        decoder = get_profile(name).new_decoder()
        start = time.perf_counter()
        path(decoder, payloads)
        best_s = min(best_s, time.perf_counter() - start)
        samples = decoder.stats.samples
    return samples / best_s, samples


def paths(samples_per_notification: float) -> list[tuple[str, int]]:
    """(label, notifications per call) of every measured path; batch 0 means ``feed``."""
    events = [
        (label, math.ceil(ci_s * rate_hz / samples_per_notification))
        for label, ci_s, rate_hz in CONNECTION_EVENTS
    ]
    return [("feed", 0), *events, ("backlog", BACKLOG_NOTIFICATIONS)]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = [(name, 1) for name in sorted(PROFILES)] + [("witmotion", 12)]
    print(
        f"{'profile':<12} {'samples/notif':>13} {'path':<18} {'notif/call':>10}"
        f" {'samples/s':>12}  target"
    )
    for name, frames in cases:
        payloads = notifications(name, args.samples, frames)
        per_notification = args.samples / len(payloads)
        for label, batch in paths(per_notification):
            path = feed_each if batch == 0 else feed_batches(batch)
            rate, _ = samples_per_second(name, payloads, path, args.repeats)
            verdict = "ok" if rate >= TARGET_SAMPLES_PER_S else "below"
            print(
                f"{name:<12} {per_notification:>13.1f} {label:<18} {max(batch, 1):>10}"
                f" {rate:>12,.0f}  {verdict}"
            )


if __name__ == "__main__":
    main()
