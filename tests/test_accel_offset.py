"""The accelerometer-offset tracker: learns a datasheet-sized offset from the postures a
sensor was still in, leaves alone the directions no posture showed, and does not depend on
how the stream is batched. Expected values are the offsets put into the synthetic readings."""

from __future__ import annotations

import itertools

import numpy as np

from processing.detect.accel_offset import AccelOffset, AccelOffsetSettings
from processing.detect.gyro_bias import GyroBias
from processing.detect.motion import Feature, motion_features, peak_climb_mps
from processing.detect.orientation import OrientationFilter, OrientationSettings
from processing.detect.reps import RepSettings
from sensor.samples import GRAVITY_MPS2, SampleBatch

RATE_HZ = 100.0
#: An MPU-6050's zero-g offset is up to 80 mg per axis.
OFFSET_G = np.array([0.06, -0.05, 0.07])
#: An orientation filter whose offset tracker never moves from its prior of zero.
NEVER = OrientationSettings(accel_offset=AccelOffsetSettings(prior_still_s=1e9))


def smoothstep(t_s: np.ndarray, start_s: float, duration_s: float) -> np.ndarray:
    """0 before ``start_s``, 1 after ``duration_s`` more, smooth (zero slope) at both ends."""
    tau = np.clip((t_s - start_s) / duration_s, 0.0, 1.0)
    return np.asarray(3 * tau**2 - 2 * tau**3)


def bend_and_pull(
    pull_s: float = 4.0, bent_still_s: float = 12.0, rise_m: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """A lumbar sensor: 30 s standing, a 3 s bend 70 deg forward, ``bent_still_s`` still at
    the bar, a slow pull back up that raises it ``rise_m``, 8 s standing. Readings carry
    OFFSET_G; returns times, accelerometer (m/s^2), gyroscope (rad/s) and the pull's start
    and end."""
    pull_start_s = 33.0 + bent_still_s
    t_s = np.arange(round((pull_start_s + pull_s + 8.0) * RATE_HZ)) / RATE_HZ
    step_down = smoothstep(t_s, 30.0, 3.0)
    step_up = smoothstep(t_s, pull_start_s, pull_s)
    bend_rad = np.radians(70.0) * (step_down - step_up)
    height_m = rise_m * (step_up - step_down)
    vertical_mps2 = np.gradient(np.gradient(height_m, t_s), t_s)
    # World "up" and the lift's acceleration seen from a sensor turned about its y axis.
    up = np.column_stack([-np.sin(bend_rad), np.zeros_like(bend_rad), np.cos(bend_rad)])
    accel_mps2 = (GRAVITY_MPS2 + vertical_mps2)[:, None] * up + OFFSET_G * GRAVITY_MPS2
    gyro_rps = np.column_stack([np.zeros_like(t_s), np.gradient(bend_rad, t_s), np.zeros_like(t_s)])
    return t_s, accel_mps2, gyro_rps, (pull_start_s, pull_start_s + pull_s)


def still_postures(seconds_each: float = 20.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor still upright, then bent 70 deg forward, then lying on its side, with the
    offset in its accelerometer (in g); returns times, accelerometer (g), gyroscope (deg/s)."""
    n = round(seconds_each * RATE_HZ)
    postures = ([0.0, 0.0, 1.0], [-np.sin(np.radians(70.0)), 0.0, np.cos(np.radians(70.0))])
    ups = np.vstack([np.tile(p, (n, 1)) for p in (*postures, [0.0, 1.0, 0.0])])
    t_s = np.arange(ups.shape[0]) / RATE_HZ
    rng = np.random.default_rng(5)
    accel_g = ups + OFFSET_G + rng.normal(0.0, 0.002, ups.shape)
    return t_s, accel_g, rng.normal(0.0, 0.3, ups.shape)


def learnt(t_s: np.ndarray, accel_g: np.ndarray, gyro_dps: np.ndarray) -> AccelOffset:
    """An offset tracker fed by the still moments a gyroscope-bias tracker finds."""
    tracker = AccelOffset()
    _, _, moments = GyroBias().corrected_dps(t_s, gyro_dps, accel_g)
    tracker.removed(accel_g, moments)
    return tracker


def test_still_postures_reveal_the_offset_in_every_direction_they_span() -> None:
    tracker = learnt(*still_postures())
    # Within 10 mg: the norm's second-order part (the offset across "up", squared) and the
    # prior's second of "no offset" are all that is left.
    assert np.abs(tracker.offset_g - OFFSET_G).max() < 0.01


def test_a_direction_no_posture_showed_keeps_no_offset() -> None:
    t_s, accel_g, gyro_dps = still_postures()
    upright = slice(0, round(20.0 * RATE_HZ))
    tracker = learnt(t_s[upright], accel_g[upright], gyro_dps[upright])
    # Standing still shows the offset along "up" (the sensor's z) and nothing of x or y:
    # those stay near zero rather than take up what z's noise says of them.
    assert abs(tracker.offset_g[2] - OFFSET_G[2]) < 0.01
    assert np.abs(tracker.offset_g[:2]).max() < 0.005


def test_any_batching_gives_the_same_correction() -> None:
    t_s, accel_g, gyro_dps = still_postures(6.0)
    whole = AccelOffset()
    _, _, moments = GyroBias().corrected_dps(t_s, gyro_dps, accel_g)
    corrected = whole.removed(accel_g, moments)
    bias, offset = GyroBias(), AccelOffset()
    cuts = [0, 1, 7, 150, 151, 700, 1203, len(t_s)]
    pieces = []
    for a, b in itertools.pairwise(cuts):
        _, _, moments = bias.corrected_dps(t_s[a:b], gyro_dps[a:b], accel_g[a:b])
        pieces.append(offset.removed(accel_g[a:b], moments))
    assert np.allclose(np.vstack(pieces), corrected, atol=1e-9)
    assert np.allclose(offset.offset_g, whole.offset_g, atol=1e-12)


def vertical_mps2(
    settings: OrientationSettings,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Times and vertical acceleration of the bend and pull, as the pipeline's features."""
    t_s, accel_mps2, gyro_rps, pull = bend_and_pull()
    oriented = OrientationFilter(settings).update(SampleBatch("lumbar", t_s, accel_mps2, gyro_rps))
    return t_s, motion_features(*oriented)[:, Feature.VERTICAL_MPS2], pull


def at_bar_mps2(settings: OrientationSettings) -> float:
    """Mean size of the vertical acceleration read over the last second at the bar."""
    t_s, vertical, (pull_start_s, _) = vertical_mps2(settings)
    at_bar = (t_s > pull_start_s - 1.0) & (t_s < pull_start_s)
    return float(np.abs(vertical[at_bar]).mean())


def test_a_sensor_still_at_the_bar_reads_no_vertical_acceleration() -> None:
    assert at_bar_mps2(OrientationSettings()) < 0.05
    # Without the tracker: the offset's component along "up" bent over.
    assert at_bar_mps2(NEVER) > 0.25


def test_a_slow_pulls_climb_shows_through_the_offset() -> None:
    climbs = {}
    for name, settings in (("learnt", OrientationSettings()), ("never", NEVER)):
        t_s, vertical, (start_s, end_s) = vertical_mps2(settings)
        pull = (t_s >= start_s - 0.3) & (t_s <= end_s + 0.3)
        climbs[name] = peak_climb_mps(vertical[pull], RATE_HZ)
    # The pull peaks at 0.11 m/s (a smoothstep's peak speed is 1.5x its mean). Read with
    # the offset that turns with the trunk, it climbs not at all: a lone rise that lifted
    # nothing. The orientation filter's own lag keeps the learnt one under the truth.
    least_mps = RepSettings().min_climb_mps
    assert climbs["never"] < least_mps < climbs["learnt"] < 0.3 * 1.5 / 4.0
