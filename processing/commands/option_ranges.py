"""The documented range of every number a command takes, as argparse ``type=`` validators.

A value outside its range (or not a finite number) is refused by argparse: one line on stderr
and exit status 2, before anything runs. The ranges are listed in the README ("Option
ranges"); keep the two in step.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FloatRange:
    """A finite number from ``low`` to ``high`` (both included), in ``unit``."""

    low: float
    high: float
    unit: str

    def __call__(self, text: str) -> float:
        """The number in ``text``; ``ArgumentTypeError`` saying the range otherwise."""
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, not {text}")
        return value

    def describe(self) -> str:
        """``between 1 and 120 deg``."""
        return f"between {self.low:g} and {self.high:g} {self.unit}"


@dataclass(frozen=True, slots=True)
class IntRange:
    """A whole number from ``low`` to ``high`` (both included)."""

    low: int
    high: int

    def __call__(self, text: str) -> int:
        """The integer in ``text``; ``ArgumentTypeError`` saying the range otherwise."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not self.low <= value <= self.high:
            # "at least 1" reads better than a range whose top nobody reaches.
            raise argparse.ArgumentTypeError(
                f"must be at least {self.low} and at most {self.high}, not {value}"
            )
        return value


#: ``--threshold``: 0 would alert on every rep and above 120 deg nothing a back does can
#: reach it, so neither can be what a lifter means.
THRESHOLD_DEG = FloatRange(1.0, 120.0, "deg")
#: ``--above-reference``: degrees above the lifter's own median peak.
ABOVE_REFERENCE_DEG = FloatRange(0.0, 60.0, "deg")
#: ``--reference-reps``: how many first reps make the reference.
REFERENCE_REP_COUNT = IntRange(1, 50)
#: ``--speed`` of ``replay`` and ``demo``: times real time.
SPEED = FloatRange(0.1, 1000.0, "x real time")
#: ``record --duration``: seconds of recording (one day at most).
DURATION_S = FloatRange(0.1, 86400.0, "s")
#: ``scan --timeout``: seconds of listening.
SCAN_TIMEOUT_S = FloatRange(0.5, 600.0, "s")
#: ``--port`` of ``dashboard`` and ``demo``: a TCP port.
PORT = IntRange(1, 65535)
