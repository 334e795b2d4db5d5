"""Which way is forward, from what the lifter's pulls do, before any walking shows it.

Before the lifter has walked, :class:`~processing.detect.strap.FaceSide` guesses the forward
side of the hinge angle from the tilts alone, and a strap far off vertical can fool it: every
rise it reads is then a lowering, and every bend a pull. A pull lifts the hips, a lowering
does not, so such "reps" climb at most noise while the bends before them climb as pulls do.
Two of them in a row (one in 60 true reps lifts nothing measurable) turn the hinge angle
round. Until the lifter walks, the pulls then decide: deeper bends that later bring the
largest tilt round to the same side by itself must not turn the reading a second time. Once
the lifter walks, the walking posture decides and the votes stop.
"""

from __future__ import annotations

#: The hinge angle is read upside down once this many reps in a row, before any walking,
#: lifted nothing while their bends lifted.
UPSIDE_DOWN_REPS = 2


class UpsideDownVotes:
    """Counts would-be reps in a row that lifted nothing while their bends lifted."""

    def __init__(self, min_climb_mps: float, pace_noise_mps: float) -> None:
        """A rise lifts something when it climbs at least ``min_climb_mps``, and a bend
        lifts clearly when it climbs faster than ``pace_noise_mps`` (m/s)."""
        self._min_climb_mps = min_climb_mps
        self._pace_noise_mps = pace_noise_mps
        self._in_a_row = 0
        self._turned = False  # the pulls turned the reading round, and nobody has walked
        self._tilt_side = 1.0  # the forward side the largest tilt gave at the last tick

    def upside_down(self, climb_mps: float, bend_climb_mps: float) -> bool:
        """Whether a would-be rep, with its rise's and its bend's peak climb, shows the
        hinge angle upside down (asked only before the lifter has walked)."""
        if not (climb_mps < self._min_climb_mps and bend_climb_mps > self._pace_noise_mps):
            self._in_a_row = 0
            return False
        self._in_a_row += 1
        if self._in_a_row < UPSIDE_DOWN_REPS:
            return False
        self._in_a_row = 0
        self._turned = True
        return True

    def came_round(self, tilt_side: float, walked: bool) -> bool:
        """Whether the largest tilt's forward side (``tilt_side``) just changed while the
        pulls decide (they turned the reading round, and nobody has walked since): the
        reading must not change with it."""
        changed = tilt_side != self._tilt_side
        self._tilt_side = tilt_side
        self._turned = self._turned and not walked
        return self._turned and changed
