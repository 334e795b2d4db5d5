"""The gyroscope-bias tracker: learns a datasheet-sized offset whenever the accelerometer
shows the sensor still, ignores turning, and does not depend on how the stream is batched.
Expected values are the offsets put into the synthetic readings."""

from __future__ import annotations

import itertools

import numpy as np

from processing.detect.gyro_bias import GyroBias
from processing.detect.orientation import OrientationFilter
from sensor.samples import GRAVITY_MPS2, SampleBatch

RATE_HZ = 100.0
#: An LSM6DS3's zero-rate level is up to 10 deg/s per axis.
OFFSET_DPS = np.array([8.0, -9.0, 6.0])


def still_readings(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor lying still and upright: gyroscope offset plus noise, accelerometer 1 g."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE_HZ)
    t_s = np.arange(n) / RATE_HZ
    gyro_dps = OFFSET_DPS + rng.normal(0.0, 0.5, (n, 3))
    accel_g = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0.0, 0.002, (n, 3))
    return t_s, gyro_dps, accel_g


def test_a_still_sensor_reveals_an_offset_far_above_x_ios_stillness_threshold() -> None:
    t_s, gyro_dps, accel_g = still_readings(150.0)
    tracker = GyroBias()
    corrected, _, _ = tracker.corrected_dps(t_s, gyro_dps, accel_g)
    # After five time constants of stillness the estimate is within 1% of the offset.
    assert np.allclose(tracker.bias_dps, OFFSET_DPS, atol=0.1)
    assert np.abs(corrected[-100:].mean(axis=0)).max() < 0.2


def test_turning_is_not_taken_for_bias() -> None:
    # The sensor tips back and forth by 30 deg every 2 s: its accelerometer direction moves.
    t_s, gyro_dps, accel_g = still_readings(60.0)
    tilt = np.radians(30.0) * np.sin(2 * np.pi * 0.5 * t_s)
    accel_g = np.column_stack([np.sin(tilt), np.zeros_like(tilt), np.cos(tilt)])
    tracker = GyroBias()
    tracker.corrected_dps(t_s, gyro_dps, accel_g)
    # Only the instants where the direction happens to match a second ago count, hardly
    # moving the estimate towards the offset.
    assert np.abs(tracker.bias_dps).max() < 0.1 * np.abs(OFFSET_DPS).min()


def test_any_batching_gives_the_same_correction() -> None:
    t_s, gyro_dps, accel_g = still_readings(40.0, seed=3)
    whole, whole_known, _ = GyroBias().corrected_dps(t_s, gyro_dps, accel_g)
    tracker = GyroBias()
    cuts = [0, 1, 7, 50, 51, 250, 251, 1999, len(t_s)]
    pieces = [
        tracker.corrected_dps(t_s[a:b], gyro_dps[a:b], accel_g[a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    assert np.allclose(np.vstack([p[0] for p in pieces]), whole, atol=1e-9)
    assert (np.concatenate([p[1] for p in pieces]) == whole_known).all()


def test_an_upright_sensor_with_a_large_offset_stays_upright() -> None:
    t_s, gyro_dps, accel_g = still_readings(120.0, seed=5)
    batch = SampleBatch("lumbar", t_s, accel_g * GRAVITY_MPS2, np.radians(gyro_dps))
    up = OrientationFilter().update(batch).up
    tilt_deg = np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))
    # Uncorrected, an offset this size holds the estimate about 20 deg off vertical.
    assert tilt_deg[-round(10 * RATE_HZ) :].max() < 1.0


def test_the_first_still_seconds_give_the_offset_not_a_fraction_of_it() -> None:
    # A set may begin seconds after power-on: 3 s of stillness must be enough, not a
    # 30 s time constant's 10%.
    t_s, gyro_dps, accel_g = still_readings(3.0, seed=7)
    tracker = GyroBias()
    tracker.corrected_dps(t_s, gyro_dps, accel_g)
    assert np.allclose(tracker.bias_dps, OFFSET_DPS, atol=0.3)


def test_an_accelerometer_offset_does_not_hide_stillness() -> None:
    # An LSM6DS3 may read 40 mg off per axis: a resting sensor's norm is 1.06 g, not 1 g.
    t_s, gyro_dps, accel_g = still_readings(60.0, seed=9)
    accel_g = accel_g + np.array([0.04, -0.04, 0.04])
    tracker = GyroBias()
    tracker.corrected_dps(t_s, gyro_dps, accel_g)
    assert np.allclose(tracker.bias_dps, OFFSET_DPS, atol=0.3)


def test_any_batching_gives_the_same_correction_across_a_link_gap() -> None:
    # 2.5 s of silence: a sample after it looks back to the last one before it, whichever
    # batch that one came in (the live path's batches are a few samples long).
    t_s, gyro_dps, accel_g = still_readings(30.0, seed=11)
    kept = (t_s < 10.0) | (t_s > 12.5)
    t_s, gyro_dps, accel_g = t_s[kept], gyro_dps[kept], accel_g[kept]
    whole, _, _ = GyroBias().corrected_dps(t_s, gyro_dps, accel_g)
    tracker = GyroBias()
    pieces = [
        tracker.corrected_dps(t_s[a : a + 5], gyro_dps[a : a + 5], accel_g[a : a + 5])[0]
        for a in range(0, t_s.size, 5)
    ]
    assert np.allclose(np.vstack(pieces), whole, atol=1e-9)


def test_the_offset_is_known_from_the_first_still_second_on() -> None:
    # Moving for 3 s (the accelerometer swings through 20 deg and back every 1.3 s), then
    # still: until a second of stillness has been seen the offset is not known.
    t_s, gyro_dps, accel_g = still_readings(6.0, seed=13)
    moving = t_s < 3.0
    tilt = np.radians(20.0) * np.sin(2 * np.pi * t_s[moving] / 1.3)
    accel_g[moving] = np.column_stack([np.sin(tilt), np.zeros_like(tilt), np.cos(tilt)])
    _, known, _ = GyroBias().corrected_dps(t_s, gyro_dps, accel_g)
    assert not known[moving].any()
    assert known[t_s >= 4.0].all()


def rocking_readings(seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor rocking 20 deg either way about x, twice a second for the first second and
    then at an unrelated pace: never still, but at 1 s its accelerometer reads as it did
    half a second and a second before, while it turns at its fastest."""
    t_s = np.arange(round(seconds * RATE_HZ)) / RATE_HZ
    period_s = np.where(t_s <= 1.0, 0.5, 0.37)
    phase = np.concatenate(([0.0], np.cumsum(np.diff(t_s) / period_s[1:])))
    tilt = np.radians(20.0) * np.sin(2 * np.pi * phase)
    rate_dps = np.degrees(np.gradient(tilt, t_s))
    gyro_dps = OFFSET_DPS + np.column_stack([rate_dps, np.zeros((t_s.size, 2))])
    accel_g = np.column_stack([np.zeros_like(tilt), -np.sin(tilt), np.cos(tilt)])
    return t_s, gyro_dps, accel_g


def test_a_swing_through_its_earlier_direction_reads_the_offset_not_its_speed() -> None:
    t_s, gyro_dps, accel_g = rocking_readings(3.0)
    tracker = GyroBias()
    _, known, _ = tracker.corrected_dps(t_s, gyro_dps, accel_g)
    assert known.any()  # the instant at 1 s passes for still...
    # ...and over the second before it the sensor turned, net, about no horizontal axis:
    # its readings' mean is near the offset (the first sample that passes is the estimate),
    # not the 250 deg/s it swings through at that instant.
    assert np.allclose(tracker.bias_dps, OFFSET_DPS, atol=5.0)


def test_a_single_still_moment_gives_the_whole_offset() -> None:
    # A real sensor's accelerometer rarely holds within half a degree for a second: one
    # still moment may be all a session shows, and it is the estimate, not half of it.
    t_s, gyro_dps, accel_g = still_readings(1.01, seed=7)
    tracker = GyroBias()
    _, _, moments = tracker.corrected_dps(t_s, gyro_dps, accel_g)
    assert moments.still.sum() == 1
    assert np.allclose(tracker.bias_dps, OFFSET_DPS, atol=0.3)
