"""From the sensor's sampling clock to the rows a host records: drift, jitter, bursts, loss.

A sensor samples on its own crystal, which runs ``clock_ppm`` fast or slow; the recorded time
is either the sensor's own counter plus host jitter, or, for devices without a timestamp in
their frames, the host's arrival time, which bunches samples at BLE connection events.
Packets get lost (several samples at once), outages remove whole stretches, and a BLE stack
occasionally delivers a notification twice (every one, for a while after a reconnect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensor.samples import FloatArray
from sensor.sim.spec import SensorSpec

#: Spacing given to samples that arrive in the same BLE connection event, s.
BURST_SPACING_S = 1e-4


@dataclass(frozen=True)
class SampleClock:
    """True sample instants of one sensor and the times the host records for them."""

    true_s: FloatArray  # when each sample was taken, session time
    recorded_s: FloatArray  # the ``t`` written to the recording


def sample_clock(
    sensor: SensorSpec, start_s: float, end_s: float, rng: np.random.Generator
) -> SampleClock:
    """Sample instants from ``start_s`` to ``end_s`` and their recorded timestamps."""
    ppm = 0.0 if sensor.ideal else sensor.clock_ppm
    period_s = 1.0 / sensor.rate_hz
    n = max(int((end_s - start_s) / period_s), 0)
    ticks = np.arange(n, dtype=np.float64) * period_s
    true_s = start_s + ticks / (1.0 + ppm * 1e-6)
    if sensor.burst_ms > 0:
        recorded = _arrival_times(true_s, sensor.burst_ms * 1e-3, rng)
    else:
        device_s = start_s + ticks
        noise = rng.normal(0.0, sensor.jitter_ms * 1e-3, n)
        recorded = device_s + np.clip(noise, -0.3 * period_s, 0.3 * period_s).astype(np.float64)
    return SampleClock(true_s=true_s, recorded_s=recorded)


def _arrival_times(true_s: FloatArray, interval_s: float, rng: np.random.Generator) -> FloatArray:
    """Host time of arrival: the next connection event after the sample plus radio latency."""
    latency = 0.004 + rng.exponential(0.002, true_s.shape[0])
    event = np.ceil((true_s + latency) / interval_s) * interval_s
    # Arrival is monotone only per connection event; a late sample never overtakes.
    event = np.maximum.accumulate(event)
    first_in_event = np.concatenate(([True], np.diff(event) > 0))
    event_start = np.maximum.accumulate(np.where(first_in_event, np.arange(event.size), 0))
    position = np.arange(event.size) - event_start
    result: FloatArray = event + position * BURST_SPACING_S
    return result


def delivered_rows(
    sensor: SensorSpec,
    true_s: FloatArray,
    outages: list[tuple[float, float]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Indices of the samples that reach the host, in order, some of them twice."""
    n = true_s.shape[0]
    packet = np.arange(n) // max(sensor.samples_per_packet, 1)
    lost_packets = rng.random(int(packet[-1]) + 1 if n else 0) < sensor.drop_rate
    keep = ~lost_packets[packet] if n else np.zeros(0, dtype=bool)
    for start_s, end_s in outages:
        keep &= (true_s < start_s) | (true_s >= end_s)
    kept = np.flatnonzero(keep)
    doubled = rng.random(kept.size) < sensor.duplicate_rate
    for _, end_s in outages:
        after = true_s[kept]
        doubled |= (after >= end_s) & (after < end_s + sensor.reconnect_duplicates_s)
    return np.repeat(kept, np.where(doubled, 2, 1))
