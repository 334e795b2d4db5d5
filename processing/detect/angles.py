"""Angle geometry: how far a sensor has tilted from its upright reference, and in which plane.

Every function takes unit "up" vectors in the sensor frame (rows of an ``(n, 3)`` array) and
returns degrees. Working from the up vector alone makes the result independent of how the
sensor is strapped on: the reference posture supplies the axes.
"""

from __future__ import annotations

import numpy as np

from sensor.samples import FloatArray

_DEG_PER_RAD = 180.0 / np.pi


def lengths(vectors: FloatArray) -> FloatArray:
    """Euclidean length of each row (of the vector, for 1-D input): the arithmetic of
    ``np.linalg.norm(vectors, axis=-1)``, to the last bit, without its argument handling,
    which costs more than the sums on the few rows of a live batch."""
    return np.asarray(np.sqrt(np.add.reduce(vectors * vectors, axis=-1)), dtype=np.float64)


def unit(vector: FloatArray) -> FloatArray:
    """The vector scaled to length one (rows scaled independently for 2-D input)."""
    norm = lengths(vector)[..., None]
    return np.asarray(vector / np.where(norm > 0.0, norm, 1.0), dtype=np.float64)


def tilt_deg(up: FloatArray, upright: FloatArray) -> FloatArray:
    """Unsigned angle between each up vector and the upright reference, in any direction."""
    cos = np.clip(up @ upright, -1.0, 1.0)
    return np.asarray(np.degrees(np.arccos(cos)), dtype=np.float64)


def sagittal_deg(up: FloatArray, upright: FloatArray, forward: FloatArray) -> FloatArray:
    """Signed forward inclination in the plane spanned by ``upright`` and ``forward``.

    Side bending and twisting move the up vector out of that plane and are ignored; leaning
    forward (the way a hinge goes) is positive.
    """
    return np.asarray(np.degrees(np.arctan2(up @ forward, up @ upright)), dtype=np.float64)


def forward_direction(up: FloatArray, upright: FloatArray) -> FloatArray:
    """Sum of the components of ``up`` perpendicular to ``upright`` (not normalised).

    In a forward bend the up vector swings towards the sensor's "forward" axis, so this sum
    points forward (a rep's vote is it for its deepest posture, normalised).
    """
    along = up @ upright
    return np.asarray((up - np.outer(along, upright)).sum(axis=0), dtype=np.float64)


def orthonormal_forward(direction: FloatArray, upright: FloatArray) -> FloatArray | None:
    """``direction`` made perpendicular to ``upright`` and of unit length, if it is usable."""
    perpendicular = direction - (direction @ upright) * upright
    norm = float(np.linalg.norm(perpendicular))
    if norm < 1e-6:
        return None
    return np.asarray(perpendicular / norm, dtype=np.float64)


def mean_direction(up: FloatArray) -> FloatArray | None:
    """Unit mean of the valid rows of ``up``; None when every row is missing (NaN)."""
    valid = up[~np.isnan(up).any(axis=1)]
    if valid.shape[0] == 0:
        return None
    return unit(valid.mean(axis=0))
