"""Angles from the upright reference: the alert angle of every tick and each rep's peak."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.filters import FilterDesign
from processing.detect.history import TickHistory
from processing.detect.posture import SensorPosture
from processing.detect.reps import RepTicks
from processing.events import Mode, Rep
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class Angles:
    """Per tick: the angle alerts compare (lumbar flexion or inclination) and the pelvis
    tilt (NaN with one sensor), in degrees."""

    alert_deg: FloatArray
    pelvis_deg: FloatArray


class RepMeasurer:
    """Turns up vectors into the measured angle, with each sensor's current reference."""

    def __init__(
        self,
        history: TickHistory,
        postures: dict[str, SensorPosture],
        mode: Mode,
        rate_hz: float,
        max_missing_in_rep: float,
        counting_filter: FilterDesign | None = None,
    ) -> None:
        """Measure from ``history`` (ticks at ``rate_hz``) with the references in
        ``postures``; a rep missing more than ``max_missing_in_rep`` of its ticks has no peak.

        Reps are found on a signal that ``counting_filter`` delays (by its group delay at low
        frequencies, where a rep's bend lies): a rep's deepest tick comes that late, so its
        peak is looked for from that much earlier.
        """
        self._history = history
        self._postures = postures
        self._mode = mode
        self._rate_hz = rate_hz
        self._max_missing = max_missing_in_rep
        self._lag_ticks = 0
        if counting_filter is not None:
            lag_ms = counting_filter.group_delay_ms(rate_hz, 0.0)
            self._lag_ticks = round(lag_ms * rate_hz / 1000.0)

    def angles(self, up: dict[str, FloatArray]) -> Angles:
        """Alert and pelvis angles of consecutive ticks, from every sensor's up vectors."""
        return self._combined(
            {role: self._postures[role].angle_deg(up[role]) for role in self._postures}
        )

    def _combined(self, per_role: dict[str, FloatArray]) -> Angles:
        """The alert and pelvis angles from each sensor's own angle."""
        if self._mode == "dual":
            lower = per_role["lower"]
            return Angles(per_role["upper"] - lower, lower)
        only = next(iter(per_role.values()))
        return Angles(only, np.full(only.shape, np.nan))

    def measure(
        self, ticks: RepTicks, threshold_deg: float, uprights: dict[str, FloatArray]
    ) -> Rep:
        """Peak angle and time above threshold of a rep, each sensor measured from the
        upright given for this rep (its own lockout, or the stance or standing posture that
        agrees with it)."""
        first = min(ticks.start, ticks.deepest) - self._lag_ticks
        per_role = {}
        for role, posture in self._postures.items():
            frame = posture.measured_from(uprights.get(role, posture.upright))
            if self._mode != "dual":
                # One sensor's peak is how far it tilted from this rep's upright, in any
                # direction: the rep's own bend, not a forward axis read from other reps,
                # says which way it went (read the wrong way round, a 53 deg rep measured
                # 0.5).
                frame.forward = None
            per_role[role] = frame.angle_deg(self._history.up(role, first, ticks.end))
        angle = self._combined(per_role).alert_deg
        missing = np.isnan(angle)
        seen_peak = float(np.nanmax(angle)) if not missing.all() else float("nan")
        # A gap may hide the true peak: then no peak is reported, but an angle seen above
        # the threshold still proves the alert.
        complete = missing.mean() <= self._max_missing
        above_s = float(np.count_nonzero(angle > threshold_deg)) / self._rate_hz
        return Rep(
            start=ticks.start / self._rate_hz,
            lockout=ticks.lockout / self._rate_hz,
            end=ticks.end / self._rate_hz,
            peak_flexion_deg=seen_peak if complete else float("nan"),
            flexion_alert=seen_peak > threshold_deg,
            seconds_above_threshold=above_s,
        )
