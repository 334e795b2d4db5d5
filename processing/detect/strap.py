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
from numpy.lib.stride_tricks import sliding_window_view

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
    session, until the first deep bend. Walking also holds the trunk steady: footfall-level
    shaking while the trunk swings as far as a rep is the reps' own (quick touch-and-go
    reps shake the sensor as hard as steps do), and taken for walking it would set the
    walking posture bent over.
    """

    def __init__(self, walking_mps2: float, min_walk_ticks: int, rep_swing_deg: float) -> None:
        """Start with nothing seen: forward counts as positive until a tilt is. Footfalls
        above ``walking_mps2`` are walking once they have lasted ``min_walk_ticks``, unless
        the tilt swung ``rep_swing_deg`` or more over those ticks."""
        self._walking_mps2 = walking_mps2
        self._min_walk_ticks = min_walk_ticks
        self._rep_swing_deg = rep_swing_deg
        self._steps_ticks = 0  # length of the run of footfalls the last block ended in
        #: The last ``min_walk_ticks - 1`` tilts of the run of steps under way.
        self._run_deg: FloatArray = np.empty(0)
        self._walk_sum_deg = 0.0
        self._walk_ticks = 0
        self._low_deg = float("inf")
        self._high_deg = float("-inf")
        self._sign = 1.0

    def signs(
        self, tilt_deg: FloatArray, footfall_mps2: FloatArray
    ) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """The forward sign in force at each tick of a block (NaN ticks keep the last), the
        mean tilt while walking so far (NaN before any walking), and whether each tick is
        walking."""
        # np.where, not np.nan_to_num: a live block is a few ticks, on which nan_to_num's
        # argument handling costs as much as the rest of this method.
        seen = ~np.isnan(tilt_deg)
        footfall = np.where(np.isnan(footfall_mps2), 0.0, footfall_mps2)
        steps = seen & (footfall > self._walking_mps2)
        walking = self._steady(tilt_deg, steps, self._walking(steps))
        if self._settled(tilt_deg, walking):
            return self._as_before(tilt_deg.size)
        walk_sum = self._walk_sum_deg + np.where(walking, tilt_deg, 0.0).cumsum()
        walk_ticks = self._walk_ticks + walking.cumsum()
        low = np.minimum.accumulate(np.where(seen, tilt_deg, np.inf))
        high = np.maximum.accumulate(np.where(seen, tilt_deg, -np.inf))
        low = np.minimum(low, self._low_deg)
        high = np.maximum(high, self._high_deg)
        has_walked = walk_ticks > 0
        # Finite (tilts are angles), so zero where there is none is what nan_to_num gave.
        walk_mean = walk_sum / np.maximum(walk_ticks, 1)
        walked = np.where(has_walked, walk_mean, np.nan)
        centre = np.where(has_walked, walk_mean, 0.0)
        decided = np.isfinite(low)
        signs = np.where(high - centre >= centre - low, 1.0, -1.0)
        signs = np.where(decided, signs, self._sign)
        if tilt_deg.size:
            self._walk_sum_deg, self._walk_ticks = float(walk_sum[-1]), int(walk_ticks[-1])
            self._low_deg, self._high_deg = float(low[-1]), float(high[-1])
            self._sign = float(signs[-1])
        return np.asarray(signs, dtype=np.float64), np.asarray(walked, dtype=np.float64), walking

    def _settled(self, tilt_deg: FloatArray, walking: np.ndarray) -> bool:
        """Whether a block changes nothing: every tilt seen, within the extremes seen
        before, and no walking (the usual live block, cleared without the bookkeeping)."""
        if not tilt_deg.size or walking.any():
            return False
        low, high = float(tilt_deg.min()), float(tilt_deg.max())
        return self._low_deg <= low and high <= self._high_deg  # False for NaN

    def _as_before(self, ticks: int) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """:meth:`signs` for a block that changed nothing."""
        walked = self._walk_sum_deg / self._walk_ticks if self._walk_ticks else np.nan
        return np.full(ticks, self._sign), np.full(ticks, walked), np.zeros(ticks, dtype=bool)

    def _steady(self, tilt_deg: FloatArray, steps: np.ndarray, walking: np.ndarray) -> np.ndarray:
        """``walking`` where the tilt swung less than a rep over the ``min_walk_ticks`` up
        to each tick. Those ticks are all steps, so a block without any (the usual one)
        breaks the run and needs no tilts kept."""
        if not steps.any():
            self._run_deg = tilt_deg[:0]
            return walking
        width = self._min_walk_ticks
        tilts = np.concatenate((self._run_deg, tilt_deg))
        self._run_deg = tilts[max(tilts.size - (width - 1), 0) :]
        if width <= 1 or not walking.any():
            return walking
        missing = np.full(width - 1 + tilt_deg.size - tilts.size, np.nan)
        windows = sliding_window_view(np.concatenate((missing, tilts)), width)
        # A walking tick's window is all steps, each with its tilt seen: NaN (a tilt
        # unseen, or before the data) only reaches windows whose ticks are not walking.
        swing_deg = windows.max(axis=1) - windows.min(axis=1)
        return np.asarray(walking & ~(swing_deg >= self._rep_swing_deg))

    def _walking(self, steps: np.ndarray) -> np.ndarray:
        """Per tick: inside a run of footfalls that has lasted ``min_walk_ticks`` so far.
        Walking is a rhythm; a burst of shaking shorter than that (a bar touching the
        floor, the turn of a quick rep) is not."""
        if steps.size and not steps.any():  # the usual block: no footfall at all
            self._steps_ticks = 0
            return np.full(steps.size, self._min_walk_ticks <= 0)
        ticks = np.arange(steps.size)
        last_still = np.maximum.accumulate(np.where(steps, -1, ticks))
        run = np.where(last_still < 0, ticks + 1 + self._steps_ticks, ticks - last_still)
        run = np.where(steps, run, 0)
        if run.size:
            self._steps_ticks = int(run[-1])
        return np.asarray(run >= self._min_walk_ticks)
