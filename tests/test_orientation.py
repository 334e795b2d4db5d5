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
    up = OrientationFilter().update(batch).up
    error_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    assert error_deg[1] > 20.0
    # x-io's own recovery would ignore the accelerometer for 5 s; at rest it is gravity.
    assert error_deg[round(0.5 * rate_hz) :].max() < 1.0


def walking_batch(rate_hz: float, seconds: float, offset_dps: float) -> SampleBatch:
    """An upright sensor carried at a walk (footfalls shake it up and down, fore and aft and
    sideways at the step rate) whose gyroscope reads only an offset about a horizontal axis."""
    t_s = np.arange(round(seconds * rate_hz)) / rate_hz
    step = 2 * np.pi * 1.8 * t_s
    accel = np.column_stack(
        [1.5 * np.sin(step + 1.0), 0.8 * np.sin(step / 2), GRAVITY_MPS2 + 2.5 * np.sin(step)]
    )
    gyro_rps = np.tile(np.radians([0.0, offset_dps, 0.0]), (t_s.size, 1))
    return SampleBatch("upper", t_s, accel, gyro_rps)


def test_an_offset_not_yet_seen_still_does_not_turn_the_estimate_away_while_walking() -> None:
    # A datasheet offset of 10 deg/s on a sensor that has not been still yet: the
    # accelerometer, shaken by footfalls but gravity on average, is the better guide.
    offset_dps = 10.0
    up = OrientationFilter().update(walking_batch(100.0, 8.0, offset_dps)).up
    error_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    # A gain of 0.5 holds an offset of b deg/s at a standing error of about 2b deg; ignoring
    # the accelerometer once 20 deg off would let the estimate turn on at 10 deg/s.
    assert error_deg[-200:].max() < 2 * offset_dps + 5.0


def test_an_offset_never_seen_still_is_learnt_from_the_accelerometers_pull() -> None:
    # A Movesense's LSM6DS3 is not calibrated at power-on (offsets up to 10 deg/s) and a
    # sensor on a lifter may never read still: the accelerometer's pull on the estimate
    # shows the offset, and the estimate comes back to vertical.
    up = OrientationFilter().update(walking_batch(100.0, 40.0, 10.0)).up
    error_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    assert error_deg[:500].max() > 10.0  # the offset's standing error before it is learnt
    assert error_deg[-200:].max() < 2.0


def test_once_seen_still_a_sideways_push_does_not_tilt_the_estimate() -> None:
    # Still for 2 s (the offset is learnt), then pushed sideways at 0.6 g for half a second
    # without turning: the accelerometer reads 31 deg off gravity and is ignored.
    rate_hz = 100.0
    n_still, n_push = round(2.0 * rate_hz), round(0.5 * rate_hz)
    accel = np.tile([0.0, 0.0, GRAVITY_MPS2], (n_still + n_push, 1))
    accel[n_still:, 0] = 0.6 * GRAVITY_MPS2
    gyro_rps = np.tile(np.radians([0.0, 3.0, 0.0]), (n_still + n_push, 1))
    t_s = np.arange(n_still + n_push) / rate_hz
    up = OrientationFilter().update(SampleBatch("upper", t_s, accel, gyro_rps)).up
    error_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    assert error_deg[n_still:].max() < 3.0


def test_a_packet_lost_at_the_bottom_of_a_quick_rep_does_not_tip_the_estimate() -> None:
    # At 31.25 Hz the sensor bends 80 deg and comes back up within 1.2 s, turning at up to
    # 210 deg/s; the packet at the turn (0.22 s) is lost. Over the gap the estimate turns by
    # the mean of the rates either side of it: the sample after it, turning back up at
    # speed, standing for the whole gap left the estimate 28 deg off at the lockout.
    rate_hz, rep_s, depth = 31.25, 1.2, np.radians(80.0)
    t_s = np.arange(0.0, 5.2, 1.0 / rate_hz)
    phase = np.clip((t_s - 3.0) / rep_s, 0.0, 1.0)
    bend = depth * np.sin(np.pi * phase) ** 2
    rate_rps = depth * np.pi / rep_s * np.sin(2.0 * np.pi * phase)
    accel = GRAVITY_MPS2 * np.column_stack([np.zeros_like(bend), np.sin(bend), np.cos(bend)])
    gyro = np.column_stack([rate_rps, np.zeros_like(bend), np.zeros_like(bend)])
    kept = np.abs(t_s - (3.0 + 0.45 * rep_s)) > 0.11
    batch = SampleBatch("upper", t_s[kept], accel[kept], gyro[kept])
    up = OrientationFilter().update(batch).up
    lockout = int(np.searchsorted(t_s[kept], 3.0 + rep_s + 0.05))
    off_deg = np.degrees(np.arccos(np.clip(up[lockout] @ [0.0, 0.0, 1.0], -1.0, 1.0)))
    assert off_deg < 3.0
