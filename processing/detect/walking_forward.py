"""Which way the sacrum sensor faces forward, from walking beside the L1 sensor.

Both sensors ride one trunk: at every step of walking they speed up and slow down together
(forward-backward accelerations of 1-3 m/s^2). The direction in the sacrum sensor's frame whose
acceleration follows the L1 sensor's forward acceleration is the sacrum's forward. That holds
whichever way the pelvis tilts in a lift, where its own bends cannot tell: a lifter who tucks
the pelvis under at the bar tilts the sacrum back while the trunk bends forward.
"""

from __future__ import annotations

import numpy as np

from processing.detect.motion import HORIZONTAL
from processing.detect.posture import SensorPosture
from sensor.samples import FloatArray


class WalkingForward:
    """Accumulates how the two sensors' horizontal accelerations move together while walking.

    A rep asks what walking had shown by its own end, so that the answer does not depend on
    how the data were cut into blocks (live and offline agree): walking ticks wait until a
    rep asks, or until they are older than any rep could be (``keep_ticks``).
    """

    def __init__(self, min_walk_ticks: int, keep_ticks: int) -> None:
        """Know nothing until ``min_walk_ticks`` ticks of walking have been seen."""
        self._min_walk_ticks = min_walk_ticks
        self._keep_ticks = keep_ticks
        self._together = np.zeros((3, 3))  # sum of upper (rows) x lower (columns) products
        self._walk_ticks = 0
        self._pending_ticks = np.empty(0, dtype=np.int64)
        self._pending_upper = np.empty((0, 3))
        self._pending_lower = np.empty((0, 3))

    def add(self, ticks: np.ndarray, features: dict[str, FloatArray], walking: np.ndarray) -> None:
        """Take in a block of ticks (their numbers): both sensors' feature tables (their
        horizontal acceleration, each in its own frame; NaN where unseen) and whether the
        lifter walked at each tick."""
        upper, lower = features["upper"][:, HORIZONTAL], features["lower"][:, HORIZONTAL]
        if walking.any():  # most blocks: not walking, nothing to keep
            use = walking & ~np.isnan(upper).any(axis=1) & ~np.isnan(lower).any(axis=1)
            self._pending_ticks = np.concatenate((self._pending_ticks, ticks[use]))
            self._pending_upper = np.concatenate((self._pending_upper, upper[use]))
            self._pending_lower = np.concatenate((self._pending_lower, lower[use]))
        if ticks.size:
            self._take_until(int(ticks[-1]) - self._keep_ticks)

    def orient(self, postures: dict[str, SensorPosture], until_tick: int) -> None:
        """Turn the sacrum sensor's forward axis to the side walking showed up to
        ``until_tick``, once it has."""
        self._take_until(until_tick)
        walked = self.lower_forward(postures["upper"].forward)
        if walked is not None:
            postures["lower"].learn_walking_forward(walked)

    def lower_forward(self, upper_forward: FloatArray | None) -> FloatArray | None:
        """The sacrum sensor's forward direction (not normalised) given the L1 sensor's, or
        None before enough walking or while the L1 sensor's forward is unknown."""
        if upper_forward is None or self._walk_ticks < self._min_walk_ticks:
            return None
        direction = upper_forward @ self._together
        return direction if np.any(direction) else None

    def _take_until(self, tick: int) -> None:
        """Add the waiting walking ticks up to ``tick`` to the sums."""
        if not self._pending_ticks.size:  # most blocks: no walking waits
            return
        taken = int(np.searchsorted(self._pending_ticks, tick, side="right"))
        if taken == 0:
            return
        self._together += self._pending_upper[:taken].T @ self._pending_lower[:taken]
        self._walk_ticks += taken
        self._pending_ticks = self._pending_ticks[taken:]
        self._pending_upper = self._pending_upper[taken:]
        self._pending_lower = self._pending_lower[taken:]
