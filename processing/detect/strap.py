"""Trunk inclination before any reference: a strapped-on sensor lies flat against the back.

Whatever way round it is strapped (rotated, upside down, face in), a sensor on the back has
its face (the board's ``z`` axis) perpendicular to the skin, and the skin of the lower back is
near vertical when the lifter stands upright. The angle between gravity and the sensor's face
follows the segment's forward inclination from the first sample, with no stance or lockout.
It is off by the lifter's lordosis at that level and by how crooked the strap sits (together
up to a few tens of degrees), which a reference removes later; counting reps needs only its
changes.
"""

from __future__ import annotations

import numpy as np

from sensor.samples import FloatArray


def face_tilt_deg(up_z: FloatArray) -> FloatArray:
    """Angle between gravity and the plane of the sensor's face, from the ``z`` component
    of the unit up vector."""
    return np.asarray(np.degrees(np.arcsin(np.clip(up_z, -1.0, 1.0))), dtype=np.float64)


class FaceSide:
    """Which way a forward bend tilts the face, decided from the postures seen so far.

    Walking is upright, so once the lifter has walked, forward is the side of the largest
    departure from the walking tilt. Before that, a forward bend tips the back, and the face
    on it, further from vertical than anything else a lifter does (standing, leaning back),
    so forward is the side of the largest tilt. Either may change the sign early in a
    session, until the first deep bend.
    """

    def __init__(self, walking_mps2: float) -> None:
        """Start with nothing seen: forward counts as positive until a tilt is."""
        self._walking_mps2 = walking_mps2
        self._walk_sum_deg = 0.0
        self._walk_ticks = 0
        self._low_deg = float("inf")
        self._high_deg = float("-inf")
        self._sign = 1.0

    def signs(self, tilt_deg: FloatArray, footfall_mps2: FloatArray) -> FloatArray:
        """The forward sign in force at each tick of a block (NaN ticks keep the last)."""
        out = np.empty(tilt_deg.shape)
        walking = np.nan_to_num(footfall_mps2) > self._walking_mps2
        for k, (deg, walks) in enumerate(zip(tilt_deg.tolist(), walking.tolist(), strict=True)):
            if deg == deg:
                self._observe(deg, walks)
            out[k] = self._sign
        return out

    def _observe(self, deg: float, walks: bool) -> None:
        """Take in one tick's tilt and decide the sign again."""
        if walks:
            self._walk_sum_deg += deg
            self._walk_ticks += 1
        self._low_deg = min(self._low_deg, deg)
        self._high_deg = max(self._high_deg, deg)
        centre = self._walk_sum_deg / self._walk_ticks if self._walk_ticks else 0.0
        self._sign = 1.0 if self._high_deg - centre >= centre - self._low_deg else -1.0
