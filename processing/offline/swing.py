"""How far a recording's sensor tilts: the swing that decides which real sets a target needs.

Independent of the detector on purpose: the real-recording targets name the deadlift sets
"whose sensor swings through at least 20 deg", and that choice must not move when the
detector under test changes. The measure uses the accelerometer alone (gravity direction),
so it needs no calibration and no upright reference, and works at any strapping angle.
"""

from __future__ import annotations

import numpy as np

from sensor.recording import Recording
from sensor.samples import FloatArray

#: Window of the moving mean that keeps gravity and drops most of the movement's own
#: acceleration, in s (a rep takes 2-4 s, footfalls and jolts last well under this).
GRAVITY_WINDOW_S = 0.5
#: Percentiles whose difference is the swing: robust to a few jolts and a start or end
#: bent over the bar, while a set of reps spends far more than 5% of its time near either end.
SWING_PERCENTILES = (5.0, 95.0)
#: Roles measured, in order of preference: the one sensor on the back, else the upper one
#: (the one that moves with the trunk in two-sensor wear).
SWING_ROLES = ("lumbar", "upper")
#: Fewest samples a swing is measured from.
MIN_SAMPLES = 10


def sensor_swing_deg(recording: Recording) -> float | None:
    """Spread of the sensor's tilt in its main plane of movement, in degrees (None: too short).

    The gravity direction (accelerometer, moving mean over :data:`GRAVITY_WINDOW_S`) is
    projected on the plane of the mean direction and the direction it deviates along most
    (a hinge tilts the sensor in one plane whatever its strapping angle), and the swing is
    the spread between :data:`SWING_PERCENTILES` of the angle in that plane.
    """
    role = next((r for r in SWING_ROLES if r in recording.sensors), None)
    if role is None:
        return None
    batch = recording.sensors[role]
    if len(batch) < MIN_SAMPLES:
        return None
    gravity = _moving_mean(batch.t_s, batch.accel_mps2, GRAVITY_WINDOW_S)
    norms = np.linalg.norm(gravity, axis=1)
    directions = gravity[norms > 0] / norms[norms > 0, None]
    if len(directions) < MIN_SAMPLES:
        return None
    mean = directions.mean(axis=0)
    mean /= np.linalg.norm(mean)
    deviations = directions - np.outer(directions @ mean, mean)
    main = np.linalg.svd(deviations, full_matrices=False)[2][0]
    main -= (main @ mean) * mean  # numerically orthogonal to the mean direction
    main /= np.linalg.norm(main)
    angle_deg = np.degrees(np.arctan2(directions @ main, directions @ mean))
    low_deg, high_deg = np.percentile(angle_deg, SWING_PERCENTILES)
    return float(high_deg - low_deg)


def _moving_mean(t_s: FloatArray, values: FloatArray, window_s: float) -> FloatArray:
    """Mean of ``values`` over a centred window of ``window_s`` in time (irregular spacing)."""
    cumulative = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    low = np.searchsorted(t_s, t_s - window_s / 2)
    high = np.searchsorted(t_s, t_s + window_s / 2, side="right")
    counts = (high - low).astype(np.float64)
    mean: FloatArray = (cumulative[high] - cumulative[low]) / counts[:, None]
    return mean
