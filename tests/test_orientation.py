"""The orientation filter: its sample rate from real timestamps, and recovery from a wrong
start. Expected values come from geometry, not from the filter."""

from __future__ import annotations

import numpy as np
import pytest

from processing.detect.orientation import OrientationFilter, typical_interval_s
from sensor.samples import GRAVITY_MPS2, SampleBatch


def burst_stamps(rate_hz: float, per_burst: int, seconds: float) -> np.ndarray:
    """Times of samples stamped on arrival: ``per_burst`` at a time, 0.1 ms apart."""
    bursts = np.arange(0.0, seconds, per_burst / rate_hz)
    return (bursts[:, None] + 1e-4 * np.arange(per_burst)[None, :]).ravel()


def test_the_interval_of_samples_stamped_in_bursts_is_their_mean_not_their_median() -> None:
    intervals_s = np.diff(burst_stamps(100.0, per_burst=3, seconds=0.7))[:64]
    assert np.median(intervals_s) < 1e-3  # what fooled the filter into 10 kHz
    assert typical_interval_s(intervals_s.tolist()) == pytest.approx(0.01, rel=0.02)


def test_a_lost_packet_does_not_slow_the_estimated_rate() -> None:
    stamps = burst_stamps(100.0, per_burst=3, seconds=0.7)
    stamps[30:] += 0.3  # a few packets lost: 0.3 s of silence
    # Leaving out the silence also leaves out one burst's interval: 63 for 64 samples.
    assert typical_interval_s(np.diff(stamps)[:64].tolist()) == pytest.approx(0.01, rel=0.06)


def test_a_start_from_a_moving_sensor_is_corrected_as_soon_as_it_rests() -> None:
    # The filter starts afresh from the first sample, taken while the sensor accelerated
    # sideways (its accelerometer 30 deg off gravity); then the sensor rests upright.
    rate_hz, tilt = 100.0, np.radians(30.0)
    n = round(rate_hz)
    accel = np.tile([0.0, 0.0, GRAVITY_MPS2], (n, 1))
    accel[0] = GRAVITY_MPS2 * np.array([np.sin(tilt), 0.0, np.cos(tilt)])
    batch = SampleBatch("upper", np.arange(n) / rate_hz, accel, np.zeros((n, 3)))
    up, _ = OrientationFilter().update(batch)
    error_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    assert error_deg[1] > 20.0
    # x-io's own recovery would ignore the accelerometer for 5 s; at rest it is gravity.
    assert error_deg[round(0.5 * rate_hz) :].max() < 1.0
