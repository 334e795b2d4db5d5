"""Bends and returns of the hinge angle, found from the movement itself.

A zigzag over the filtered hinge angle: an extreme counts once the angle has come back from it
by at least the smallest hinge a rep makes. No reference, no absolute threshold and no
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
