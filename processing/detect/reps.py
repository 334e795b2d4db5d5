"""Streaming deadlift rep detector, fed one tick of hinge angle at a time.

A rep is anchored on a *rise*: the trunk coming up from a bend (the concentric) to upright
(lockout) while the sensor climbs from its lowest point. What happens next decides what the
rise was:

- the lifter bends again within a short lockout hold: the bar went back down, so the rise
  was a rep whose eccentric ends at the next bottom;
- the lifter stays up: either a rep whose bar was dropped from lockout, or standing up
  without the bar (after putting it down, after picking up a plate). A loaded pull extends
  the knees first, the bar has to clear them, so the trunk keeps its bend while the sensor
  starts to climb; standing up unloaded straightens hips and knees together, and is
  quicker. The rise counts as a rep only when the trunk kept its bend early in the climb,
  the sensor climbed no faster than in the set's other reps (or, alone, than a loaded pull
  does) and the lifter did not walk off straight away.

A set-up bend is a descent with no lockout before it, so it never starts a rep; sitting down
lowers the sensor as the trunk comes up, and walking never bends the trunk far enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import inf
from statistics import median

import numpy as np

from processing.detect.climb import UNMEASURED, Climb, ClimbMeter, lifted
from processing.detect.history import TickHistory
from processing.detect.motion import Feature
from processing.detect.rep_settings import RepSettings
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class RepTicks:
    """A detected rep as absolute tick numbers."""

    start: int
    lockout: int
    end: int
    dropped: bool
    #: Deepest bend before the pull, where the back is most flexed (the start may be later
    #: than it when a data gap hid the pull's beginning).
    deepest: int


@dataclass(slots=True)
class _Rise:
    """A concentric in progress or awaiting what follows it."""

    bent_since: int
    crossed: int
    lockout: int | None = None
    start: int = 0
    climb: Climb = UNMEASURED  # not measurable when a gap cut the pull short
    #: First tick of the data gap the trunk came up in (None: seen coming up).
    emerged_from_gap: int | None = None
    #: Hardest upward acceleration just before that gap.
    accel_into_gap_mps2: float = float("nan")
    climb_pending: bool = False  # locked out, climb not yet measured (waiting for rest)

    @property
    def peak_accel_mps2(self) -> float:
        """Hardest upward acceleration of the climb or, unmeasured, into the gap it rose in."""
        return self.climb.peak_accel_mps2 if self.climb.measured else self.accel_into_gap_mps2


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
        self._set_speeds_mps: list[float] = []
        self._last_rep_end = -(10**9)
        self._recent = [float("nan")] * 4
        self._gap_from: int | None = None
        self._bend_gap: tuple[int, int] | None = None
        self._pulling_into_gap = False  # ... the longest gap of the current bend
        self._pulling_at_gap = False  # whether the sensor climbed as the current gap began
        self._set_bent_ticks: list[int] = []
        self._set_lockouts: list[int] = []
        self._set_peak_accels_mps2: list[float] = []
        self._meter = ClimbMeter(settings, tick_rate_hz, history, motion_role)

    def restarted(self) -> RepDetector:
        """A detector with nothing in progress that keeps what it learnt of the accelerometer."""
        fresh = RepDetector(self.settings, self.rate_hz, self.history, self.motion_role)
        fresh._meter = self._meter
        return fresh

    @property
    def set_in_progress(self) -> bool:
        """Whether reps have been counted in a set that has not yet been closed."""
        return bool(self._set_speeds_mps)

    def step(self, i: int, hinge_deg: float, still_ticks: int) -> tuple[list[RepTicks], bool]:
        """Advance one tick; returns reps completed on it and whether the set ended.

        ``still_ticks`` counts the consecutive ticks, this one included, in which every
        sensor has been still.
        """
        self._meter.learn_rest(i, still_ticks)
        self._recent = [*self._recent[1:], hinge_deg]
        speed_dps = (self._recent[3] - self._recent[0]) * self.rate_hz / 3.0
        reps: list[RepTicks] = []
        if hinge_deg != hinge_deg:  # NaN: no data for this tick
            if self._gap_from is None:
                self._gap_from = i
                self._pulling_at_gap = self._meter.climbing_at(i - 1)
                self._end_eccentric(i - 1, reps)
            return reps, self._set_timed_out(i)
        gap_from, self._gap_from = self._gap_from, None
        if gap_from is not None and self._bent:
            self._note_gap_in_bend(gap_from, i)
        self._follow_bend(i, hinge_deg, reps)
        if gap_from is not None and self._rise is not None and self._rise.crossed == i:
            self._rise.emerged_from_gap = gap_from
            self._rise.accel_into_gap_mps2 = self._meter.peak_accel_before(gap_from)
        self._follow_rise(i, speed_dps, still_ticks > 0, reps)
        self._follow_eccentric(i, speed_dps, reps)
        return reps, self._set_timed_out(i)

    def _follow_bend(self, i: int, hinge_deg: float, reps: list[RepTicks]) -> None:
        """Switch between bent and upright with hysteresis; a rise begins on straightening."""
        s = self.settings
        if not self._bent and hinge_deg > s.down_deg:
            self._bent, self._bent_since, self._bend_gap = True, i, None
            rise = self._rise
            if rise is not None and rise.climb_pending and rise.lockout is not None:
                self._measure_climb(rise, at_rest=rise.lockout)  # down again without a rest
            if rise is not None and rise.lockout is not None and self._went_back_down(rise, i):
                self._eccentric_of, self._eccentric_from = rise, i
            self._rise = None
        elif self._bent and hinge_deg < s.up_deg:
            self._bent = False
            self._count_rep_hidden_in_gap(i, reps)
            self._rise = _Rise(bent_since=self._bent_since, crossed=i)

    def _follow_rise(self, i: int, speed_dps: float, still: bool, reps: list[RepTicks]) -> None:
        """Find the lockout of a rise, measure its climb once the sensor is at rest, and
        settle a rise that is not followed by a bend."""
        s = self.settings
        rise = self._rise
        if rise is None:
            return
        if rise.lockout is None:
            if speed_dps > -s.still_speed_dps:
                if rise.emerged_from_gap is not None and i - rise.crossed <= len(self._recent):
                    self._locked_out_in_gap(rise, rise.emerged_from_gap, rise.crossed)
                    return
                rise.lockout, rise.climb_pending = i, True
            return
        if rise.climb_pending and (still or i - rise.lockout >= self._ticks(s.rest_wait_s)):
            self._measure_climb(rise, at_rest=i)
        if (i - rise.lockout) / self.rate_hz >= self.settings.max_lockout_hold_s:
            self._rise = None
            if self._is_dropped_rep(rise):
                end = min(i, rise.lockout + round(self.rate_hz))
                reps.append(self._count(rise, end, dropped=True))

    def _follow_eccentric(self, i: int, speed_dps: float, reps: list[RepTicks]) -> None:
        """End the rep whose bar went back down once the trunk stops descending."""
        if speed_dps <= self.settings.still_speed_dps:
            self._end_eccentric(i, reps)

    def _end_eccentric(self, last: int, reps: list[RepTicks]) -> None:
        """End the rep being lowered, if any, at its deepest bend up to tick ``last``."""
        rise = self._eccentric_of
        if rise is None or rise.lockout is None:
            return
        window = self.history.hinge_deg(self._eccentric_from, last)
        seen = window.size and not np.isnan(window).all()
        end = self._eccentric_from + int(np.nanargmax(window)) if seen else last
        self._eccentric_of = None
        reps.append(self._count(rise, max(end, rise.lockout), dropped=False))

    def _note_gap_in_bend(self, gap_from: int, gap_to: int) -> None:
        """Remember the longest data gap of the current bend: a whole rep may hide in it."""
        known = self._bend_gap
        if known is None or gap_to - gap_from > known[1] - known[0]:
            self._bend_gap = (gap_from, gap_to)
            self._pulling_into_gap = self._pulling_at_gap

    def _count_rep_hidden_in_gap(self, i: int, reps: list[RepTicks]) -> None:
        """Count a rep whose rise and lowering a data gap hid, as the trunk comes up at ``i``.

        The lifter was bent on both sides of the gap, and either went into it pulling (the
        sensor climbing) and came out of it not, or came out of it on the way back down from
        near upright, or stayed bent for far longer than between the set's other reps: up
        and down again in the gap, a rep went unseen.
        """
        gap = self._bend_gap
        if gap is None or gap[1] == i:
            return  # no gap, or upright right after it: the rise itself locked out in the gap
        gap_from, gap_to = gap
        if gap_to - gap_from < self._ticks(self.settings.min_hidden_rep_s):
            return
        pull_vanished = self._pulling_into_gap and not self._coming_up(gap_to, i)
        seen_again_down = pull_vanished or self._going_back_down(gap_to, i)
        if not (seen_again_down or self._bent_too_long(i, gap_from, gap_to)):
            return
        hidden = _Rise(bent_since=self._bent_since, crossed=gap_from, start=gap_from)
        hidden.lockout = (gap_from + gap_to) // 2
        reps.append(self._count(hidden, gap_to, dropped=False, hidden=True))
        self._bent_since = gap_to

    def _going_back_down(self, first: int, last: int) -> bool:
        """Whether the trunk came out of a gap at ``first`` less than bent and bending further:
        it had come up in the gap and turned back down."""
        start_deg, rate_dps = self._first_moments(first, last)
        return start_deg < self.settings.down_deg and rate_dps > self.settings.still_speed_dps

    def _bent_too_long(self, i: int, gap_from: int, gap_to: int) -> bool:
        """Whether a bend with a gap in it, ending at ``i``, lasted far longer than the set's
        usual bend between reps (and is not a slow pull the gap cut in two: one that came out
        of a gap shorter than a rep cycle still coming up, and higher than it went in)."""
        if len(self._set_bent_ticks) < 2:
            return False
        typical = median(self._set_bent_ticks[1:])  # the first rep's bend includes the set-up
        if i - self._bent_since < self.settings.hidden_rep_bend_ratio * typical:
            return False
        within_a_pull = gap_to - gap_from < self._rep_cycle_ticks()
        return not (
            within_a_pull and self._coming_up(gap_to, i) and self._rose_in(gap_from, gap_to)
        )

    def _rose_in(self, gap_from: int, gap_to: int) -> bool:
        """Whether the trunk came out of a gap markedly less bent than it went in."""
        before_deg = self.history.hinge_deg(gap_from - 1, gap_from - 1)
        after_deg = self.history.hinge_deg(gap_to, gap_to)
        if not (before_deg.size and after_deg.size):
            return True  # unknown: the gentler reading
        return bool(after_deg[0] < before_deg[0] - self.settings.cut_pull_rise_deg)

    def _locked_out_in_gap(self, rise: _Rise, gap_from: int, gap_to: int) -> None:
        """Place the lockout of a pull that a data gap hid, and leave its climb unmeasured.

        The lifter was bent before the gap and upright, no longer rising, as soon as the data
        returned: the lockout happened in the gap, about a pull's length after it began.
        """
        pull = self._ticks(self.settings.typical_concentric_s)
        rise.start = gap_from
        rise.lockout = gap_from + min((gap_to - gap_from) // 2, pull)

    def _measure_climb(self, rise: _Rise, at_rest: int) -> None:
        """Measure the climb of a rise that locked out, from a little before its deepest
        bend (the bar leaves the floor as the trunk still leans) up to tick ``at_rest``,
        where the sensor is still again."""
        rise.climb_pending = False
        first = max(
            self._deepest_bend(rise) - self._ticks(self.settings.max_lean_s), rise.bent_since
        )
        rise.climb = climb = self._meter.measure(first, at_rest)
        # Unmeasured, the start is all it tells, and no later than the trunk came up.
        rise.start = climb.start if climb.measured else min(climb.start, rise.crossed)

    def _is_lift(self, rise: _Rise, mid_set: bool = False) -> bool:
        """Whether the sensor climbed far and fast enough to have lifted anything (yes, if unknown).

        Sitting back up after leaning forward on a bench straightens the trunk too, but the
        sensor barely climbs and never at the pace of even a grinding pull. Mid-set, where
        the next rep is expected and nobody sits down, any real climb will do, at the pace of
        the slowest grinder.
        """
        s = self.settings
        min_rise_m = s.min_mid_set_rise_m if mid_set else s.min_lift_rise_m
        pelvis_deg, lumbar_deg = self._posture_at_lockout(rise)
        if pelvis_deg == pelvis_deg:  # a sacrum sensor tells sitting apart: slower is fine
            min_speed_mps = s.min_watched_pull_speed_mps
            seated = pelvis_deg < s.seated_pelvis_deg and not lumbar_deg <= s.seated_lumbar_deg
        else:
            min_speed_mps, seated = s.min_pull_speed_mps, False
        if mid_set:
            min_speed_mps = s.min_watched_pull_speed_mps
        pulled = lifted(rise.climb.climb_m, rise.climb.peak_speed_mps, min_rise_m, min_speed_mps)
        return pulled and self._reached_upright(rise) and not seated

    def _reached_upright(self, rise: _Rise) -> bool:
        """Whether the trunk came up all the way: lockout is upright (or at least most of the
        way back from the bend, should the reference be a little off), and a set-up abandoned
        halfway up straightens less (unknown after a gap: yes)."""
        assert rise.lockout is not None
        if rise.lockout < rise.crossed:
            return True  # locked out unseen, in a gap
        s = self.settings
        last = rise.lockout + self._ticks(s.lockout_settle_s)
        hinge_deg = self.history.hinge_deg(rise.crossed, last)
        deepest = self._deepest_bend(rise)
        deepest_deg = self.history.hinge_deg(deepest, deepest)
        if np.isnan(hinge_deg).all():
            return True
        allowed_deg = max(s.lockout_max_deg, s.lockout_max_fraction * float(deepest_deg[0]))
        return bool(np.nanmin(hinge_deg) <= allowed_deg)

    def _posture_at_lockout(self, rise: _Rise) -> tuple[float, float]:
        """Mean pelvis tilt and lumbar flexion just after lockout (NaN without a sacrum
        sensor, or unseen): slumped on a bench, the pelvis tilts back under a flexed lumbar
        spine; a lockout stands straight."""
        assert rise.lockout is not None
        last = rise.lockout + self._ticks(self.settings.lockout_settle_s)
        return _mean_or_nan(self.history.pelvis_deg(rise.lockout, last)), _mean_or_nan(
            self.history.lumbar_deg(rise.lockout, last)
        )

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
        """Whether a rise with no eccentric after it was loaded (a rep) or standing up.

        A loaded pull keeps the trunk bent while the knees extend and climbs no quicker than
        the set's other pulls; where the climb does not show the trunk's part, its pace and
        how long it took decide (standing up unloaded is quick and short).
        """
        assert rise.lockout is not None
        s = self.settings
        if not self._is_lift(rise) or self._walked_off(rise.lockout):
            return False
        if self._leapt_into_gap(rise):
            return False
        climb = rise.climb
        climb_s = climb.climb_s if climb.climb_s == climb.climb_s else s.unloaded_climb_s
        allowed_ratio = float((climb_s / s.unloaded_climb_s) ** s.climb_time_exponent)
        if climb.trunk_kept == climb.trunk_kept:
            set_ratio = max(s.max_final_speed_ratio, allowed_ratio)
            paced = self._paced_like_a_pull(rise, set_ratio, max(allowed_ratio, 1.0))
            return paced and climb.trunk_kept >= s.min_trunk_kept
        return self._paced_like_a_pull(rise, allowed_ratio, min(allowed_ratio, 1.0))

    def _leapt_into_gap(self, rise: _Rise) -> bool:
        """Whether a rise that came up in a data gap began by accelerating upward far harder
        than any of the set's pulls did: unloaded, the body leaps up."""
        known = [a for a in self._set_peak_accels_mps2 if a == a]
        if rise.emerged_from_gap is None or rise.climb.measured or not known:
            return False
        return rise.peak_accel_mps2 > self.settings.standing_up_accel_ratio * max(known)

    def _paced_like_a_pull(self, rise: _Rise, set_ratio: float, lone_ratio: float) -> bool:
        """Whether a rise climbed no faster than ``set_ratio`` times the set's median peak
        speed or, with no set in progress, ``lone_ratio`` times a loaded pull's."""
        s = self.settings
        if not self.set_in_progress:
            return not rise.climb.peak_speed_mps > s.lone_rep_max_speed_mps * lone_ratio
        measured = [v for v in self._set_speeds_mps if v == v]
        if not measured:  # no pace to compare with: only the climb's own time tells
            return set_ratio >= 1.0
        return not rise.climb.peak_speed_mps > set_ratio * median(measured)

    def _went_back_down(self, rise: _Rise, bend: int) -> bool:
        """Whether a bend lowers the bar of ``rise``: no walking about in between.

        Mid-set, a lockout followed straight by another bend is a rep if the sensor climbed
        at all; a first rep must show that it lifted something.
        """
        assert rise.lockout is not None
        lowering = bend - self._ticks(self.settings.lowering_s)
        lifted = self._is_lift(rise, mid_set=self.set_in_progress)
        return lifted and not self._walked_between(rise.lockout, lowering)

    def _walked_between(self, lockout: int, until: int) -> bool:
        """Whether the lifter walked between a lockout and ``until`` (footfalls on the sensor)."""
        return self._footfalls(self._seen_deviation(lockout, until))

    def _walked_off(self, lockout: int) -> bool:
        """Whether the lifter walked off within ``walking_window_s`` of data after a lockout;
        a data gap may push those footfalls as late as the longest lockout hold."""
        s = self.settings
        seen = self._seen_deviation(lockout, lockout + self._ticks(s.max_lockout_hold_s))
        return self._footfalls(seen[: self._ticks(s.walking_window_s - s.lockout_settle_s)])

    def _seen_deviation(self, lockout: int, until: int) -> FloatArray:
        """The motion sensor's accelerometer deviation from gravity, where seen, from just
        after a lockout (once the first shake of it settled) to tick ``until``."""
        first = lockout + self._ticks(self.settings.lockout_settle_s)
        deviation = self.history.features(self.motion_role, first, until)[
            :, Feature.ACCEL_DEVIATION_MPS2
        ]
        return deviation[~np.isnan(deviation)]

    def _footfalls(self, deviation_mps2: FloatArray) -> bool:
        """Whether enough accelerometer deviation was seen to judge, and it was walking."""
        if deviation_mps2.size < self._ticks(self.settings.min_walk_s):
            return False
        return bool(deviation_mps2.mean() > self.settings.walking_accel_mps2)

    def _rep_cycle_ticks(self) -> float:
        """The set's usual time from one lockout to the next, in ticks."""
        intervals = np.diff(self._set_lockouts).tolist()
        return float(median(intervals)) if intervals else inf

    def _first_moments(self, first: int, last: int) -> tuple[float, float]:
        """Hinge angle at tick ``first`` and how fast it grew (bending further, deg/s) over
        the first 0.3 s from there, not beyond ``last`` (NaN when not seen)."""
        hinge = self.history.hinge_deg(first, min(last, first + self._ticks(0.3)))
        if hinge.size < 2:
            return float("nan"), float("nan")
        elapsed_s = (hinge.size - 1) / self.rate_hz
        return float(hinge[0]), float(hinge[-1] - hinge[0]) / elapsed_s

    def _coming_up(self, first: int, last: int) -> bool:
        """Whether the trunk was rising faster than standstill over the first moments from
        ``first`` (up to ``last``)."""
        return self._first_moments(first, last)[1] < -self.settings.still_speed_dps

    def _count(self, rise: _Rise, end: int, dropped: bool, hidden: bool = False) -> RepTicks:
        """A rep from a settled rise; its climbing speed sets the pace for the rest of the set."""
        assert rise.lockout is not None
        self._set_speeds_mps.append(rise.climb.peak_speed_mps)
        self._set_peak_accels_mps2.append(rise.peak_accel_mps2)
        self._set_lockouts.append(rise.lockout)
        if not hidden:
            self._set_bent_ticks.append(rise.crossed - rise.bent_since)
        self._last_rep_end = end
        return RepTicks(rise.start, rise.lockout, end, dropped, self._deepest_bend(rise))

    def _set_timed_out(self, i: int) -> bool:
        """Close the set once the lifter has rested longer than reps within a set do."""
        if not self.set_in_progress or self._rise is not None or self._eccentric_of is not None:
            return False
        if (i - self._last_rep_end) / self.rate_hz > self.settings.max_rest_in_set_s:
            self._set_speeds_mps, self._set_bent_ticks, self._set_lockouts = [], [], []
            self._set_peak_accels_mps2 = []
            return True
        return False


def _mean_or_nan(values: FloatArray) -> float:
    """Mean of the values seen (NaN if none)."""
    seen = values[~np.isnan(values)]
    return float(seen.mean()) if seen.size else float("nan")
