"""Streaming deadlift rep detector, fed one tick of hinge angle at a time.

A rep is anchored on a *rise*: the trunk coming up from a bend (the concentric) to upright
(lockout). What happens next decides what the rise was:

- the lifter bends again within a short, still lockout hold: the bar went back down, so the
  rise was a rep whose eccentric ends at the next bottom;
- the lifter stays up: either a rep whose bar was dropped from lockout, or standing up
  without the bar (after putting it down, after picking up a plate). A loaded concentric is
  slower than standing up unloaded, so the rise counts as a rep only when it is about as
  slow as the loaded concentrics of the same set, or slow in absolute terms when it would be
  the only rep of a set.

A set-up bend is a descent with no lockout before it, so it never starts a rep; walking and
sitting never bend the trunk far enough to make a rise.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

import numpy as np

from processing.history import TickHistory
from processing.motion import Feature, height_change_m


@dataclass(frozen=True, slots=True)
class RepSettings:
    """Thresholds of the rep detector; angles are hinge (trunk) inclination from upright."""

    #: Above this inclination, in degrees, the lifter is bent over (at or near the bar).
    down_deg: float = 30.0
    #: Below this inclination, in degrees, the lifter is upright again.
    up_deg: float = 15.0
    #: Inclination speed, in degrees per second, below which the trunk counts as not moving
    #: (start of the concentric, lockout, bottom of the eccentric).
    still_speed_dps: float = 10.0
    #: Longest lockout hold before the next rep, in s; staying up longer ends the rep there.
    max_lockout_hold_s: float = 4.0
    #: A final rise (no eccentric after it) is a dropped rep when its concentric takes at
    #: least this fraction of the set's median loaded concentric.
    dropped_rep_speed_ratio: float = 0.75
    #: A lone final rise (no other rep in the set) is a rep only when its concentric takes
    #: at least this long, in s: standing up unloaded is quicker.
    lone_rep_min_concentric_s: float = 1.0
    #: Reps whose start follows the previous rep's end within this many s share a set.
    max_rest_in_set_s: float = 10.0
    #: How far back, in s, the deepest bend of a concentric is searched for before the
    #: trunk comes up (grinders stall for seconds).
    max_concentric_s: float = 5.0
    #: The bar leaves the floor at most this long, in s, before the deepest bend: the trunk
    #: keeps leaning while the knees extend.
    max_lean_s: float = 1.5
    #: The bar leaves the floor at the last moment the sensor is within this of its lowest
    #: point, in m (a dead stop rests there for a while).
    floor_tolerance_m: float = 0.01
    #: Walking is told apart from standing by the accelerometer's mean deviation from
    #: gravity above this, in m/s^2 (footfalls), ...
    walking_accel_mps2: float = 0.6
    #: ...within this long after a lockout, in s: a lifter walking away put nothing down.
    walking_window_s: float = 2.0


@dataclass(frozen=True, slots=True)
class RepTicks:
    """A detected rep as absolute tick numbers."""

    start: int
    lockout: int
    end: int
    dropped: bool


@dataclass(slots=True)
class _Rise:
    """A concentric in progress or awaiting what follows it."""

    bent_since: int
    crossed: int
    lockout: int | None = None
    start: int = 0


class RepDetector:
    """Turns the hinge angle, one tick at a time, into reps and set boundaries."""

    def __init__(
        self, settings: RepSettings, tick_rate_hz: float, history: TickHistory, motion_role: str
    ) -> None:
        """Start upright; ``motion_role`` is the sensor whose footfalls reveal walking."""
        self.settings = settings
        self.rate_hz = tick_rate_hz
        self.history = history
        self.motion_role = motion_role
        self._bent = False
        self._bent_since = 0
        self._rise: _Rise | None = None
        self._eccentric_of: _Rise | None = None
        self._eccentric_from = 0
        self._set_concentrics_s: list[float] = []
        self._last_rep_end = -(10**9)
        self._recent = [float("nan")] * 4

    @property
    def set_in_progress(self) -> bool:
        """Whether reps have been counted in a set that has not yet been closed."""
        return bool(self._set_concentrics_s)

    def step(self, i: int, hinge_deg: float) -> tuple[list[RepTicks], bool]:
        """Advance one tick; returns reps completed on it and whether the set ended."""
        self._recent = [*self._recent[1:], hinge_deg]
        speed_dps = (self._recent[3] - self._recent[0]) * self.rate_hz / 3.0
        reps: list[RepTicks] = []
        if hinge_deg != hinge_deg:  # NaN: no data for this tick
            return reps, self._set_timed_out(i)
        self._follow_bend(i, hinge_deg, reps)
        self._follow_rise(i, speed_dps, reps)
        self._follow_eccentric(i, speed_dps, reps)
        return reps, self._set_timed_out(i)

    def _follow_bend(self, i: int, hinge_deg: float, reps: list[RepTicks]) -> None:
        """Switch between bent and upright with hysteresis; a rise begins on straightening."""
        s = self.settings
        if not self._bent and hinge_deg > s.down_deg:
            self._bent, self._bent_since = True, i
            if self._rise is not None and self._rise.lockout is not None:
                self._eccentric_of, self._eccentric_from = self._rise, i
            self._rise = None
        elif self._bent and hinge_deg < s.up_deg:
            self._bent = False
            self._rise = _Rise(bent_since=self._bent_since, crossed=i)

    def _follow_rise(self, i: int, speed_dps: float, reps: list[RepTicks]) -> None:
        """Find the lockout of a rise, and settle a rise that is not followed by a bend."""
        rise = self._rise
        if rise is None:
            return
        if rise.lockout is None:
            if speed_dps > -self.settings.still_speed_dps:
                rise.lockout = i
                rise.start = self._concentric_start(rise)
            return
        if (i - rise.lockout) / self.rate_hz >= self.settings.max_lockout_hold_s:
            self._rise = None
            if self._is_dropped_rep(rise):
                end = min(i, rise.lockout + round(self.rate_hz))
                reps.append(self._count(RepTicks(rise.start, rise.lockout, end, dropped=True)))

    def _follow_eccentric(self, i: int, speed_dps: float, reps: list[RepTicks]) -> None:
        """End the rep whose bar went back down once the trunk stops descending."""
        rise = self._eccentric_of
        if rise is None or speed_dps > self.settings.still_speed_dps:
            return
        if rise.lockout is None:
            return
        window = self.history.hinge_deg(self._eccentric_from, i)
        end = self._eccentric_from + int(np.nanargmax(window)) if window.size else i
        self._eccentric_of = None
        reps.append(self._count(RepTicks(rise.start, rise.lockout, max(end, rise.lockout), False)))

    def _concentric_start(self, rise: _Rise) -> int:
        """Tick at which the bar left the floor: the lowest point of the sensor before lockout.

        The trunk angle is a poor clock for this: as the bar breaks the floor the knees extend
        first and the trunk even leans a little further. The sensor's height is not: it is
        lowest when the bar touches the floor. Height is the vertical acceleration integrated
        backwards from lockout (at rest there), searched only where the lifter was bent.
        """
        assert rise.lockout is not None
        lean_from = self._deepest_bend(rise) - self._ticks(self.settings.max_lean_s)
        first = max(rise.bent_since, lean_from)
        features = self.history.features(self.motion_role, first, rise.lockout)
        vertical = features[:, Feature.VERTICAL_MPS2]
        first = rise.lockout - vertical.size + 1
        missing = np.flatnonzero(np.isnan(vertical))
        if missing.size:  # never integrate across a gap
            first += int(missing[-1]) + 1
            vertical = vertical[int(missing[-1]) + 1 :]
        if vertical.size < 2:
            return rise.crossed
        height = height_change_m(vertical, self.rate_hz)[: rise.crossed - first + 1]
        if height.size == 0:
            return rise.crossed
        near_lowest = np.flatnonzero(height <= height.min() + self.settings.floor_tolerance_m)
        return first + int(near_lowest[-1])

    def _deepest_bend(self, rise: _Rise) -> int:
        """Tick of the deepest bend in the last stretch before the trunk came up."""
        first = max(rise.bent_since, rise.crossed - self._ticks(self.settings.max_concentric_s))
        hinge = self.history.hinge_deg(first, rise.crossed)
        first = rise.crossed - hinge.size + 1
        return first + int(np.nanargmax(hinge)) if not np.isnan(hinge).all() else rise.crossed

    def _ticks(self, seconds: float) -> int:
        """A duration as a whole number of ticks."""
        return round(seconds * self.rate_hz)

    def _is_dropped_rep(self, rise: _Rise) -> bool:
        """Whether a rise with no eccentric after it was loaded (a rep) or standing up."""
        assert rise.lockout is not None
        concentric_s = (rise.lockout - rise.start) / self.rate_hz
        if self.set_in_progress:
            loaded_s = median(self._set_concentrics_s)
            return concentric_s >= self.settings.dropped_rep_speed_ratio * loaded_s
        return concentric_s >= self.settings.lone_rep_min_concentric_s and not self._walked_after(
            rise.lockout
        )

    def _walked_after(self, lockout: int) -> bool:
        """Whether the lifter walked off soon after a lockout (footfalls on the accelerometer)."""
        last = lockout + round(self.settings.walking_window_s * self.rate_hz)
        features = self.history.features(self.motion_role, lockout, last)
        deviation = features[:, Feature.ACCEL_DEVIATION_MPS2]
        return (
            bool(np.nanmean(deviation) > self.settings.walking_accel_mps2)
            if deviation.size
            else False
        )

    def _count(self, rep: RepTicks) -> RepTicks:
        """Remember a rep's concentric time for judging later rises of the same set."""
        self._set_concentrics_s.append((rep.lockout - rep.start) / self.rate_hz)
        self._last_rep_end = rep.end
        return rep

    def _set_timed_out(self, i: int) -> bool:
        """Close the set once the lifter has rested longer than reps within a set do."""
        if not self.set_in_progress or self._rise is not None or self._eccentric_of is not None:
            return False
        if (i - self._last_rep_end) / self.rate_hz > self.settings.max_rest_in_set_s:
            self._set_concentrics_s = []
            return True
        return False
