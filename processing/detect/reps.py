"""Reps from the movement itself: a bend from upright and a loaded return to it.

The counter follows the bends and returns of the filtered hinge angle
(:class:`~processing.detect.excursions.ZigZag`) and judges each return ("rise") by a few
principles that hold for real lifting (docs/measurement.md states them):

1. A rep is a hinge: the trunk bends by at least ``min_swing_deg`` and comes back as far.
2. A rep returns to upright: the lockout comes back to where the lifter bent down from, not
   stopping partway (an abandoned set-up), and at the same height (sitting down on a bench
   or standing up from one changes it), and standing: sitting is still with the pelvis tilted
   back, which a sacrum sensor shows.
3. Nobody walks holding a loaded bar: footfalls right after the lockout mean nothing was held.
4. Loaded concentrics are slower than unloaded stand-ups, and a set only slows as it tires:
   a set's last rise that climbs faster than its pulls, a rise mid-set faster than both its
   pulls and any heavy pull, or a lone rise faster than any heavy single, is standing up
   after the bar was put down. But a pull lifts the hips: a lone rise
   whose sensor hardly climbs was a lean on a bench. And a pull takes seconds: a "rise"
   that takes longer crept, it was not pulled.
5. A lift begins at the bar: the lifter stays down to grip before a lone pull (a sit-to-stand
   turns round at once), and nobody holds a hinge for long before pulling.
6. A set keeps its rhythm: a beat missing where the link brought no data was a rep the gap
   hid (:mod:`processing.detect.rhythm`).

Nothing here waits for an upright reference, a stance or a still moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processing.detect.excursions import Excursions, Return, Turn
from processing.detect.history import TickHistory
from processing.detect.motion import Feature, at_rest, net_rise_m, peak_climb_mps
from processing.detect.rhythm import Beat, RhythmSettings, SetRhythm
from sensor.samples import FloatArray

#: The concentric starts when the hinge has left the bottom by this fraction of the bend.
LEFT_BOTTOM_FRACTION = 0.05
#: An eccentric has arrived at the bottom within this fraction of the bend (the hinge still
#: creeps while the lifter resets the grip, which is no longer the rep).
ARRIVED_FRACTION = 0.15
#: A dropped rep ends this long after its lockout, in s (the bar is let go).
DROPPED_END_S = 0.5
#: The climb is integrated from this long before the start to this long after the lockout,
#: in s, where the body is about to move or has just stopped.
CLIMB_MARGIN_S = 0.3
#: Rest is looked for this far before a bend and after a lockout, in s; a height change
#: measured over more than this drifts too far to judge.
REST_REACH_S = 3.0


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
    #: ...judged over this long after a lockout, in s.
    walk_window_s: float = 2.0
    #: A rise whose sensor climbs faster than this, in m/s, is standing up without the bar
    #: (unloaded, 0.7-1.2 m/s; loaded pulls stay below it)...
    unloaded_speed_mps: float = 0.6
    #: ...and a lone rise whose sensor climbs slower than this, in m/s, lifted nothing: a
    #: pull raises the hips, a lean forward and back on a bench turns the trunk about hips
    #: that stay seated (seated leans climb 0.00-0.05 m/s, slow heavy pulls 0.1 and more).
    min_climb_mps: float = 0.05
    #: ...and so is the last rise of a set if faster than this multiple of the median of
    #: its pulls (reps only slow down as a set tires), or a rise mid-set, once two pulls
    #: show the set's pace, if faster than both that and ``unloaded_speed_mps`` (a real
    #: lifter's pulls vary up to 2x within a set, a stand-up comes 2-5x faster)...
    unloaded_speed_ratio: float = 1.25
    #: ...unless it climbs slower than this, in m/s: the climb of a slow pull is only known
    #: to about this much, so below it nothing is judged by pace.
    pace_noise_mps: float = 0.3
    #: Longest concentric, in s: a grinding maximal pull takes about 5; a slower return to
    #: upright is the angle creeping (drift, shifting while seated), not a pull.
    max_concentric_s: float = 8.0
    #: A lone rise is a rep only if the lifter stayed down past half the bend at least this
    #: long, in s, gripping the bar (a sit-to-stand turns round at once)...
    min_setup_s: float = 1.5
    #: ...and no rise is if the lifter stayed past half the bend longer than this, in s: a
    #: hinge held that long was a row, a plate or a shoe.
    max_setup_s: float = 15.0
    #: A rep returns the lifter to the height they left: measured from rest before the bend
    #: to rest after the lockout, the sensor may end at most this much higher or lower, in m
    #: (sitting down or standing up from a bench moves it 0.3-0.5 m).
    max_height_change_m: float = 0.2
    #: Sitting is still with the pelvis tilted back: a return that ends with the sacrum
    #: sensor tilted back by more than this from how it is carried while walking, in
    #: degrees, ends seated, not locked out (two sensors, once the lifter has walked).
    seated_pelvis_deg: float = 12.0
    #: A set closes after this long without a rep, in s.
    max_rest_in_set_s: float = 10.0
    #: When a link gap between two reps of a set hid one (:mod:`processing.detect.rhythm`).
    rhythm: RhythmSettings = field(default_factory=RhythmSettings)


@dataclass(frozen=True, slots=True)
class RepTicks:
    """A detected rep as absolute tick numbers."""

    start: int
    lockout: int
    end: int
    #: Deepest bend before the pull, where the back is most flexed.
    deepest: int
    #: Most upright moment after the lockout: the rep's own upright posture.
    upright: int


@dataclass(frozen=True, slots=True)
class _Rise:
    """A judged return: the moments measured in it and how long it held at the top."""

    bend: Return
    start: int
    lockout: int
    climb_mps: float
    #: The tick the bend passed halfway down: the lifter is down, setting up, from then...
    down_tick: int
    #: ...for this many seconds before the rise began...
    dwell_s: float
    #: ...and until the rise came back up past half the bend.
    down_s: float
    #: True when no bend followed within the longest lockout hold: the set's last rise.
    final: bool


class RepCounter:
    """Judges every return of the hinge angle; a set's first rep waits for its second, so
    that a lone rise is judged as one."""

    def __init__(
        self, settings: RepSettings, rate_hz: float, history: TickHistory, motion_role: str
    ) -> None:
        """Follow the hinge angle the pipeline stores in ``history``."""
        self.settings = settings
        self._rate_hz = rate_hz
        self._history = history
        self._role = motion_role
        self._hold_ticks = round(settings.max_lockout_hold_s * rate_hz)
        self._rest_ticks = round(settings.max_rest_in_set_s * rate_hz)
        self._excursions = Excursions(settings.min_swing_deg, self._hold_ticks)
        self._waiting: _Rise | None = None  # an accepted rep whose eccentric is under way
        self._first: RepTicks | None = None  # a set's first rep, until a second one comes
        self._first_rise: _Rise | None = None
        self._pulls_mps: list[float] = []
        self._last_end: int | None = None
        self._rhythm = SetRhythm(settings.rhythm, history, motion_role, rate_hz)

    def step(self, tick: int, hinge_deg: float, forward_sign: float) -> tuple[list[RepTicks], bool]:
        """Follow one tick; the reps it settled and whether the set closed."""
        reps: list[RepTicks] = []
        bottom, ready = self._excursions.step(tick, hinge_deg, forward_sign)
        if bottom is not None and self._waiting is not None:
            rep = self._waiting.bend
            self._settle(self._waiting, arrival(self._history, rep.top, bottom, rep.bottom), reps)
            self._waiting = None
        if ready is not None:
            self._judge(ready, reps)
        return reps, self._set_closed(tick, reps)

    def rep_under_way(self) -> int | None:
        """Reps accepted but not yet handed out, plus one for a rise being followed: the
        place in its set of the rep the lifter is in now; None outside any rep."""
        in_hand = (self._first is not None) + (self._waiting is not None)
        if self._excursions.rising:
            return in_hand + 1
        return in_hand if self._waiting is not None else None

    def finish(self) -> list[RepTicks]:
        """Settle what is pending at the end of the data."""
        reps: list[RepTicks] = []
        if self._waiting is not None:
            self._settle(self._waiting, self._history.newest, reps)
            self._waiting = None
        ready = self._excursions.finish()
        if ready is not None:
            self._judge(ready, reps)
        self._close_lone_first(reps)
        return reps

    def _judge(self, bend: Return, reps: list[RepTicks]) -> None:
        """Decide whether a return was a rep; a rep with a bend after it waits for its end."""
        rise = self._measure(bend)
        if not self._is_rep(rise):
            self._close_lone_first(reps)
            return
        if rise.final:
            end = min(bend.top.tick, rise.lockout + round(DROPPED_END_S * self._rate_hz))
            self._settle(rise, end, reps)
        else:
            self._waiting = rise

    def _settle(self, rise: _Rise, end: int, reps: list[RepTicks]) -> None:
        """File an accepted rep with its end: a set's first waits for a second one."""
        rep = RepTicks(rise.start, rise.lockout, end, rise.bend.bottom.tick, rise.bend.top.tick)
        self._last_end = end
        self._pulls_mps.append(rise.climb_mps)
        hidden = self._rhythm.hidden_before(Beat(rep.start, rep.lockout, rep.end))
        if self._first is None and len(self._pulls_mps) == 1:
            self._first, self._first_rise = rep, rise
            return
        if self._first is not None:
            reps.append(self._first)
            self._first = self._first_rise = None
        if hidden is not None:
            reps.append(
                RepTicks(hidden.start, hidden.lockout, hidden.end, hidden.start, hidden.lockout)
            )
        reps.append(rep)

    def _close_lone_first(self, reps: list[RepTicks]) -> None:
        """The set's first rep had no second: keep it only if it was a lift on its own."""
        rise = self._first_rise
        if self._first is not None and rise is not None:
            if self._lone_lift(rise):
                reps.append(self._first)
            else:
                self._pulls_mps.clear()
                self._rhythm.clear()
        self._first = self._first_rise = None

    def _measure(self, bend: Return) -> _Rise:
        """Start, lockout, climb speed, set-up time and hold of a return."""
        bottom, top = bend.bottom, bend.top
        hinge = self._history.hinge_deg(bottom.tick, top.tick)
        swing = bottom.deg - top.deg
        left = np.flatnonzero(hinge < bottom.deg - LEFT_BOTTOM_FRACTION * swing)
        start = max(bottom.tick + (int(left[0]) - 1 if left.size else 0), bottom.tick)
        locked = np.flatnonzero(hinge <= top.deg + self.settings.lockout_fraction * swing)
        lockout = bottom.tick + (int(locked[0]) if locked.size else top.tick - bottom.tick)
        margin = round(CLIMB_MARGIN_S * self._rate_hz)
        vertical = self._history.features(self._role, start - margin, lockout + margin)
        climb = peak_climb_mps(vertical[:, Feature.VERTICAL_MPS2], self._rate_hz)
        descent = self._history.hinge_deg(bend.before.tick, bottom.tick)
        down_tick = bend.before.tick + first_at_or_above(
            descent, (bend.before.deg + bottom.deg) / 2
        )
        dwell_s = (start - down_tick) / self._rate_hz
        # How long the hinge stayed past halfway between the bottom and the more upright end
        # of the excursion: a recording that starts bent over the bar starts at the bottom.
        halfway_deg = (bottom.deg + min(bend.before.deg, top.deg)) / 2
        above = np.flatnonzero(hinge[: lockout - bottom.tick + 1] >= halfway_deg)
        halfway_up = bottom.tick + (int(above[-1]) if above.size else 0)
        down_s = (halfway_up - bend.before.tick - first_at_or_above(descent, halfway_deg)) / (
            self._rate_hz
        )
        final = bend.bent_again is None
        if bend.bent_again is not None:
            final = self._hold_end(top, swing, bend.bent_again) - lockout > self._hold_ticks
        return _Rise(bend, start, lockout, climb, down_tick, dwell_s, down_s, final)

    def _is_rep(self, rise: _Rise) -> bool:
        """Principles 2 to 5 of the module docstring (1 is the zigzag's swing; the lone-rep
        half of 5 is ``_lone_lift``)."""
        s, bend = self.settings, rise.bend
        bend_deg = bend.bottom.deg - bend.before.deg
        if bend.top.deg - bend.before.deg > s.max_short_of_upright * bend_deg:
            return False
        concentric_s = (rise.lockout - rise.start) / self._rate_hz
        if (
            concentric_s > s.max_concentric_s
            or rise.down_s > s.max_setup_s
            or self._walked_off(rise)
        ):
            return False
        net_m = rest_to_rest_rise_m(self._history, self._role, self._rate_hz, rise)
        if net_m is not None and abs(net_m) > s.max_height_change_m:
            return False
        pelvis = self._history.pelvis_deg(bend.top.tick, bend.top.tick)
        if float(pelvis[0]) < -s.seated_pelvis_deg:  # NaN (unknown) compares False
            return False
        return not self._faster_than_the_set(rise)

    def _faster_than_the_set(self, rise: _Rise) -> bool:
        """Principle 4 for a rise after a set's pulls: the set's last rise may not climb
        faster than its pace (beyond the climb's noise); a rise mid-set, once two pulls
        show the pace, neither faster than it nor than an unloaded stand-up."""
        s = self.settings
        if not self._pulls_mps or (not rise.final and len(self._pulls_mps) < 2):
            return False
        set_pace_mps = s.unloaded_speed_ratio * float(np.median(self._pulls_mps))
        floor_mps = s.pace_noise_mps if rise.final else s.unloaded_speed_mps
        return rise.climb_mps > max(set_pace_mps, floor_mps)

    def _lone_lift(self, rise: _Rise) -> bool:
        """Principles 4 and 5 for a rep alone in its set: slow but rising, set up first."""
        s = self.settings
        set_up = not rise.bend.saw_bend or rise.dwell_s >= s.min_setup_s
        return set_up and s.min_climb_mps <= rise.climb_mps <= s.unloaded_speed_mps

    def _walked_off(self, rise: _Rise) -> bool:
        """Whether the lifter walked about while "set up" (seconds of footfalls while down)
        or walked off after a set's last lockout: nobody walks holding a loaded bar.

        Shorter times are not judged: the bar touching the floor between reps shakes the
        sensor as a footfall does, but once.
        """
        window_ticks = round(self.settings.walk_window_s * self._rate_hz)
        set_up = rise.start - rise.down_tick >= window_ticks
        level_mps2 = self.settings.walking_mps2
        if set_up and walking(self._history, rise.down_tick, rise.start, level_mps2):
            return True
        return rise.final and walking(
            self._history, rise.lockout, rise.lockout + window_ticks, level_mps2
        )

    def _hold_end(self, top: Turn, swing_deg: float, bent_again: int) -> int:
        """The last tick of the lockout hold: the trunk stayed near the top until then."""
        hinge = self._history.hinge_deg(top.tick, bent_again)
        near = np.flatnonzero(hinge <= top.deg + self.settings.lockout_fraction * swing_deg)
        return top.tick + (int(near[-1]) if near.size else 0)

    def _set_closed(self, tick: int, reps: list[RepTicks]) -> bool:
        """True once, when the set has gone ``max_rest_in_set_s`` without a rep."""
        if self._last_end is None or tick - self._last_end < self._rest_ticks:
            return False
        if self._waiting is not None or self._excursions.rising:
            return False  # a rep of this set may still be under way
        self._close_lone_first(reps)
        self._last_end = None
        self._pulls_mps.clear()
        self._rhythm.clear()
        return True


def rest_to_rest_rise_m(
    history: TickHistory, role: str, rate_hz: float, rise: _Rise
) -> float | None:
    """Height the ``role`` sensor gained from rest before the bend to rest after the
    lockout (None when it was not at rest on both sides).

    Rest before counts only where the bend had not yet arrived at the bottom (within
    ``ARRIVED_FRACTION`` of the swing): a recording that starts bent over the bar shows no
    rest at the height the lifter left.
    """
    reach = round(REST_REACH_S * rate_hz)
    down = rise.down_tick
    before = history.features(role, down - reach, down)
    after = history.features(role, rise.lockout, rise.lockout + reach)
    bend = rise.bend
    with np.errstate(invalid="ignore"):
        arrived_deg = bend.bottom.deg - ARRIVED_FRACTION * (bend.bottom.deg - bend.top.deg)
        left = history.hinge_deg(down - reach, down) < arrived_deg
    rest_before = np.flatnonzero(at_rest(before) & left)
    rest_after = np.flatnonzero(at_rest(after))
    if rest_before.size == 0 or rest_after.size == 0:
        return None
    first = down - reach + int(rest_before[-1])
    last = rise.lockout + int(rest_after[0])
    if last - first > reach:
        return None  # the double integral drifts too far over longer movements
    vertical = history.features(role, first, last)[:, Feature.VERTICAL_MPS2]
    return net_rise_m(vertical, rate_hz)


def walking(history: TickHistory, first: int, last: int, level_mps2: float) -> bool:
    """Whether the median footfall level of ticks ``first..last`` is above walking's."""
    footfalls = history.footfall_mps2(first, last)
    if not np.any(~np.isnan(footfalls)):
        return False
    return float(np.nanmedian(footfalls)) > level_mps2


def arrival(history: TickHistory, top: Turn, bottom: Turn, own_bottom: Turn) -> int:
    """When an eccentric from ``top`` reached ``bottom``, or the depth of the rep's own
    ``own_bottom`` if shallower, within ``ARRIVED_FRACTION`` of the bend: the lowering puts
    the bar back where the rep began, and sinking deeper while resetting for the next pull is
    that rep's, not this one's."""
    depth_deg = min(bottom.deg, own_bottom.deg)
    hinge = history.hinge_deg(top.tick, bottom.tick)
    near = np.flatnonzero(hinge >= depth_deg - ARRIVED_FRACTION * (depth_deg - top.deg))
    return top.tick + (int(near[0]) if near.size else bottom.tick - top.tick)


def first_at_or_above(hinge_deg: FloatArray, level_deg: float) -> int:
    """Offset of the first tick at or above ``level_deg`` (the last tick when none is)."""
    past = np.flatnonzero(hinge_deg >= level_deg)
    return int(past[0]) if past.size else hinge_deg.size - 1
