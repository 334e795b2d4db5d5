"""Trunk inclination before any reference: a strapped-on sensor lies flat against the back.

Whatever way round it is strapped (rotated, upside down, face in), a sensor on the back has
its face (the board's ``z`` axis) perpendicular to the skin, and the skin of the lower back is
vertical when the lifter stands upright. The angle between gravity and the sensor's face is
then the segment's forward inclination, from the first sample, with no stance or lockout. It
is off by the lifter's lordosis at that level (a few degrees at L3, tens on the sacrum), which
a reference removes later; counting reps needs only its changes.
"""

from __future__ import annotations

import numpy as np

from sensor.samples import FloatArray

#: A tilt of the face beyond this, in degrees, is a forward bend, which tells which way the
#: face points (nobody leans back this far under a bar).
FACE_SIDE_TILT_DEG = 30.0


class StrapInclination:
    """Forward inclination of one sensor from the tilt of its face, in degrees."""

    def __init__(self) -> None:
        """Start not knowing whether the face points out of the back or into it."""
        self._face_sign = 0.0

    def update(self, up: FloatArray) -> FloatArray:
        """Inclination of each up vector (rows, sensor frame; NaN rows stay NaN).

        Until the first clear bend shows which way the face points, the unsigned tilt.
        """
        tilt_deg = np.degrees(np.arcsin(np.clip(up[:, 2], -1.0, 1.0)))
        if self._face_sign == 0.0:
            bends = np.flatnonzero(np.abs(tilt_deg) > FACE_SIDE_TILT_DEG)
            if bends.size == 0:
                return np.asarray(np.abs(tilt_deg), dtype=np.float64)
            first = int(bends[0])
            self._face_sign = float(np.sign(tilt_deg[first]))
            tilt_deg[:first] = np.abs(tilt_deg[:first]) * self._face_sign
        return np.asarray(tilt_deg * self._face_sign, dtype=np.float64)
