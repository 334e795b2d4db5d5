"""The one data type every source yields: a batch of timestamped IMU samples from one sensor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Role of the only sensor when a recording has no ``sensor`` column.
DEFAULT_ROLE = "lumbar"
#: Roles a sensor may have (docs/measurement.md).
ROLES = ("lumbar", "upper", "lower")
#: The sensor sets Backspotter can measure with, and what each measures.
MEASURABLE = {
    ("upper", "lower"): "lumbar flexion (upper minus lower)",
    ("upper",): "trunk inclination",
    ("lumbar",): "trunk inclination",
}
#: Standard gravity in m/s^2, used to convert between g and m/s^2.
GRAVITY_MPS2 = 9.80665


def roles_problem(roles: Iterable[str]) -> str | None:
    """Why these sensor roles cannot be measured with, or None when they can.

    A ``lower`` (sacrum) sensor alone only sees the pelvis tilt, which says nothing of the
    back; an unknown role (``hips``) would otherwise be dropped without a word.
    """
    given = tuple(role for role in ROLES if role in set(roles))
    unknown = sorted(set(roles) - set(ROLES))
    if given in MEASURABLE and not unknown:
        return None
    choices = "; ".join(f"{' + '.join(r)}: {what}" for r, what in MEASURABLE.items())
    if unknown:
        problem = f"unknown sensor role(s) {', '.join(unknown)} (roles are {', '.join(ROLES)})"
    elif given == ("lower",):
        problem = "a lower (sacrum) sensor alone measures only pelvis tilt, not the back"
    else:
        problem = f"sensors {' + '.join(given) or 'none'} cannot be measured together"
    return f"{problem}; wear {choices}"


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Consecutive samples of one sensor, in the recording's own time base.

    ``t_s`` is increasing seconds (any origin); ``accel_mps2`` is specific force in m/s^2
    (about +9.81 on the axis pointing up at rest); ``gyro_rps`` is angular rate in rad/s,
    right-handed; ``mag_ut`` is the magnetic field in microtesla when the sensor has one.
    """

    role: str
    t_s: FloatArray
    accel_mps2: FloatArray
    gyro_rps: FloatArray
    mag_ut: FloatArray | None = None

    def __post_init__(self) -> None:
        """Reject batches whose arrays disagree in length or width."""
        n = self.t_s.shape[0]
        if self.t_s.ndim != 1:
            raise ValueError("t_s must be one-dimensional")
        for name in ("accel_mps2", "gyro_rps", "mag_ut"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != (n, 3):
                raise ValueError(f"{name} must have shape ({n}, 3), not {arr.shape}")

    def __len__(self) -> int:
        """Number of samples in the batch."""
        return int(self.t_s.shape[0])

    def slice(self, start: int, stop: int) -> SampleBatch:
        """The samples ``start:stop`` of this batch as a new batch."""
        mag = None if self.mag_ut is None else self.mag_ut[start:stop]
        return SampleBatch(
            self.role,
            self.t_s[start:stop],
            self.accel_mps2[start:stop],
            self.gyro_rps[start:stop],
            mag,
        )


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """A sensor's link came up or went down (``sensor_connected`` / ``sensor_lost``)."""

    role: str
    connected: bool
    t_s: float
    reason: str = ""
    details: dict[str, object] = field(default_factory=dict)
