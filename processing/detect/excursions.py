"""Bends and returns of the hinge angle, found from the movement itself.

A zigzag over the filtered hinge angle: an extreme counts once the angle has come back from it
by at least the swing the rep counter asks for (the smallest hinge a rep makes; within a set,
a share of its largest rep). No reference, no absolute threshold and no
stillness are needed, so it works from the first tick of a recording that starts with the
lifter bent over the bar, at any strap angle, on sensors that are never still.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Turn:
    """An extreme of the hinge angle: the bottom of a bend (``bent``) or the top of a return."""

    tick: int
    deg: float
    bent: bool


class ZigZag:
    """Alternating bottoms and tops of the hinge angle that differ by at least ``swing_deg``."""

    def __init__(self, swing_deg: float) -> None:
        """Start before any extreme; the first one may be either kind."""
        self.swing_deg = swing_deg
        self._heading: bool | None = None  # True: going down into a bend (looking for a bottom)
        self._high = Turn(-1, float("-inf"), True)
        self._low = Turn(-1, float("inf"), False)

    @property
    def candidate(self) -> Turn | None:
        """The extreme being followed now, not yet confirmed (None before the first)."""
        if self._heading is None:
            return None
        return self._high if self._heading else self._low

    def step(self, tick: int, deg: float) -> Turn | None:
        """Follow one tick; the extreme it confirms, if any (NaN ticks are skipped)."""
        if deg != deg:
            return None
        if deg > self._high.deg:
            self._high = Turn(tick, deg, True)
        if deg < self._low.deg:
            self._low = Turn(tick, deg, False)
        if self._heading is not False and self._high.deg - deg >= self.swing_deg:
            confirmed, self._heading = self._high, False
            self._low = Turn(tick, deg, False)
            return confirmed
        if self._heading is not True and deg - self._low.deg >= self.swing_deg:
            confirmed, self._heading = self._low, True
            self._high = Turn(tick, deg, True)
            return confirmed
        return None

    def held(self, tick: int, deg: float) -> None:
        """Count the top being followed as confirmed without the swing back (it was held):
        from ``tick`` on, the highest angle is a bottom once the angle falls a swing below
        it, and the lowest is a top once the angle rises a swing above it."""
        self._heading = None
        self._high = Turn(tick, deg, True)


@dataclass(frozen=True, slots=True)
class Return:
    """A bend and the return from it, ready to be judged."""

    #: Where the bend began: the previous top, or where the data began.
    before: Turn
    bottom: Turn
    top: Turn
    #: The tick the next bend was confirmed at; None when the lifter stayed up.
    bent_again: int | None

    @property
    def saw_bend(self) -> bool:
        """Whether the data show the bend down, not only the return (a recording may start
        with the lifter already bent over the bar)."""
        return self.bottom.deg - self.before.deg >= 0.5 * (self.bottom.deg - self.top.deg)


class Excursions:
    """Bends and returns of the hinge angle, each return handed over once to be judged."""

    def __init__(self, swing_deg: float, hold_ticks: int) -> None:
        """Follow bends of at least ``swing_deg``; a return held ``hold_ticks`` is final."""
        self._swing_deg = swing_deg
        self._hold_ticks = hold_ticks
        self._sign = 1.0
        self._restart()

    def set_swing(self, swing_deg: float) -> None:
        """Follow bends of at least ``swing_deg`` from now on."""
        self._swing_deg = self._zigzag.swing_deg = swing_deg

    def _restart(self) -> None:
        """Forget every bend followed so far."""
        self._zigzag = ZigZag(self._swing_deg)
        #: Top, tick and angle of the last return handed over for being held, until the next.
        self._held: tuple[Turn, int, float] | None = None
        self._before: Turn | None = None
        self._bottom: Turn | None = None

    def step(self, tick: int, deg: float, forward_sign: float) -> tuple[Turn | None, Return | None]:
        """Follow one tick: the bottom it confirmed, and a return that is ready, if any.

        When the forward sign changes, what looked like bends were returns: the bends
        followed so far are dropped and followed afresh from this tick.
        """
        if forward_sign != self._sign:
            self._sign = forward_sign
            self._restart()
        if self._before is None and deg == deg:
            self._before = Turn(tick, deg, bent=False)
        turn = self._zigzag.step(tick, deg)
        if turn is not None and turn.bent:
            self._bottom = turn
            return turn, None
        if turn is not None:
            ready = self._return(turn, bent_again=tick)
            self._before = turn
            return None, ready
        top = self._zigzag.candidate
        if self._bottom is not None and top is not None and tick - top.tick >= self._hold_ticks:
            ready = self._return(top, bent_again=None)
            self._held = (top, tick, deg)
            return None, ready
        return None, None

    def bend_goes_on(self) -> None:
        """The return just handed over for being held was no top (it stopped short of
        upright): a bend may start from it, so that the lifter's next move down and the
        full return after it are followed, not taken for the same return going on."""
        if self._held is not None:
            top, tick, deg = self._held
            self._zigzag.held(tick, deg)
            self._before = top

    @property
    def rising(self) -> bool:
        """Whether a return from a bend is under way, not yet handed over."""
        return self._bottom is not None

    def finish(self) -> Return | None:
        """The return under way when the data end, if it came back far enough."""
        top = self._zigzag.candidate
        if top is None or top.bent:
            return None
        return self._return(top, bent_again=None)

    def _return(self, top: Turn, bent_again: int | None) -> Return | None:
        """Hand over the return from the current bottom to ``top`` (once)."""
        self._held = None  # only the return handed over last can have been held
        if self._bottom is None or self._before is None:
            return None
        ready = Return(self._before, self._bottom, top, bent_again)
        self._bottom = None
        return ready
