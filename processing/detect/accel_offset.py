"""Accelerometer offset, from the postures the sensor was still in.

A MEMS accelerometer reads an offset: up to 20-80 mg per axis on the datasheets of the
chips we support. At rest it reads gravity plus the offset, so "vertical acceleration" is
off by the offset's component along gravity, and that component changes as the sensor tilts:
an L1 sensor bent 70 deg over the bar read -0.9 m/s^2 where it read -0.2 upright. A climb
integrated from the bottom to the lockout takes a constant error out (zero speed at both
ends), not one that follows the trunk: over a 4 s grinding pull it hid the 0.1-0.2 m/s climb
altogether. The AHRS, pulled towards the accelerometer, tilts by the offset's horizontal part.

Each still moment (:class:`~processing.detect.gyro_bias.GyroBias` finds them) tells the
offset's component along the direction gravity then has in the sensor: the norm of the
accelerometer's mean over the moment, less 1 g. Still moments in several postures (standing,
at the bar, seated) pin the offset down by least squares; a prior that the offset is zero,
weighing as much as ``prior_still_s`` of still time in every direction, holds the components
no posture has shown yet near zero. Everything counts in seconds of sample time, so any
batching gives the same estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.angles import lengths
from processing.detect.gyro_bias import StillMoments, at_each_sample
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class AccelOffsetSettings:
    """How firmly the offset is taken as zero before still moments show it."""

    #: The prior "no offset" weighs as much as this much still time, in s, in every direction
    #: of gravity: a component along a direction the sensor has been still in for far
    #: longer is what the still moments say; along one it has hardly been still in, zero.
    prior_still_s: float = 1.0


class AccelOffset:
    """Follows one sensor's accelerometer offset across batches and removes it."""

    def __init__(self, settings: AccelOffsetSettings | None = None) -> None:
        """Start from the prior: no offset."""
        self.settings = settings or AccelOffsetSettings()
        # The least-squares normal equations, prior included: sum of w u u^T and of w r u.
        self._normal = self.settings.prior_still_s * np.eye(3)
        self._moment = np.zeros(3)
        self._offset_g = np.zeros(3)

    @property
    def offset_g(self) -> FloatArray:
        """The current estimate, g per axis."""
        return self._offset_g.copy()

    def removed(self, accel_g: FloatArray, moments: StillMoments) -> FloatArray:
        """The accelerometer readings of a batch, in g, with the offset known at each sample
        (from the still samples at or before it) removed."""
        if moments.accel_g.shape[0] == 0:
            return np.asarray(accel_g - self._offset_g, dtype=np.float64)
        norm_g = lengths(moments.accel_g)
        up = moments.accel_g / norm_g[:, None]  # which way was up, in the sensor
        weighted = moments.weight_s[:, None] * up
        normal = self._normal + np.cumsum(weighted[:, :, None] * up[:, None, :], axis=0)
        moment = self._moment + np.cumsum(weighted * (norm_g - 1.0)[:, None], axis=0)
        estimates = np.linalg.solve(normal, moment[:, :, None])[:, :, 0]
        offset = at_each_sample(moments.still, estimates, self._offset_g)
        self._normal, self._moment, self._offset_g = normal[-1], moment[-1], estimates[-1]
        return np.asarray(accel_g - offset, dtype=np.float64)
