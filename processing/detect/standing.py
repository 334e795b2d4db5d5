"""Where the lifter stands between sets: the upright the angles count from, unlike a lockout.

A lockout is upright by definition of the lift, but not quite how the lifter stands: many
lock out leaning back or with the hips pushed through, some softly, a few degrees either way
in every rep's peak. Standing around between sets, shifting weight and looking about, is
the relaxed upright stance the angles are defined from, and it comes every rest. Walking and
fidgets are kept out by the gyroscope, sitting and bending by staying close to the upright
the lockouts give, and the median of many such moments averages the fidgets out.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from processing.detect.angles import tilt_deg, unit
from processing.detect.motion import Feature
from sensor.samples import FloatArray

#: Still moments are sampled this often, in Hz: nearby ticks say the same.
_SAMPLES_PER_S = 2


class StandingPosture:
    """Median posture of the recent moments every sensor was still near upright."""

    def __init__(
        self,
        roles: tuple[str, ...],
        tick_rate_hz: float,
        *,
        still_gyro_dps: float,
        near_deg: float,
        keep_s: float,
        enough_s: float,
    ) -> None:
        """Keep the last ``keep_s`` of still moments; a posture is known once ``enough_s``
        of them lie within ``near_deg`` of upright.

        Still is the gyroscope alone: an accelerometer's datasheet offset (up to 80 mg per
        axis) keeps a resting sensor's norm that far from 1 g.
        """
        self._roles = roles
        self._every = max(round(tick_rate_hz / _SAMPLES_PER_S), 1)
        self._still_gyro_dps = still_gyro_dps
        self._near_deg = near_deg
        self._still: deque[tuple[int, dict[str, FloatArray]]] = deque(
            maxlen=round(keep_s * _SAMPLES_PER_S)
        )
        self._pending: list[tuple[int, dict[str, FloatArray]]] = []
        self._enough = max(round(enough_s * _SAMPLES_PER_S), 1)

    def add(
        self, index: np.ndarray, up: dict[str, FloatArray], features: dict[str, FloatArray]
    ) -> None:
        """Note the ticks (numbered ``index``, a block not yet stepped through) where every
        sensor's gyroscope is still; each counts once the tick loop has passed it."""
        self._take(None)
        still = index % self._every == 0
        if not still.any():  # most blocks: no tick of the sampling rate among them
            return
        for role in self._roles:
            with np.errstate(invalid="ignore"):
                still &= features[role][:, Feature.GYRO_DPS] < self._still_gyro_dps
        for k in np.flatnonzero(still):
            self._pending.append((int(index[k]), {role: up[role][k] for role in self._roles}))

    def posture(
        self, tick: int, uprights: dict[str, FloatArray | None]
    ) -> dict[str, FloatArray] | None:
        """Each sensor's median up vector over the still moments up to ``tick`` within
        ``near_deg`` of ``uprights``, once there are enough of them."""
        self._take(tick)
        known = {role: upright for role, upright in uprights.items() if upright is not None}
        if len(known) < len(uprights) or not self._still:
            return None
        ups = {role: np.array([sample[role] for _, sample in self._still]) for role in self._roles}
        near = np.ones(len(self._still), dtype=bool)
        for role, upright in known.items():
            with np.errstate(invalid="ignore"):
                near &= tilt_deg(ups[role], upright) < self._near_deg
        if np.count_nonzero(near) < self._enough:
            return None
        return {role: unit(np.median(ups[role][near], axis=0)) for role in self._roles}

    def _take(self, tick: int | None) -> None:
        """Move the pending moments up to ``tick`` (all when None) into the kept ones, in
        order: the same moments count whatever blocks the ticks came in."""
        taken = [m for m in self._pending if tick is None or m[0] <= tick]
        self._still.extend(taken)
        self._pending = self._pending[len(taken) :]
