"""A set keeps its rhythm: a beat missing where the link lost data held a rep.

A Bluetooth link can drop for a few seconds. A rep lifted entirely inside such a gap leaves
no bend to count: the angle before the gap and after it is upright. Within a set, though,
reps come at the lifter's own pace; once two of its reps have shown that pace, two counted
reps much further apart, with no data for long enough in between, have a beat missing, and
it was a rep. It is counted, with no peak (nothing of it was measured). Nothing is inferred
from one rep's own duration (dead-stop sets reset for seconds between reps) nor at the edges
of a set, where a gap may as well hide the bar being put down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.history import TickHistory


@dataclass(frozen=True, slots=True)
class RhythmSettings:
    """When a gap between two reps of a set counts as a rep it hid."""

    #: The shortest gap that can hide a whole rep, in s (a quick pull and its lowering).
    min_hidden_rep_s: float = 1.0
    #: Two reps this many times further apart than the set's pace have a beat missing.
    missing_beat_ratio: float = 1.6


@dataclass(frozen=True, slots=True)
class Beat:
    """A rep's ticks as the rhythm sees them."""

    start: int
    lockout: int
    end: int


class SetRhythm:
    """Follows the lockouts of the current set and finds the reps gaps hid between them."""

    def __init__(
        self, settings: RhythmSettings, history: TickHistory, role: str, rate_hz: float
    ) -> None:
        """Read missing data of the ``role`` sensor in ``history`` (ticks at ``rate_hz``)."""
        self._history = history
        self._role = role
        self._min_gap_ticks = max(round(settings.min_hidden_rep_s * rate_hz), 1)
        self._ratio = settings.missing_beat_ratio
        self._last: Beat | None = None
        self._intervals: list[float] = []

    def clear(self) -> None:
        """A new set begins: its pace is not known yet."""
        self._last, self._intervals = None, []

    def hidden_before(self, beat: Beat) -> Beat | None:
        """Record the set's next rep; the rep a gap hid just before it, if any."""
        last, self._last = self._last, beat
        if last is None:
            return None
        interval = beat.lockout - last.lockout
        pace = float(np.median(self._intervals)) if self._intervals else float("inf")
        gap = (
            self._longest_gap(last.lockout, beat.start) if interval >= self._ratio * pace else None
        )
        if gap is None:
            self._intervals.append(interval)
            return None
        self._intervals += [interval / 2] * 2
        first, last_tick = gap
        return Beat(first, (first + last_tick) // 2, last_tick)

    def _longest_gap(self, after: int, before: int) -> tuple[int, int] | None:
        """First and last tick of the longest run without data between two ticks, if it
        is long enough to hide a rep."""
        missing = np.isnan(self._history.up(self._role, after + 1, before - 1)[:, 0])
        if missing.size == 0:
            return None
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        if starts.size == 0:
            return None
        longest = int(np.argmax(stops - starts))
        if stops[longest] - starts[longest] < self._min_gap_ticks:
            return None
        return after + 1 + int(starts[longest]), after + int(stops[longest])
