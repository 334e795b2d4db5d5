"""Reps from the movement itself: a bend from upright and a loaded return to it.

The counter follows the bends and returns of the filtered hinge angle
(:class:`~processing.detect.excursions.ZigZag`) and judges each return ("rise") by a few
principles that hold for real lifting (docs/measurement.md states them):

1. A rep is a hinge: the trunk bends by at least ``min_swing_deg`` and comes back as far; and
   a lifter's reps are alike, so within a set a share of its largest swing will do.
2. A rep returns to upright: the lockout comes back to where the lifter bent down from, not
   stopping partway (an abandoned set-up), and at the same height (sitting down on a bench
   or standing up from one changes it), and standing: sitting is still with the pelvis tilted
   back, which a sacrum sensor shows. Upright is also where the sensor's face is near
   vertical, as on any standing back: a push-up or a plank never gets there.
3. Nobody walks holding a loaded bar: footfalls right after the lockout, or through a hold at
   the top before the next bend, mean nothing was held.
4. Loaded concentrics are slower than unloaded stand-ups, and a set only slows as it tires:
   a set's last rise that climbs faster than the pull before it, a rise mid-set faster
   than both its pulls and any heavy pull, or a lone rise faster than any heavy single, is
   standing up after the bar was put down; unless the lifter then stood up faster still,
   which shows what this lifter's unloaded rise looks like. But a pull lifts the hips: a
   lone rise whose sensor hardly climbs, seen whole, was a lean on a bench (a climb a link
   gap hid in part shows only a lower bound of the climb), and reps whose rises lift nothing
   while their bends do were read upside down (:mod:`processing.detect.upside_down`). And
   a pull takes seconds: a "rise" that takes longer crept, it was not pulled.
5. A lift begins at the bar: the lifter stays down to grip before a lone pull (a sit-to-stand
   turns round at once), and nobody holds a hinge for long before pulling. A return held
   up too long to be a lockout between reps ends its set, so a set's first rep held so is
   judged alone.
6. A set keeps its rhythm: a beat missing where the link brought no data was a rep the gap
   hid (:mod:`processing.detect.rhythm`).

Nothing here waits for an upright reference, a stance or a still moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from processing.detect.excursions import Excursions, Return
from processing.detect.history import TickHistory
from processing.detect.rhythm import Beat, RhythmSettings, SetRhythm
from processing.detect.rise import (
    Rise,
    RiseMeter,
    WalkWindow,
    arrival,
    rest_to_rest_rise_m,
    walked_off,
)
from processing.detect.signals import SignalSettings
from processing.detect.upside_down import UpsideDownVotes

#: A dropped rep ends this long after its lockout, in s (the bar is let go).
DROPPED_END_S = 0.5


@dataclass(frozen=True, slots=True)
class RepSettings:
    """How reps and sets are recognised; angles are changes of the hinge angle."""

    #: The smallest hinge a rep makes, in degrees: the trunk bends and comes back at least
    #: this far (a press or a row sways it less; the most upright pulls move a lumbar sensor
    #: 20-30 deg).
    min_swing_deg: float = 20.0
    #: Within a set, a rep need swing only this fraction of the set's largest rep so far
    #: (never more than ``min_swing_deg``): a lifter whose trunk moves 20-25 deg does not
    #: reach 20 on every rep, as reps vary by a fifth or more, while a press or a row, which
    #: never made a 20 deg rep, starts no set to lower it.
    set_swing_fraction: float = 0.6
    #: A lockout comes back to upright: it may stop short of the posture the lifter bent
    #: down from by at most this fraction of the bend (an abandoned set-up stops halfway).
    max_short_of_upright: float = 0.3
    #: A lockout is upright: the sensor lies flat on the back, and a standing lifter's back
    #: is within a few tens of degrees of vertical (the strap's angle and the lordosis at that
    #: level; lockouts tilt the face up to 39 deg in the simulated population, 32 in the real
    #: sets). A "lockout" with the face tilted further than this, in degrees, is a body
    #: still horizontal (a push-up, a plank) or bent over (a row).
    max_upright_tilt_deg: float = 55.0
    #: The lockout is where the pull stops: the first moment near the top from which the
    #: trunk rises by less than this fraction of the bend over ``lockout_settle_s``.
    lockout_fraction: float = 0.1
    #: How long after the lockout the trunk rises no further, in s. Not the return's top: a
    #: lifter who drops the bar drifts back for seconds after locking out.
    lockout_settle_s: float = 1.0
    #: Longest stay at the top between two reps, in s: a later bend is a new set-up, and a
    #: return that stays up this long is the set's last.
    max_lockout_hold_s: float = 4.0
    #: Footfall level, in m/s^2 (RMS, 0.9-3.5 Hz), above which the lifter is walking (real
    #: slow walkers' steps read 0.6-0.8 at the waist)...
    walking_mps2: float = 0.6
    #: ...judged over this long after a lockout, or through a hold at the top at least as
    #: long, in s.
    walk_window_s: float = 2.0
    #: A rise whose sensor climbs faster than this, in m/s, is standing up without the bar
    #: (unloaded, 0.7-1.2 m/s; loaded pulls stay below it)...
    unloaded_speed_mps: float = 0.6
    #: ...and a lone rise whose sensor climbs slower than this, in m/s, lifted nothing: a
    #: pull raises the hips, a lean forward and back on a bench turns the trunk about hips
    #: that stay seated (seated leans climb 0.00-0.05 m/s, slow heavy pulls 0.1 and more;
    #: only a climb the link saw whole is judged so).
    min_climb_mps: float = 0.05
    #: ...and so is the last rise of a set if faster than this multiple of the pull before
    #: it (reps only slow down as a set tires), or a rise mid-set, once two pulls show the
    #: set's pace, if faster than both this multiple of the fastest of them and
    #: ``unloaded_speed_mps`` (a real lifter's pulls vary up to 2x within a set, the first,
    #: from a dead stop, often the slowest; a stand-up comes 2-5x faster)...
    unloaded_speed_ratio: float = 1.25
    #: ...unless it climbs slower than this, in m/s: the climb of a slow pull is only known
    #: to about this much, so below it nothing is judged by pace.
    pace_noise_mps: float = 0.3
    #: A set's second rise is standing up too if faster than both this multiple of its first
    #: pull and ``unloaded_speed_mps``: a set speeds up after a pull from a dead stop, but a
    #: rise that much faster is the lifter standing up after a single, bending again soon.
    first_pull_ratio: float = 3.0
    #: Longest concentric, in s: a grinding maximal pull takes about 5; a slower return to
    #: upright is the angle creeping (drift, shifting while seated), not a pull.
    max_concentric_s: float = 8.0
    #: A lone rise is a rep only if the lifter stayed down past half the bend, without a
    #: break, at least this long, in s, gripping the bar (a sit-to-stand turns round at
    #: once, or leans through it to sit and again to stand)...
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
    #: +1 when a bend, as this rep was counted, turned the sensor's up towards its face
    #: (the side may turn later in the session; these ticks were found with this one).
    face_side: float


class RepCounter:
    """Judges every return of the hinge angle; a set's first rep waits for its second, so
    that a lone rise is judged as one."""

    def __init__(
        self,
        settings: RepSettings,
        rate_hz: float,
        history: TickHistory,
        motion_role: str,
        filters: SignalSettings,
    ) -> None:
        """Follow the hinge angle the pipeline stores in ``history``, made by ``filters``."""
        self.settings = settings
        self._rate_hz = rate_hz
        self._history = history
        self._role = motion_role
        self._hold_ticks = round(settings.max_lockout_hold_s * rate_hz)
        self._rest_ticks = round(settings.max_rest_in_set_s * rate_hz)
        lag_s = filters.footfall_envelope.group_delay_ms(rate_hz, 0.0) / 1000.0
        self._walk = WalkWindow(round(settings.walk_window_s * rate_hz), round(lag_s * rate_hz))
        self._excursions = Excursions(settings.min_swing_deg, self._hold_ticks)
        # An accepted rep whose eccentric is under way, with the side it was counted with.
        self._waiting: tuple[Rise, float] | None = None
        self._first: RepTicks | None = None  # a set's first rep, until a second one comes
        self._first_rise: Rise | None = None
        self._pulls_mps: list[float] = []
        self._largest_swing_deg = 0.0  # of the set's reps so far
        self._last_end: int | None = None
        self._rhythm = SetRhythm(settings.rhythm, history, motion_role, rate_hz)
        self._meter = RiseMeter(history, motion_role, rate_hz, settings, filters.hinge)
        self._upside_down = UpsideDownVotes(settings.min_climb_mps, settings.pace_noise_mps)
        self._walked = self._replaying = False
        self._sign = 1.0
        self._now = -1

    def step(
        self, tick: int, hinge_deg: float, forward_sign: float, walked: bool
    ) -> tuple[list[RepTicks], bool]:
        """Follow one tick (``walked``: the walking posture decides ``forward_sign``); the
        reps it settled and whether the set closed."""
        if walked and not self._walked:
            self._history.hinge_sign = 1.0  # the walking posture knows better than votes
        if self._upside_down.came_round(forward_sign, walked):
            self._history.keep_reading_across(tick)
        self._walked, self._now = walked, tick
        reps: list[RepTicks] = []
        self._sign = self._history.hinge_sign * forward_sign
        self._follow(tick, self._history.hinge_sign * hinge_deg, reps)
        return reps, self._set_closed(tick, reps)

    def _follow(self, tick: int, hinge_deg: float, reps: list[RepTicks]) -> None:
        """Follow the hinge angle, read the right way round, through one tick."""
        bottom, ready = self._excursions.step(tick, hinge_deg, self._sign)
        if bottom is not None and self._waiting is not None:
            rise, side = self._waiting
            end = arrival(self._history, rise.bend.top, bottom, rise.bend.bottom)
            self._settle(rise, end, reps, side)
            self._waiting = None
        if ready is not None:
            self._judge(ready, reps)

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
            rise, side = self._waiting
            self._settle(rise, self._history.newest, reps, side)
            self._waiting = None
        ready = self._excursions.finish()
        if ready is not None:
            self._judge(ready, reps)
        self._close_lone_first(reps)
        return reps

    def _judge(self, bend: Return, reps: list[RepTicks]) -> None:
        """Decide whether a return was a rep; a rep with a bend after it waits for its end."""
        rise = self._meter.measure(bend)
        if bend.bent_again is None and short_of_upright(bend, self.settings.max_short_of_upright):
            self._excursions.bend_goes_on()
        returned = self._returned_standing(rise)
        # Returned, but faster than the set: stood up.
        if not returned or faster_than_the_set(self.settings, self._pulls_mps, rise):
            self._close_lone_first(reps, stood_up_after=returned)
            return
        votes = not (self._walked or self._replaying)  # one turn per look at the data
        if votes and self._upside_down.upside_down(rise.climb_mps, rise.bend_climb_mps):
            self._turn_round((self._first_rise or rise).bend.before.tick, reps)
            return
        if not face_upright(self._history, rise, self.settings.max_upright_tilt_deg):
            self._close_lone_first(reps)  # after the votes: read upside down, the "lockouts"
            return  # are the bottoms of the bends
        if rise.final:
            end = min(bend.top.tick, rise.lockout + round(DROPPED_END_S * self._rate_hz))
            self._settle(rise, end, reps, self._sign)
            self._close_lone_first(reps)  # the set's last: if also its first, it was alone
        else:
            self._waiting = (rise, self._sign)

    def _settle(self, rise: Rise, end: int, reps: list[RepTicks], face_side: float) -> None:
        """File an accepted rep with its end and the side it was counted with: a set's
        first waits for a second one."""
        bend = rise.bend
        rep = RepTicks(rise.began, rise.reached, end, bend.bottom.tick, bend.top.tick, face_side)
        self._last_end = end
        self._pulls_mps.append(rise.climb_mps)
        self._largest_swing_deg = max(self._largest_swing_deg, bend.bottom.deg - bend.top.deg)
        s = self.settings
        self._excursions.set_swing(
            min(s.min_swing_deg, s.set_swing_fraction * self._largest_swing_deg)
        )
        hidden = self._rhythm.hidden_before(Beat(rise.start, rep.lockout, rep.end))
        if self._first is None and len(self._pulls_mps) == 1:
            self._first, self._first_rise = rep, rise
            return
        if self._first is not None:
            reps.append(self._first)
            self._first = self._first_rise = None
        if hidden is not None:
            start, lockout = hidden.start, hidden.lockout
            reps.append(RepTicks(start, lockout, hidden.end, start, lockout, face_side))
        reps.append(rep)

    def _close_lone_first(self, reps: list[RepTicks], stood_up_after: bool = False) -> None:
        """The set's first rep had no second: keep it only if it was a lift on its own
        (``stood_up_after``: the rise that closed it was a faster stand-up)."""
        rise = self._first_rise
        if self._first is not None and rise is not None:
            if lone_lift(self.settings, rise, stood_up_after):
                reps.append(self._first)
            else:
                self._forget_set()
        self._first = self._first_rise = None

    def _turn_round(self, since: int, reps: list[RepTicks]) -> None:
        """Read the hinge angle the other way round and follow it again from tick
        ``since``, where the reps read upside down and not yet handed out began."""
        self._history.hinge_sign = -self._history.hinge_sign
        self._sign = -self._sign
        self._first = self._first_rise = self._waiting = None
        self._forget_set()
        self._excursions = Excursions(self.settings.min_swing_deg, self._hold_ticks)
        self._replaying = True
        for offset, deg in enumerate(self._history.hinge_deg(since, self._now)):
            self._follow(since + offset, float(deg), reps)
        self._replaying = False

    def _returned_standing(self, rise: Rise) -> bool:
        """Principles 2, 3 and 5 of the module docstring (1 is the zigzag's swing; 4 is
        ``faster_than_the_set``; the lone-rep half of 5 is ``lone_lift``)."""
        s, bend = self.settings, rise.bend
        if short_of_upright(bend, s.max_short_of_upright):
            return False
        concentric_s = (rise.lockout - rise.start) / self._rate_hz
        if (
            concentric_s > s.max_concentric_s
            or rise.down_s > s.max_setup_s
            or walked_off(self._history, rise, self._walk, s.walking_mps2, bool(self._pulls_mps))
        ):
            return False
        net_m = rest_to_rest_rise_m(self._history, self._role, self._rate_hz, rise)
        if net_m is not None and abs(net_m) > s.max_height_change_m:
            return False
        pelvis = self._history.pelvis_deg(bend.top.tick, bend.top.tick)
        return not float(pelvis[0]) < -s.seated_pelvis_deg  # NaN (unknown) compares False

    def _set_closed(self, tick: int, reps: list[RepTicks]) -> bool:
        """True once, when the set has gone ``max_rest_in_set_s`` without a rep."""
        if self._last_end is None or tick - self._last_end < self._rest_ticks:
            return False
        if self._waiting is not None or self._excursions.rising:
            return False  # a rep of this set may still be under way
        self._close_lone_first(reps)
        self._last_end = None
        self._forget_set()
        return True

    def _forget_set(self) -> None:
        """No set under way: forget its pace, its rhythm and how far its reps swung."""
        self._pulls_mps.clear()
        self._rhythm.clear()
        self._largest_swing_deg = 0.0
        self._excursions.set_swing(self.settings.min_swing_deg)


def faster_than_the_set(settings: RepSettings, pulls_mps: list[float], rise: Rise) -> bool:
    """Principle 4 for a rise after a set's pulls (``pulls_mps``, their climbs): the set's
    last rise may not climb faster than the pull before it, the set's most tired (beyond
    the climb's noise); a rise mid-set neither faster than an unloaded stand-up nor than the
    fastest pull so far (by more after the first pull alone, from a dead stop)."""
    s = settings
    if not pulls_mps:
        return False
    if rise.final:
        pace_mps = s.unloaded_speed_ratio * pulls_mps[-1]
        return rise.climb_mps > max(pace_mps, s.pace_noise_mps)
    ratio = s.first_pull_ratio if len(pulls_mps) == 1 else s.unloaded_speed_ratio
    return rise.climb_mps > max(ratio * max(pulls_mps), s.unloaded_speed_mps)


def lone_lift(settings: RepSettings, rise: Rise, stood_up_after: bool) -> bool:
    """Principles 4 and 5 for a rep alone in its set: rising, set up first, and slower than
    standing up: than anyone's, or than the lifter's own stand-up right after it."""
    set_up = not rise.bend.saw_bend or rise.dwell_s >= settings.min_setup_s
    loaded = stood_up_after or rise.climb_mps <= settings.unloaded_speed_mps
    lifted = rise.climb_mps >= settings.min_climb_mps or not rise.climb_seen
    return set_up and loaded and lifted


def face_upright(history: TickHistory, rise: Rise, max_tilt_deg: float) -> bool:
    """Principle 2's upright face: the face tilt at the lockout (the hinge angle's size,
    whichever side is forward) within ``max_tilt_deg`` of vertical (True when unknown)."""
    lockout_deg = float(history.hinge_deg(rise.lockout, rise.lockout)[0])
    return not abs(lockout_deg) > max_tilt_deg  # NaN compares False


def short_of_upright(bend: Return, max_short: float) -> bool:
    """Whether a return stopped short of where its bend began by more than ``max_short`` of
    the bend (principle 2)."""
    bend_deg = bend.bottom.deg - bend.before.deg
    return bend.top.deg - bend.before.deg > max_short * bend_deg
