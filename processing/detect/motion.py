"""Per-sample motion features that travel with the up vector onto the tick grid."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from processing.detect.angles import lengths
from sensor.samples import GRAVITY_MPS2, FloatArray


class Feature(IntEnum):
    """Columns of the feature table."""

    #: Angular speed, degrees per second: zero when still.
    GYRO_DPS = 0
    #: How far the accelerometer norm is from gravity, m/s^2: impacts of walking show here.
    ACCEL_DEVIATION_MPS2 = 1
    #: Acceleration along "up" (gravity removed), m/s^2: integrates to height changes.
    VERTICAL_MPS2 = 2
    #: Acceleration across "up" along the sensor's x, y and z axes, m/s^2: a walking
    #: lifter's forward and sideways swing at every step.
    HORIZONTAL_X_MPS2 = 3
    HORIZONTAL_Y_MPS2 = 4
    HORIZONTAL_Z_MPS2 = 5


#: The three columns of the horizontal acceleration vector.
HORIZONTAL = slice(Feature.HORIZONTAL_X_MPS2, Feature.HORIZONTAL_Z_MPS2 + 1)


N_FEATURES = len(Feature)
#: At rest, the gyroscope reads below this, in degrees per second...
REST_GYRO_DPS = 8.0
#: ...and the accelerometer is within this of gravity, in m/s^2 (0.03 g).
REST_ACCEL_MPS2 = 0.3


def motion_features(up: FloatArray, gyro_dps: FloatArray, accel_mps2: FloatArray) -> FloatArray:
    """The feature table of a batch, one row per sample, given its unit up vectors, its
    angular rate without the gyroscope's bias and its acceleration without the
    accelerometer's offset."""
    out = np.empty((up.shape[0], N_FEATURES))
    out[:, Feature.GYRO_DPS] = lengths(gyro_dps)
    accel_norm = lengths(accel_mps2)
    out[:, Feature.ACCEL_DEVIATION_MPS2] = np.abs(accel_norm - GRAVITY_MPS2)
    along_up_mps2 = np.einsum("ij,ij->i", accel_mps2, up)
    out[:, Feature.VERTICAL_MPS2] = along_up_mps2 - GRAVITY_MPS2
    out[:, HORIZONTAL] = accel_mps2 - along_up_mps2[:, None] * up
    return out


def accelerometer_mps2(up: FloatArray, features: FloatArray) -> FloatArray:
    """The accelerometer readings a feature table was made from, given its up vectors:
    gravity and the acceleration along "up", plus the acceleration across it."""
    along_up_mps2 = features[:, Feature.VERTICAL_MPS2] + GRAVITY_MPS2
    return np.asarray(along_up_mps2[:, None] * up + features[:, HORIZONTAL], dtype=np.float64)


def peak_climb_mps(vertical_mps2: FloatArray, rate_hz: float) -> float:
    """Fastest upward speed, in m/s, of a movement that starts and ends nearly at rest
    (the bottom of a bend and the lockout, where the body turns round): no still moment is
    needed."""
    speed = _speed_between_rests(vertical_mps2, rate_hz)
    return float(speed.max()) if speed.size else 0.0


def net_rise_m(vertical_mps2: FloatArray, rate_hz: float) -> float:
    """Height gained, in m, between two moments at rest (the first and last samples)."""
    return float(np.sum(_speed_between_rests(vertical_mps2, rate_hz)) / rate_hz)


def _speed_between_rests(vertical_mps2: FloatArray, rate_hz: float) -> FloatArray:
    """Vertical speed, in m/s, integrated from acceleration with zero speed at both ends:
    removing the integral's linear drift takes the accelerometer's bias out of it. Empty
    for fewer than 3 samples."""
    acceleration = np.nan_to_num(vertical_mps2)
    if acceleration.size < 3:
        return np.empty(0)
    speed = np.cumsum(acceleration) / rate_hz
    return np.asarray(speed - np.linspace(0.0, float(speed[-1]), speed.size), dtype=np.float64)


def at_rest(
    features: FloatArray,
    gyro_dps: float = REST_GYRO_DPS,
    accel_tolerance_mps2: float = REST_ACCEL_MPS2,
) -> np.ndarray:
    """Per row of a feature table: the gyroscope below ``gyro_dps`` and the accelerometer
    within ``accel_tolerance_mps2`` of gravity (False where unseen). By default, at rest
    closely enough that the vertical speed is zero."""
    with np.errstate(invalid="ignore"):
        return np.asarray(
            (features[:, Feature.GYRO_DPS] < gyro_dps)
            & (features[:, Feature.ACCEL_DEVIATION_MPS2] < accel_tolerance_mps2)
        )
