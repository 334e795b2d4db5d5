"""A fixed window of recent ticks, addressed by absolute tick number, for looking back.

Reps are judged and measured when they end, seconds after they start; the detector keeps the
last minute of up vectors, motion features and counting signals here instead of the whole
session.
"""

from __future__ import annotations

import numpy as np

from processing.detect.motion import accelerometer_mps2
from sensor.samples import FloatArray


class TickHistory:
    """Ring buffer of per-tick up vectors and motion features (per sensor) and the counting
    signals (hinge angle and footfall level of the motion sensor, pelvis tilt)."""

    def __init__(self, roles: tuple[str, ...], n_features: int, capacity: int) -> None:
        """Allocate room for ``capacity`` ticks."""
        self.capacity = capacity
        self._up = {role: np.full((capacity, 3), np.nan) for role in roles}
        self._features = {role: np.full((capacity, n_features), np.nan) for role in roles}
        self._hinge_deg = np.full(capacity, np.nan)
        self._footfall_mps2 = np.full(capacity, np.nan)
        self._pelvis_deg = np.full(capacity, np.nan)
        self._newest = -1
        #: +1, or -1 while rep counting reads the stored hinge angle upside down (see
        #: :mod:`processing.detect.upside_down`): every read, of past ticks too, turns.
        self.hinge_sign = 1.0

    @property
    def newest(self) -> int:
        """Absolute number of the newest stored tick (-1 before the first)."""
        return self._newest

    def store(
        self,
        index: np.ndarray,
        up: dict[str, FloatArray],
        features: dict[str, FloatArray],
        counting: tuple[FloatArray, FloatArray, FloatArray],
    ) -> None:
        """Store a block of consecutive ticks with their hinge angle, footfall level and
        pelvis tilt."""
        slots = index % self.capacity
        for role, values in up.items():
            self._up[role][slots] = values
            self._features[role][slots] = features[role]
        self._hinge_deg[slots], self._footfall_mps2[slots], self._pelvis_deg[slots] = counting
        self._newest = int(index[-1])

    def _read(self, ring: FloatArray, first: int, last: int) -> FloatArray:
        """Rows of ``ring`` for ticks ``first..last`` (inclusive), aligned so that row ``k``
        is tick ``first + k``: NaN for ticks no longer kept or not yet seen."""
        out = np.full((max(last - first + 1, 0), *ring.shape[1:]), np.nan)
        kept_first = max(first, self._newest - self.capacity + 1, 0)
        kept_last = min(last, self._newest)
        if kept_last >= kept_first:
            slots = np.arange(kept_first, kept_last + 1) % self.capacity
            out[kept_first - first : kept_last - first + 1] = ring[slots]
        return out

    def up(self, role: str, first: int, last: int) -> FloatArray:
        """Up vectors of one sensor for ticks ``first..last``."""
        return self._read(self._up[role], first, last)

    def features(self, role: str, first: int, last: int) -> FloatArray:
        """Motion features of one sensor for ticks ``first..last``."""
        return self._read(self._features[role], first, last)

    def accelerometer_mps2(self, role: str, first: int, last: int) -> FloatArray:
        """What one sensor's accelerometer read over ticks ``first..last``."""
        return accelerometer_mps2(self.up(role, first, last), self.features(role, first, last))

    def hinge_deg(self, first: int, last: int) -> FloatArray:
        """Filtered hinge angle (rep counting's signal) for ticks ``first..last``, read
        the way round ``hinge_sign`` says."""
        return self.hinge_sign * self._read(self._hinge_deg, first, last)

    def keep_reading_across(self, tick: int) -> None:
        """The forward side the stored hinge angle was taken with turned at ``tick``, and
        reading it should not: turn the stored ticks before it round, and every read."""
        first = max(self._newest - self.capacity + 1, 0)
        slots = np.arange(first, max(tick, first)) % self.capacity
        self._hinge_deg[slots] = -self._hinge_deg[slots]
        self.hinge_sign = -self.hinge_sign

    def footfall_mps2(self, first: int, last: int) -> FloatArray:
        """Footfall level of the motion sensor for ticks ``first..last``."""
        return self._read(self._footfall_mps2, first, last)

    def pelvis_deg(self, first: int, last: int) -> FloatArray:
        """Pelvis tilt from its walking carriage for ticks ``first..last`` (NaN unknown)."""
        return self._read(self._pelvis_deg, first, last)
