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


def central_climb(height_m: FloatArray) -> tuple[int, int] | None:
    """Ticks at which a climb passed 10% and 90% of the height it gained, from a height
    profile that starts at its lowest point and ends at the top (None: it did not climb).

    Unlike the moments a climb starts and stops, which fade in and out of the noise, these
    marks are sharp.
    """
    ten, ninety = climb_mark(height_m, 0.1), climb_mark(height_m, 0.9)
    return None if ten is None or ninety is None else (ten, ninety)


def climb_mark(height_m: FloatArray, fraction: float) -> int | None:
    """Tick at which a climb (a height profile from its lowest point to the top) passed
    ``fraction`` of the height it gained (None: it did not climb)."""
    gained = height_m - height_m[0]
    total = float(gained[-1])
    if not total > 0.0:
        return None
    return int(np.argmax(gained >= fraction * total))


class VerticalCalibration:
    """What a still sensor reads as vertical acceleration, as a function of its orientation.

    Scale errors and offsets of a real accelerometer make it read a little more or less than
    gravity at rest, differently in every orientation. Fitting that error (quadratic and
    linear in the up vector) from the still moments of the session removes it from the
    double integral of a lift, where a tenth of a m/s^2 would otherwise be tens of cm.
    """

    #: Ridge regularisation relative to the data's own scale: a session shows the sensor
    #: still in only a few orientations, so most of the fit is unconstrained.
    RIDGE = 1e-3

    def __init__(self) -> None:
        """Start knowing nothing: every orientation reads zero error."""
        self._normal = np.zeros((6, 6))
        self._target = np.zeros(6)
        self._coefficients: FloatArray = np.zeros(6)

    def add(self, up: FloatArray, vertical_mps2: FloatArray) -> None:
        """Learn from still samples: their up vectors and the vertical acceleration read."""
        valid = ~(np.isnan(up).any(axis=1) | np.isnan(vertical_mps2))
        design = self._design(up[valid])
        self._normal += design.T @ design
        self._target += design.T @ vertical_mps2[valid]
        ridge = self.RIDGE * max(float(np.trace(self._normal)), 1.0) * np.eye(6)
        self._coefficients = np.asarray(
            np.linalg.solve(self._normal + ridge, self._target), dtype=np.float64
        )

    def error_mps2(self, up: FloatArray) -> FloatArray:
        """Vertical acceleration a still sensor would read in each orientation."""
        return np.asarray(self._design(np.nan_to_num(up)) @ self._coefficients, dtype=np.float64)

    @staticmethod
    def _design(up: FloatArray) -> FloatArray:
        """Regressors: squared and plain components of the up vector."""
        return np.hstack([up**2, up])
