"""What a sensor can physically report, and dropping the samples that break it.

A sample whose acceleration or angular rate lies beyond the sensor's full-scale range (or is
not a finite number) cannot be a measurement: it is a corrupt packet, a bad row or a firmware
fault. One such sample fed to the orientation filter ruins every angle after it (a 1000 rad/s
spike turned a 28 deg rep into 107 deg), so the sensor layer drops it, counts it, and the
count is reported (``analyze``, the ``status`` message, the dashboard).

Limits are the device profile's full-scale range where it is known; otherwise (recordings)
the default of 16 g and 2000 deg/s, the largest ranges of common IMUs and far beyond anything
a deadlift produces at the lower back. May import :mod:`sensor.samples` and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.samples import GRAVITY_MPS2, SampleBatch

#: Default accelerometer limit per axis, in g and m/s^2.
DEFAULT_ACCEL_LIMIT_G = 16.0
#: Default gyroscope limit per axis, in deg/s and rad/s.
DEFAULT_GYRO_LIMIT_DPS = 2000.0
#: A reading exactly at full scale is a saturated sensor, still a measurement; this slack
#: keeps its float conversion inside the limit.
_SLACK = 1.001


@dataclass(frozen=True, slots=True)
class FullScale:
    """The largest magnitude, per axis, a sensor can report."""

    accel_mps2: float = DEFAULT_ACCEL_LIMIT_G * GRAVITY_MPS2
    gyro_rps: float = math.radians(DEFAULT_GYRO_LIMIT_DPS)


DEFAULT_FULL_SCALE = FullScale()


def possible_rows(
    batch: SampleBatch, full_scale: FullScale = DEFAULT_FULL_SCALE
) -> NDArray[np.bool_]:
    """Per sample: True when every axis is finite and within the full-scale range."""
    accel_ok = np.abs(batch.accel_mps2) <= full_scale.accel_mps2 * _SLACK
    gyro_ok = np.abs(batch.gyro_rps) <= full_scale.gyro_rps * _SLACK
    # Comparisons with NaN are False, so non-finite values fail here too.
    ok: NDArray[np.bool_] = accel_ok.all(axis=1) & gyro_ok.all(axis=1) & np.isfinite(batch.t_s)
    return ok


def drop_impossible(
    batch: SampleBatch, full_scale: FullScale = DEFAULT_FULL_SCALE
) -> tuple[SampleBatch, int]:
    """``batch`` without its impossible samples, and how many were dropped."""
    ok = possible_rows(batch, full_scale)
    dropped = len(batch) - int(np.count_nonzero(ok))
    if not dropped:
        return batch, 0
    mag = None if batch.mag_ut is None else batch.mag_ut[ok]
    kept = SampleBatch(batch.role, batch.t_s[ok], batch.accel_mps2[ok], batch.gyro_rps[ok], mag)
    return kept, dropped
