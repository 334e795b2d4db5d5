"""The filter stage: SciPy Butterworth filters run as streams, their state carried between blocks.

Every filter here is causal and keeps its ``sosfilt`` state from one block to the next, so a
signal filtered in 0.1 s notifications (live) and in 10 s blocks (``analyze``) comes out the
same to the last bit of rounding. Designs are made once per (design, sample rate) and cached;
they are valid for any rate from 20 to 400 Hz whose Nyquist frequency lies above the cutoff.

A live block is a handful of ticks, on which ``scipy.signal.sosfilt`` spends ten times longer
checking and reshaping its arguments than filtering: short blocks run the same recurrence, in
the same order of operations, in plain Python, which gives the same numbers to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import signal

from sensor.samples import FloatArray

Band = Literal["lowpass", "highpass", "bandpass"]

#: Blocks of up to this many samples are filtered in plain Python (see the module notes);
#: longer ones, as offline analysis feeds, by scipy's compiled loop.
SHORT_BLOCK = 64
_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class FilterDesign:
    """A Butterworth filter: its band, cutoff frequencies in Hz and order."""

    band: Band
    cutoff_hz: tuple[float, ...]
    order: int = 2

    def sos(self, rate_hz: float) -> FloatArray:
        """Second-order sections of this design at ``rate_hz`` samples per second."""
        return _sos(self, float(rate_hz))

    def group_delay_ms(self, rate_hz: float, at_hz: float) -> float:
        """Group delay at frequency ``at_hz`` (Hz), in ms: how late the filter's output is."""
        b, a = signal.sos2tf(self.sos(rate_hz))
        _, delay_samples = signal.group_delay((b, a), w=[at_hz], fs=rate_hz)
        return float(delay_samples[0]) * 1000.0 / rate_hz

    def rise_time_s(self, rate_hz: float, fraction: float) -> float:
        """How long the output takes to first reach ``fraction`` of a step in its input, in s
        (a lowpass; 0 for a fraction it never reaches within a second)."""
        step = signal.sosfilt(self.sos(rate_hz), np.ones(round(rate_hz)))
        reached = np.flatnonzero(step >= fraction)
        return float(reached[0] + 1) / rate_hz if reached.size else 0.0


@lru_cache(maxsize=64)
def _sos(design: FilterDesign, rate_hz: float) -> FloatArray:
    """Design ``design`` for ``rate_hz`` once; every stream of that rate shares the sections."""
    nyquist_hz = rate_hz / 2.0
    if max(design.cutoff_hz) >= nyquist_hz:
        raise ValueError(
            f"cutoff {design.cutoff_hz} Hz needs a rate above {2 * max(design.cutoff_hz)} Hz"
        )
    cutoff = design.cutoff_hz[0] if len(design.cutoff_hz) == 1 else list(design.cutoff_hz)
    sos = signal.butter(design.order, cutoff, btype=design.band, fs=rate_hz, output="sos")
    return np.asarray(sos, dtype=np.float64)


class StreamFilter:
    """One signal filtered causally, block by block, with the filter state carried over.

    Missing samples (NaN, a lost packet or a sensor gap) hold the last value: a gap is not a
    movement. The filter starts in the steady state of the first value it sees, so a signal
    that begins at 40 deg does not ring up from zero.
    """

    def __init__(self, design: FilterDesign, rate_hz: float) -> None:
        """Prepare the sections for ``rate_hz``; the state is set by the first value seen."""
        self._sos = design.sos(rate_hz)
        self._sections = _sections(self._sos)
        self._zi = signal.sosfilt_zi(self._sos)
        self._state: FloatArray | None = None
        self._last = float("nan")

    def apply(self, values: FloatArray) -> FloatArray:
        """The filtered values of the next block (NaN until the first value is seen)."""
        if values.size <= SHORT_BLOCK:
            return self._apply_short(values)
        held = forward_filled(values, self._last)
        out = np.full(held.shape, np.nan)
        seen = np.flatnonzero(~np.isnan(held))
        if seen.size == 0:
            return out
        first = int(seen[0])
        if self._state is None:
            self._state = self._zi * held[first]
        out[first:], self._state = signal.sosfilt(self._sos, held[first:], zi=self._state)
        self._last = float(held[-1])
        return out

    def _apply_short(self, values: FloatArray) -> FloatArray:
        """:meth:`apply` on a short block: the same steps, one plain float at a time."""
        last = self._last
        state = None if self._state is None else self._state.tolist()
        out = []
        for x in values.tolist():
            if x != x:  # NaN: hold the last value
                x = last
            last = x
            if x != x:  # nothing seen yet
                out.append(_NAN)
                continue
            if state is None:
                state = (self._zi * x).tolist()
            out.append(_filter_sample(self._sections, state, x))
        if state is not None:
            self._state = np.array(state)
            self._last = last
        return np.array(out, dtype=np.float64)


def _sections(sos: FloatArray) -> list[tuple[float, float, float, float, float]]:
    """Each section's ``b0, b1, b2, a1, a2`` as plain floats (``a0`` is 1 in every design)."""
    return [(b0, b1, b2, a1, a2) for b0, b1, b2, _, a1, a2 in sos.tolist()]


def _filter_sample(
    sections: list[tuple[float, float, float, float, float]], state: list[list[float]], x: float
) -> float:
    """One sample through the cascade of sections (transposed direct form II), updating each
    section's two state values in place: scipy's ``sosfilt`` loop, operation for operation."""
    for (b0, b1, b2, a1, a2), z in zip(sections, state, strict=True):
        y = b0 * x + z[0]
        z[0] = b1 * x - a1 * y + z[1]
        z[1] = b2 * x - a2 * y
        x = y
    return x


def forward_filled(values: FloatArray, before: float) -> FloatArray:
    """Each value, or where it is NaN the last one before it (``before`` at the start)."""
    seen = ~np.isnan(values)
    last = np.maximum.accumulate(np.where(seen, np.arange(values.size), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], before)
