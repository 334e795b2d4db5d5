"""Reps from the movement itself: a bend from upright and a loaded return to it.

The counter follows the bends and returns of the filtered hinge angle
(:class:`~processing.detect.excursions.ZigZag`) and judges each return ("rise") by a few
principles that hold for real lifting (docs/measurement.md states them):

1. A rep is a hinge: the trunk bends by at least ``min_swing_deg`` and comes back as far.
2. A rep returns to upright: the lockout comes back to where the lifter bent down from, not
   stopping partway (an abandoned set-up).
3. Nobody walks holding a loaded bar: footfalls during the rise or right after the lockout
   mean nothing was held.
4. Loaded concentrics are slower than unloaded stand-ups: a rise that climbs faster than any
   loaded pull is standing up.
5. A set begins at the bar: the lifter stays down a moment to grip before the first pull, and
   nobody holds a loaded hinge for long before pulling.

Nothing here waits for an upright reference, a stance or a still moment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.excursions import Turn, ZigZag
from processing.detect.history import TickHistory
from processing.detect.motion import Feature, peak_climb_mps


@dataclass(frozen=True, slots=True)
class RepSettings:
    """How reps and sets are recognised; angles are changes of the hinge angle."""

    #: The smallest hinge a rep makes, in degrees: the trunk bends and comes back at least
    #: this far (a press or a row sways it less; the most upright pulls move a lumbar sensor
    #: 20-30 deg).
    min_swing_deg: float = 20.0
    #: A lockout comes back to upright: it may stop short of the posture the lifter bent
    #: down from by at most this fraction of the bend (an abandoned set-up stops halfway).
    max_short_of_upright: float = 0.3
    #: The lockout is where the return comes within this fraction of the bend of its top.
    lockout_fraction: float = 0.1
    #: Longest stay at the top between two reps, in s: a later bend is a new set-up, and a
    #: return that stays up this long is the set's last.
    max_lockout_hold_s: float = 4.0
    #: Footfall level, in m/s^2 (RMS, 1.2-3.5 Hz), above which the lifter is walking...
    walking_mps2: float = 0.8
    #: ...judged from the start of a rise to this long after its lockout, in s.
    walk_window_s: float = 2.0
    #: A rise whose sensor climbs faster than this, in m/s, is unloaded: standing up without
    #: a bar peaks at 0.7-1.2 m/s, a loaded pull well below.
    unloaded_speed_mps: float = 0.6
    #: A set begins at the bar: before its first pull the lifter stays down, gripping, at
    #: least this long, in s (standing up from a chair turns round at the bottom at once)...
    min_setup_s: float = 0.5
    #: ...and no longer than this, in s: a hinge held longer was a row, a plate or a shoe.
    max_setup_s: float = 8.0
    #: A set closes after this long without a rep, in s.
    max_rest_in_set_s: float = 10.0


@dataclass(frozen=True, slots=True)
class RepTicks:
    """A detected rep as absolute tick numbers."""

    start: int
    lockout: int
    end: int
    #: Deepest bend before the pull, where the back is most flexed.
    deepest: int


@dataclass(frozen=True, slots=True)
class _Rise:
    """A return from a bend: its bottom, top and the measured moments in between."""

    bottom: Turn
    top: Turn
    start: int
    lockout: int
    climb_mps: float
    #: Seconds the lifter stayed down before the rise began (since the data began, when the
    #: lifter was bent from the start).
    dwell_s: float


class RepCounter:
    """Judges every rise of the hinge angle and groups the reps into sets."""

    def __init__(
        self, settings: RepSettings, rate_hz: float, history: TickHistory, motion_role: str
    ) -> None:
        """Follow the hinge angle the pipeline stores in ``history``."""
        self.settings = settings
        self._rate_hz = rate_hz
        self._history = history
        self._role = motion_role
        self._zigzag = ZigZag(settings.min_swing_deg)
        self._hold_ticks = round(settings.max_lockout_hold_s * rate_hz)
        self._rest_ticks = round(settings.max_rest_in_set_s * rate_hz)
        self._top: Turn | None = None  # the top the current bend began from
        self._bottom: Turn | None = None  # the bottom of a rise not judged yet
        self._waiting: _Rise | None = None  # an accepted rep whose eccentric is under way
        self._last_end: int | None = None
        self._saw_top = False  # whether ``_top`` is a real top, not the start of the data

    def step(self, tick: int, hinge_deg: float) -> tuple[list[RepTicks], bool]:
        """Follow one tick; the reps it settled and whether the set closed."""
        reps: list[RepTicks] = []
        if self._top is None and hinge_deg == hinge_deg:
            self._top = Turn(tick, hinge_deg, bent=False)  # where the data began
            self._saw_top = False
        turn = self._zigzag.step(tick, hinge_deg)
        if turn is not None and turn.bent:
            self._reached_bottom(turn, reps)
        elif turn is not None:
            self._reached_top(turn, reps)
        elif self._bottom is not None:
            self._settle_final_rise(tick, reps)
        return reps, self._set_closed(tick)

    def finish(self) -> list[RepTicks]:
        """Settle what is pending at the end of the data."""
        reps: list[RepTicks] = []
        newest = self._history.newest
        if self._waiting is not None:
            reps.append(self._rep(self._waiting, newest))
            self._waiting = None
        top = self._zigzag.candidate
        if self._bottom is not None and top is not None and not top.bent:
            self._judge(self._bottom, top, reps, final=True)
        return reps

    def _reached_bottom(self, bottom: Turn, reps: list[RepTicks]) -> None:
        """A bend bottomed out: the end of a waiting rep's eccentric, the start of a rise."""
        if self._waiting is not None:
            reps.append(self._rep(self._waiting, self._arrival(self._waiting.top, bottom)))
            self._waiting = None
        self._bottom = bottom

    def _reached_top(self, top: Turn, reps: list[RepTicks]) -> None:
        """The lifter bent again after a return: judge it, now that a bend follows it."""
        if self._bottom is not None:
            self._judge(self._bottom, top, reps, final=False)
        self._top = top
        self._saw_top = True

    def _settle_final_rise(self, tick: int, reps: list[RepTicks]) -> None:
        """A return that has stayed up for the longest lockout hold is the set's last."""
        top = self._zigzag.candidate
        if self._bottom is None or top is None or top.bent:
            return
        if tick - top.tick >= self._hold_ticks:
            self._judge(self._bottom, top, reps, final=True)

    def _judge(self, bottom: Turn, top: Turn, reps: list[RepTicks], final: bool) -> None:
        """Decide whether a rise was a rep; a rep followed by a bend waits for its end."""
        self._bottom = None
        rise = self._measure(bottom, top)
        if not self._is_rep(rise):
            return
        held = top.tick - rise.lockout <= self._hold_ticks
        if final or not held:
            end = min(top.tick, rise.lockout + round(0.5 * self._rate_hz))
            reps.append(self._rep(rise, end))
        else:
            self._waiting = rise

    def _measure(self, bottom: Turn, top: Turn) -> _Rise:
        """Start, lockout and climb speed of the rise from ``bottom`` to ``top``."""
        hinge = self._history.hinge_deg(bottom.tick, top.tick)
        swing = bottom.deg - top.deg
        left = np.flatnonzero(hinge < bottom.deg - 0.05 * swing)
        start = bottom.tick + (int(left[0]) - 1 if left.size else 0)
        locked = np.flatnonzero(hinge <= top.deg + self.settings.lockout_fraction * swing)
        lockout = bottom.tick + (int(locked[0]) if locked.size else top.tick - bottom.tick)
        margin = round(0.3 * self._rate_hz)
        vertical = self._history.features(self._role, start - margin, lockout + margin)
        climb = peak_climb_mps(vertical[:, Feature.VERTICAL_MPS2], self._rate_hz)
        start = max(start, bottom.tick)
        arrival = self._arrival(self._top, bottom) if self._top is not None else bottom.tick
        return _Rise(bottom, top, start, lockout, climb, (start - arrival) / self._rate_hz)

    def _is_rep(self, rise: _Rise) -> bool:
        """The principles of the module docstring, 2 to 4 (1 is the zigzag's swing)."""
        s = self.settings
        if self._top is not None:
            bend_deg = rise.bottom.deg - self._top.deg
            if rise.top.deg - self._top.deg > s.max_short_of_upright * bend_deg:
                return False
        footfalls = self._history.footfall_mps2(
            rise.start, rise.lockout + round(s.walk_window_s * self._rate_hz)
        )
        if np.any(~np.isnan(footfalls)) and float(np.nanmedian(footfalls)) > s.walking_mps2:
            return False
        if rise.dwell_s > s.max_setup_s:
            return False
        if self._saw_top and self._last_end is None and rise.dwell_s < s.min_setup_s:
            return False
        return rise.climb_mps <= s.unloaded_speed_mps

    def _arrival(self, top: Turn, bottom: Turn) -> int:
        """When an eccentric from ``top`` reached ``bottom`` (within 5% of the bend)."""
        hinge = self._history.hinge_deg(top.tick, bottom.tick)
        near = np.flatnonzero(hinge >= bottom.deg - 0.05 * (bottom.deg - top.deg))
        return top.tick + (int(near[0]) if near.size else bottom.tick - top.tick)

    def _rep(self, rise: _Rise, end: int) -> RepTicks:
        """The rep of an accepted rise, ending at ``end``."""
        self._last_end = end
        return RepTicks(rise.start, rise.lockout, end, rise.bottom.tick)

    def _set_closed(self, tick: int) -> bool:
        """True once, when the set has gone ``max_rest_in_set_s`` without a rep."""
        if self._last_end is None or tick - self._last_end < self._rest_ticks:
            return False
        if self._waiting is not None or self._bottom is not None:
            return False
        self._last_end = None
        return True
