"""What a return of the hinge angle measured: its moments, climbs, set-up time and hold.

:class:`~processing.detect.reps.RepCounter` judges these measures by its principles; the
measures themselves, and the height and walking tests they use, live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from processing.detect.excursions import Return, Turn
from processing.detect.filters import FilterDesign
from processing.detect.history import TickHistory
from processing.detect.motion import Feature, at_rest, net_rise_m, peak_climb_mps
from sensor.samples import FloatArray

#: The concentric starts when the hinge last leaves the bottom, by this fraction of the bend,
#: before the lockout: a lifter who shifts the hips up and down at the bar, gripping, has not
#: begun the pull yet.
LEFT_BOTTOM_FRACTION = 0.05
#: A movement has arrived at an end of the bend within this fraction of it: an eccentric at
#: the bottom (the hinge still creeps while the lifter resets the grip, which is no longer
#: the rep), a pull near its top (one that stalls for a second lower down, at the knees, has
#: not locked out).
ARRIVED_FRACTION = 0.15
#: The climb is integrated from this long before the start to this long after the lockout,
#: in s, where the body is about to move or has just stopped.
CLIMB_MARGIN_S = 0.3
#: Rest is looked for this far before a bend and after a lockout, in s; a height change
#: measured over more than this drifts too far to judge.
REST_REACH_S = 3.0


@dataclass(frozen=True, slots=True)
class Rise:
    """A judged return: the moments measured in it and how long it held at the top."""

    bend: Return
    start: int
    #: The pull began no later than this tick: ``start``, or the first tick of a link gap
    #: that ends right before it (the hinge left the bottom somewhere in the gap).
    began: int
    lockout: int
    #: The lockout was reached no later than this tick: ``lockout``, or the middle of a link
    #: gap that ended while the hinge filter was still rising towards it (the lifter
    #: stood up somewhere in the gap; its middle is the estimate least far off).
    reached: int
    #: Peak climb speed of the motion sensor from the start to the lockout, in m/s...
    climb_mps: float
    #: ...and through the bend before it: a pull read upside down climbs in its "bend".
    bend_climb_mps: float
    #: Whether the link brought data for all of the climb: where it did not, ``climb_mps``
    #: is only what was seen of it.
    climb_seen: bool
    #: The tick the bend passed halfway down: the lifter is down, setting up, from then...
    down_tick: int
    #: ...and stayed past that halfway, without a break, for this many seconds before the
    #: rise began (a sit-down leans through it and sits up straight, then leans again to
    #: stand up)...
    dwell_s: float
    #: ...and until the rise came back up past half the bend.
    down_s: float
    #: True when no bend followed within the longest lockout hold: the set's last rise.
    final: bool
    #: How long the trunk has stayed near the top after the lockout before bending again,
    #: in ticks (so far, when no bend followed).
    held_ticks: int


class LockoutSettings(Protocol):
    """What a rise meter needs of the rep settings (``RepSettings`` has them)."""

    @property
    def lockout_fraction(self) -> float:
        """After the lockout the trunk rises by less than this fraction of the bend..."""

    @property
    def lockout_settle_s(self) -> float:
        """...over this long, in s."""

    @property
    def max_lockout_hold_s(self) -> float:
        """A rise held near its top longer than this, in s, is its set's last."""


class RiseMeter:
    """Measures returns of the hinge angle stored in a tick history."""

    def __init__(
        self,
        history: TickHistory,
        role: str,
        rate_hz: float,
        settings: LockoutSettings,
        hinge_filter: FilterDesign,
    ) -> None:
        """Read the ``role`` sensor's motion in ``history`` (ticks at ``rate_hz``), with the
        lockout where the trunk stops rising. ``hinge_filter`` is how the hinge angle was
        smoothed: after a link gap it takes that filter's rise time to reach the lockout."""
        self._history = history
        self._role = role
        self._rate_hz = rate_hz
        self._lockout_fraction = settings.lockout_fraction
        self._settle_ticks = round(settings.lockout_settle_s * rate_hz)
        self._hold_ticks = round(settings.max_lockout_hold_s * rate_hz)
        rise_s = hinge_filter.rise_time_s(rate_hz, 1.0 - settings.lockout_fraction)
        self._filter_rise_ticks = round(rise_s * rate_hz)  # a whole number of ticks

    def measure(self, bend: Return) -> Rise:
        """Start, lockout, climb speeds, set-up time and hold of a return."""
        bottom, top = bend.bottom, bend.top
        hinge = self._history.hinge_deg(bottom.tick, top.tick)
        swing = bottom.deg - top.deg
        locked = np.flatnonzero(self._stopped(hinge, top.deg, swing))
        lockout = bottom.tick + (int(locked[0]) if locked.size else top.tick - bottom.tick)
        at_bottom = hinge[: lockout - bottom.tick] >= bottom.deg - LEFT_BOTTOM_FRACTION * swing
        stayed = np.flatnonzero(at_bottom)
        start = bottom.tick + (int(stayed[-1]) if stayed.size else 0)
        descent = self._history.hinge_deg(bend.before.tick, bottom.tick)
        halfway_down_deg = (bend.before.deg + bottom.deg) / 2
        down_tick = bend.before.tick + first_at_or_above(descent, halfway_down_deg)
        # How long the hinge stayed past halfway between the bottom and the more upright end
        # of the excursion: a recording that starts bent over the bar starts at the bottom.
        halfway_deg = (bottom.deg + min(bend.before.deg, top.deg)) / 2
        above = np.flatnonzero(hinge[: lockout - bottom.tick + 1] >= halfway_deg)
        halfway_up = bottom.tick + (int(above[-1]) if above.size else 0)
        down_ticks = halfway_up - bend.before.tick - first_at_or_above(descent, halfway_deg)
        climb_mps2 = self._vertical_mps2(start, lockout)
        hold_end = self._history.newest
        if bend.bent_again is not None:
            hold_end = self._hold_end(top, swing, bend.bent_again)
        final = bend.bent_again is None or hold_end - lockout > self._hold_ticks
        return Rise(
            bend,
            start,
            self._gap_before(bottom.tick, start),
            lockout,
            self._reached_in_gap(bottom.tick, lockout),
            peak_climb_mps(climb_mps2, self._rate_hz),
            peak_climb_mps(self._vertical_mps2(bend.before.tick, bottom.tick), self._rate_hz),
            not np.isnan(climb_mps2).any(),
            down_tick,
            self._ticks_past(down_tick, start, halfway_down_deg) / self._rate_hz,
            down_ticks / self._rate_hz,
            final,
            hold_end - lockout,
        )

    def _stopped(self, hinge: FloatArray, top_deg: float, swing_deg: float) -> NDArray[np.bool_]:
        """Per tick of a return, whether the pull had stopped: near the top, and the trunk
        rose by less than the lockout fraction of the bend over the settle time after. Not
        judged from the return's top alone: after a dropped bar the trunk drifts back for
        seconds, and the top came that much later than the lockout."""
        padded = np.concatenate((hinge, np.full(self._settle_ticks, np.inf)))
        ahead = sliding_window_view(padded, self._settle_ticks + 1)
        with np.errstate(invalid="ignore"):  # ticks the link brought no data for are NaN
            settled = hinge <= np.fmin.reduce(ahead, axis=1) + self._lockout_fraction * swing_deg
            stopped: NDArray[np.bool_] = settled & (hinge <= top_deg + ARRIVED_FRACTION * swing_deg)
        return stopped

    def _ticks_past(self, first: int, end: int, level_deg: float) -> int:
        """How many ticks before ``end`` (back to ``first`` at most) the hinge stayed,
        without a break, not below ``level_deg`` (a tick the link brought no data for
        counts as not below)."""
        hinge = self._history.hinge_deg(first, end - 1)
        with np.errstate(invalid="ignore"):
            below = np.flatnonzero(hinge < level_deg)
        return hinge.size - (int(below[-1]) + 1 if below.size else 0)

    def _reached_in_gap(self, first: int, lockout: int) -> int:
        """``lockout``, or the middle of a link gap (not before ``first``) that ended within
        the hinge filter's rise time before it."""
        vertical = self._history.features(self._role, first, lockout)[:, Feature.VERTICAL_MPS2]
        unseen = np.flatnonzero(np.isnan(vertical))
        if unseen.size == 0 or lockout - (first + int(unseen[-1])) > self._filter_rise_ticks:
            return lockout
        gap_end = first + int(unseen[-1]) + 1  # the first tick seen after the gap
        return (self._gap_before(first, gap_end) + gap_end - 1) // 2

    def _gap_before(self, first: int, tick: int) -> int:
        """``tick``, or the first tick (not before ``first``) of a link gap that ends right
        before it."""
        vertical = self._history.features(self._role, first, tick - 1)[:, Feature.VERTICAL_MPS2]
        seen = np.flatnonzero(~np.isnan(vertical))
        if vertical.size == 0 or (seen.size and seen[-1] == vertical.size - 1):
            return tick
        return first + (int(seen[-1]) + 1 if seen.size else 0)

    def _vertical_mps2(self, first: int, last: int) -> FloatArray:
        """Vertical acceleration of the motion sensor from ``first`` to ``last``, with
        ``CLIMB_MARGIN_S`` either side (NaN where the link brought no data), in m/s^2."""
        margin = round(CLIMB_MARGIN_S * self._rate_hz)
        vertical = self._history.features(self._role, first - margin, last + margin)
        return vertical[:, Feature.VERTICAL_MPS2]

    def _hold_end(self, top: Turn, swing_deg: float, bent_again: int) -> int:
        """The last tick of the lockout hold: the trunk stayed near the top until then."""
        hinge = self._history.hinge_deg(top.tick, bent_again)
        near = np.flatnonzero(hinge <= top.deg + self._lockout_fraction * swing_deg)
        return top.tick + (int(near[-1]) if near.size else 0)


def rest_to_rest_rise_m(
    history: TickHistory, role: str, rate_hz: float, rise: Rise
) -> float | None:
    """Height the ``role`` sensor gained from rest before the bend to rest after the
    lockout (None when it was not at rest on both sides, or a link gap lies between).

    Rest before counts only where the bend had not yet arrived at the bottom (within
    ``ARRIVED_FRACTION`` of the swing): a recording that starts bent over the bar shows no
    rest at the height the lifter left.
    """
    reach = round(REST_REACH_S * rate_hz)
    down = rise.down_tick
    before = history.features(role, down - reach, down)
    after = history.features(role, rise.lockout, rise.lockout + reach)
    with np.errstate(invalid="ignore"):
        left = history.hinge_deg(down - reach, down) < arrived_deg(rise.bend.bottom, rise.bend.top)
    rest_before = np.flatnonzero(at_rest(before) & left)
    rest_after = np.flatnonzero(at_rest(after))
    if rest_before.size == 0 or rest_after.size == 0:
        return None
    first = down - reach + int(rest_before[-1])
    last = rise.lockout + int(rest_after[0])
    if last - first > reach:
        return None  # the double integral drifts too far over longer movements
    vertical = history.features(role, first, last)[:, Feature.VERTICAL_MPS2]
    if np.isnan(vertical).any():
        return None  # the link brought no data for part of it: the height change is unknown
    return net_rise_m(vertical, rate_hz)


class WalkWindow(NamedTuple):
    """How footfalls are judged around a rise: over this many ticks..."""

    ticks: int
    #: ...and after the lockout also this much later: the footfall level's own delay.
    lag_ticks: int


def walked_off(
    history: TickHistory, rise: Rise, window: WalkWindow, level_mps2: float, in_set: bool
) -> bool:
    """Whether the lifter walked about while "set up" (``window.ticks`` or more of footfalls
    above ``level_mps2`` while down, before a set's first pull: ``in_set``, the pulls before
    have shown the bar held, and the shaking between reps is the bar's) or walked off after
    a set's last lockout or through a hold at the top: nobody walks holding a loaded bar.

    Shorter times are not judged: the bar touching the floor between reps shakes the sensor
    as a footfall does, but once. After the lockout the window is read as the level reads
    it, and again its own delay later, where steps that began right at the lockout have
    fully shown (a plate picked up and carried off at once). Before a next bend only that
    later window is read, and only over a hold at least as long (a plate walked to the bar
    and loaded): the earlier window holds the rise's shaking, and after a shorter hold the
    later one holds the next rep's bend.
    """
    set_up = not in_set and rise.start - rise.down_tick >= window.ticks
    if set_up and walking(history, rise.down_tick, rise.start, level_mps2):
        return True
    if rise.final:
        after: tuple[int, ...] = (rise.lockout, rise.lockout + window.lag_ticks)
    elif rise.held_ticks >= window.ticks:  # only the hold at the top, not the bend after it
        after = (rise.lockout + window.lag_ticks,)
    else:
        return False
    return any(walking(history, first, first + window.ticks, level_mps2) for first in after)


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
    depth = bottom if bottom.deg <= own_bottom.deg else own_bottom
    hinge = history.hinge_deg(top.tick, bottom.tick)
    near = np.flatnonzero(hinge >= arrived_deg(depth, top))
    return top.tick + (int(near[0]) if near.size else bottom.tick - top.tick)


def arrived_deg(bottom: Turn, top: Turn) -> float:
    """The hinge angle past which a movement between ``top`` and ``bottom`` has arrived at
    the bottom (within ``ARRIVED_FRACTION`` of the bend)."""
    return bottom.deg - ARRIVED_FRACTION * (bottom.deg - top.deg)


def first_at_or_above(hinge_deg: FloatArray, level_deg: float) -> int:
    """Offset of the first tick at or above ``level_deg`` (the last tick when none is)."""
    past = np.flatnonzero(hinge_deg >= level_deg)
    return int(past[0]) if past.size else hinge_deg.size - 1
