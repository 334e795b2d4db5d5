"""A fixed window of recent ticks, addressed by absolute tick number, for looking back.

Rep metrics are settled only when a rep ends, seconds after its start; the detector keeps the
last minute of up vectors here instead of the whole session.
"""

from __future__ import annotations

import numpy as np

from sensor.samples import FloatArray


class TickHistory:
    """Ring buffer of per-tick up vectors and motion features (per sensor) and the hinge,
    pelvis and lumbar angles."""

    def __init__(self, roles: tuple[str, ...], n_features: int, capacity: int) -> None:
        """Allocate room for ``capacity`` ticks."""
        self.capacity = capacity
        self._up = {role: np.full((capacity, 3), np.nan) for role in roles}
        self._features = {role: np.full((capacity, n_features), np.nan) for role in roles}
        self._hinge_deg = np.full(capacity, np.nan)
        self._pelvis_deg = np.full(capacity, np.nan)
        self._lumbar_deg = np.full(capacity, np.nan)
        self._newest = -1

    @property
    def newest(self) -> int:
        """Absolute number of the newest stored tick (-1 before the first)."""
        return self._newest

    def store(
        self,
        index: np.ndarray,
        up: dict[str, FloatArray],
        features: dict[str, FloatArray],
        angles_deg: tuple[FloatArray, FloatArray, FloatArray],
    ) -> None:
        """Store a block of consecutive ticks, with their hinge, pelvis and lumbar angles."""
        slots = index % self.capacity
        for role, values in up.items():
            self._up[role][slots] = values
            self._features[role][slots] = features[role]
        self.set_angles(index, angles_deg)
        self._newest = int(index[-1])

    def set_angles(
        self, index: np.ndarray, angles_deg: tuple[FloatArray, FloatArray, FloatArray]
    ) -> None:
        """Write the hinge, pelvis and lumbar angles of stored ticks (again, after the upright
        reference changed)."""
        slots = index % self.capacity
        self._hinge_deg[slots], self._pelvis_deg[slots], self._lumbar_deg[slots] = angles_deg

    def _slots(self, first: int, last: int) -> np.ndarray:
        """Ring positions of ticks ``first..last`` (inclusive), clipped to what is kept."""
        first = max(first, self._newest - self.capacity + 1, 0)
        return np.arange(first, last + 1) % self.capacity

    def up(self, role: str, first: int, last: int) -> FloatArray:
        """Up vectors of one sensor for ticks ``first..last``."""
        return np.asarray(self._up[role][self._slots(first, last)], dtype=np.float64)

    def features(self, role: str, first: int, last: int) -> FloatArray:
        """Motion features of one sensor for ticks ``first..last``."""
        return np.asarray(self._features[role][self._slots(first, last)], dtype=np.float64)

    def hinge_deg(self, first: int, last: int) -> FloatArray:
        """Hinge angle for ticks ``first..last``."""
        return np.asarray(self._hinge_deg[self._slots(first, last)], dtype=np.float64)

    def pelvis_deg(self, first: int, last: int) -> FloatArray:
        """Pelvis tilt for ticks ``first..last`` (NaN unless a sensor sits on the sacrum)."""
        return np.asarray(self._pelvis_deg[self._slots(first, last)], dtype=np.float64)

    def lumbar_deg(self, first: int, last: int) -> FloatArray:
        """Lumbar flexion for ticks ``first..last`` (NaN unless two sensors measure it)."""
        return np.asarray(self._lumbar_deg[self._slots(first, last)], dtype=np.float64)
