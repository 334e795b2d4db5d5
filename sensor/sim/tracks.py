"""Smooth one-dimensional trajectories through keyframes (quintic Hermite, zero acceleration).

Each segment between two knots is the quintic with the knots' values and rates and zero
acceleration at both ends. A knot with rate 0 is a stop (the segment is then a minimum-jerk
move); a knot with a non-zero rate is passed through, and a knot added with ``rate=AUTO`` gets
the rate of a monotone spline (zero at a turning point, so a peak keyframe is the peak). Zero
acceleration at every knot makes the whole track twice continuously differentiable, so an
accelerometer sees no steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensor.samples import FloatArray

#: Rate marker: let the track choose a smooth pass-through rate for this knot.
AUTO = float("nan")


@dataclass
class Track:
    """A scalar quantity over time (an angle in deg or a position in m), built from keyframes."""

    initial: float
    times_s: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Start the track at its initial value at t = 0."""
        if not self.times_s:
            self.times_s.append(0.0)
            self.values.append(self.initial)
            self.rates.append(0.0)

    @property
    def last_s(self) -> float:
        """Time of the last keyframe."""
        return self.times_s[-1]

    @property
    def last_value(self) -> float:
        """Value at the last keyframe (the track holds it afterwards)."""
        return self.values[-1]

    def hold_until(self, t_s: float) -> None:
        """Keep the last value until ``t_s`` (no knot if the track already reaches there)."""
        if t_s > self.times_s[-1] + 1e-9:
            self.times_s.append(t_s)
            self.values.append(self.values[-1])
            self.rates.append(0.0)

    def add(self, t_s: float, value: float, rate: float = 0.0) -> None:
        """Append a keyframe; the quantity moves smoothly from the previous one."""
        if t_s <= self.times_s[-1] + 1e-9:
            raise ValueError(f"keyframe at {t_s:.3f} s is not after {self.times_s[-1]:.3f} s")
        self.times_s.append(t_s)
        self.values.append(value)
        self.rates.append(rate)

    def move(self, t0_s: float, t1_s: float, value: float) -> None:
        """Hold until ``t0_s``, then move with minimum jerk to ``value`` at ``t1_s``."""
        self.hold_until(t0_s)
        self.add(t1_s, value)

    def __call__(self, t_s: FloatArray) -> FloatArray:
        """Evaluate the track at the given times (constant before the first and after the last)."""
        knots_t = np.asarray(self.times_s)
        knots_v = np.asarray(self.values)
        knots_r = _resolve_auto_rates(knots_t, knots_v, np.asarray(self.rates))
        if knots_t.size == 1:
            return np.full(t_s.shape, knots_v[0])
        seg = np.clip(np.searchsorted(knots_t, t_s, side="right") - 1, 0, knots_t.size - 2)
        dt = knots_t[seg + 1] - knots_t[seg]
        s = np.clip((t_s - knots_t[seg]) / dt, 0.0, 1.0)
        s2 = s * s
        s3 = s2 * s
        s4 = s3 * s
        s5 = s4 * s
        h_p1 = 10 * s3 - 15 * s4 + 6 * s5
        h_r0 = s - 6 * s3 + 8 * s4 - 3 * s5
        h_r1 = -4 * s3 + 7 * s4 - 3 * s5
        v0 = knots_v[seg]
        out: FloatArray = (
            v0
            + (knots_v[seg + 1] - v0) * h_p1
            + dt * (knots_r[seg] * h_r0 + knots_r[seg + 1] * h_r1)
        )
        return out


def _resolve_auto_rates(knots_t: FloatArray, knots_v: FloatArray, rates: FloatArray) -> FloatArray:
    """Replace AUTO rates by the harmonic mean of the neighbouring slopes (PCHIP's rule)."""
    auto = np.isnan(rates)
    if not auto.any():
        return rates
    secant = np.diff(knots_v) / np.diff(knots_t)
    left = np.concatenate(([0.0], secant))
    right = np.concatenate((secant, [0.0]))
    same_sign = left * right > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = np.where(same_sign, 2 * left * right / (left + right), 0.0)
    return np.where(auto, harmonic, rates)
