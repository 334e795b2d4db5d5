"""Per-sample motion features that travel with the up vector onto the tick grid."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sensor.samples import GRAVITY_MPS2, FloatArray, SampleBatch


class Feature(IntEnum):
    """Columns of the feature table."""

    #: Angular speed, degrees per second: zero when still.
    GYRO_DPS = 0
    #: How far the accelerometer norm is from gravity, m/s^2: impacts of walking show here.
    ACCEL_DEVIATION_MPS2 = 1
    #: Acceleration along "up" (gravity removed), m/s^2: integrates to height changes.
    VERTICAL_MPS2 = 2


N_FEATURES = len(Feature)


def motion_features(batch: SampleBatch, up: FloatArray) -> FloatArray:
    """The feature table of a batch, one row per sample, given its unit up vectors."""
    out = np.empty((len(batch), N_FEATURES))
    out[:, Feature.GYRO_DPS] = np.degrees(np.linalg.norm(batch.gyro_rps, axis=1))
    accel_norm = np.linalg.norm(batch.accel_mps2, axis=1)
    out[:, Feature.ACCEL_DEVIATION_MPS2] = np.abs(accel_norm - GRAVITY_MPS2)
    out[:, Feature.VERTICAL_MPS2] = np.einsum("ij,ij->i", batch.accel_mps2, up) - GRAVITY_MPS2
    return out


def climb_profile(vertical_mps2: FloatArray, rate_hz: float) -> tuple[FloatArray, FloatArray]:
    """Upward speed (m/s) and height (m) of each tick, relative to the last one, at rest.

    Integrates backwards in time from the final tick (velocity zero there), which keeps the
    drift of a double integral small over the few seconds it is used for.
    """
    backwards = np.nan_to_num(vertical_mps2[::-1])
    dt_s = 1.0 / rate_hz
    velocity = -np.cumsum(backwards) * dt_s
    height = -np.cumsum(velocity) * dt_s
    return np.asarray(velocity[::-1], dtype=np.float64), np.asarray(height[::-1], dtype=np.float64)


def height_change_m(vertical_mps2: FloatArray, rate_hz: float) -> FloatArray:
    """Height of each tick relative to the last one, where the sensor is known to be at rest."""
    return climb_profile(vertical_mps2, rate_hz)[1]
