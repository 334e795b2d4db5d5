"""How the motion sensor climbed: its upward acceleration through a pull, integrated.

The rep detector asks three things of the sensor's vertical acceleration (gravity and the
accelerometer's learnt reading error removed): how far, how fast and from when a rise climbed
(:meth:`ClimbMeter.measure`), whether the sensor was climbing at a pull's pace as a data gap
began (:meth:`ClimbMeter.climbing_at`) and how hard it accelerated just before one
(:meth:`ClimbMeter.peak_accel_before`). The thresholds live in
:class:`processing.detect.rep_settings.RepSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.history import TickHistory
from processing.detect.motion import (
    Feature,
    VerticalCalibration,
    central_climb,
    climb_mark,
    climb_profile,
)
from processing.detect.rep_settings import RepSettings
from sensor.samples import FloatArray

_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Climb:
    """A rise's climb from the sensor's lowest point to rest; NaN where not measurable."""

    #: Tick the bar left the floor (best estimate, also when nothing else was measured).
    start: int
    climb_m: float = _NAN
    peak_speed_mps: float = _NAN
    #: Hardest upward acceleration of the climb, m/s^2.
    peak_accel_mps2: float = _NAN
    #: How long the middle 80% of the climb took, s.
    climb_s: float = _NAN
    #: Share of its bend the trunk still kept early in the climb (dimensionless).
    trunk_kept: float = _NAN

    @property
    def measured(self) -> bool:
        """Whether the sensor's climb could be measured at all (else only ``start`` is)."""
        return self.climb_m == self.climb_m


#: The climb of a rise not yet (or never) measured.
UNMEASURED = Climb(0)


class ClimbMeter:
    """Measures the motion sensor's climbs from the tick history."""

    def __init__(
        self, settings: RepSettings, tick_rate_hz: float, history: TickHistory, motion_role: str
    ) -> None:
        """Measure the sensor of ``motion_role``; its reading error is not yet known."""
        self.settings = settings
        self.rate_hz = tick_rate_hz
        self.history = history
        self.motion_role = motion_role
        self._error = VerticalCalibration()

    def learn_rest(self, i: int, still_ticks: int) -> None:
        """Teach the accelerometer's error model after every second of stillness up to tick
        ``i`` (``still_ticks``: consecutive still ticks, this one included)."""
        window = self._ticks(1.0)
        if still_ticks and still_ticks % window == 0:
            first = i - window + 1
            vertical = self.history.features(self.motion_role, first, i)[:, Feature.VERTICAL_MPS2]
            self._error.add(self.history.up(self.motion_role, first, i), vertical)

    def measure(self, first: int, at_rest: int) -> Climb:
        """The climb from tick ``first`` to ``at_rest``, where the sensor is still again.

        The trunk angle is a poor clock for the start: as the bar breaks the floor the knees
        extend first and the trunk even leans a little further. The sensor's climb is not:
        integrating the vertical acceleration backwards from rest gives its upward speed
        (the trunk is upright a moment before the hips stop, hence rest rather than lockout).
        Never across a gap: after one, only what follows it counts.
        """
        s = self.settings
        vertical = self.vertical_mps2(first, at_rest)
        missing = np.flatnonzero(np.isnan(vertical))
        if missing.size:
            vertical = vertical[int(missing[-1]) + 1 :]
        first = at_rest - vertical.size + 1
        if vertical.size < self._ticks(s.min_measured_pull_s):
            return Climb(first)
        speed_mps, height_m = climb_profile(vertical, self.rate_hz)
        fastest = int(np.argmax(speed_mps))
        # The lowest point before the fastest climb, not the nearest standstill: a grinder
        # nearly stalls at the sticking point, halfway up.
        lowest = int(np.argmin(height_m[: fastest + 1]))
        climb_m = -float(height_m[lowest])
        peak_speed_mps = float(speed_mps[lowest:].max())
        cut_short = missing.size > 0 and lowest == 0
        if cut_short and not lifted(
            climb_m, peak_speed_mps, s.min_lift_rise_m, s.min_pull_speed_mps
        ):
            return Climb(first + lowest)  # a gap hid where the pull began: it proves nothing
        start, climb_s = first + lowest, _NAN
        marks = central_climb(height_m[lowest:])
        if marks is not None:
            ten, ninety = marks
            climb_s = (ninety - ten) / self.rate_hz
            # The lowest point drifts with the integral; the 10% mark does not. The sensor
            # passes it about half its middle-80% time after the bar leaves the floor
            # (simulated fixtures: median start error +0.04 s, 2.5% of reps off by > 0.5 s).
            start += max(ten - (ninety - ten) // 2, 0)
        return Climb(
            start,
            climb_m,
            peak_speed_mps,
            float(vertical[lowest:].max()),
            climb_s,
            self._trunk_kept(first, lowest, height_m),
        )

    def climbing_at(self, last: int) -> bool:
        """Whether the sensor was climbing at a pull's pace at tick ``last``: its vertical
        acceleration integrated forward from its last rest (bent at the bottom between
        reps, or at the last lockout) within a pull's length.

        Rest means no vertical acceleration at all: the first moments of a heavy pull
        accelerate too gently to end the looser stillness the upright reference waits for.
        """
        s = self.settings
        first = max(last - self._ticks(s.max_concentric_s + s.min_rest_s), 0)
        features = self.history.features(self.motion_role, first, last)
        vertical = self.vertical_mps2(first, last)
        seen = np.flatnonzero(~np.isnan(vertical))  # its own gap may have begun a little earlier
        if not seen.size:
            return False
        vertical, features = vertical[: seen[-1] + 1], features[: seen[-1] + 1]
        with np.errstate(invalid="ignore"):
            resting = (features[:, Feature.GYRO_DPS] < s.rest_gyro_dps) & (
                np.abs(vertical) < s.rest_accel_mps2
            )
        rest = last_run_end(resting, self._ticks(s.min_rest_s))
        if rest is None or not 0 < vertical.size - 1 - rest <= self._ticks(s.max_concentric_s):
            return False
        since_rest = vertical[rest + 1 :]
        if np.isnan(since_rest).any():
            return False
        return float(since_rest.sum()) / self.rate_hz > s.min_pull_speed_mps

    def peak_accel_before(self, gap_from: int) -> float:
        """The sensor's hardest upward acceleration in the moments before a gap (NaN: none
        seen)."""
        vertical = self.vertical_mps2(
            gap_from - self._ticks(self.settings.gap_lead_s), gap_from - 1
        )
        return float(np.nanmax(vertical)) if not np.isnan(vertical).all() else _NAN

    def vertical_mps2(self, first: int, last: int) -> FloatArray:
        """Upward acceleration (gravity and the learnt reading error removed) for ticks
        ``first..last``."""
        up = self.history.up(self.motion_role, first, last)
        vertical = self.history.features(self.motion_role, first, last)[:, Feature.VERTICAL_MPS2]
        return np.asarray(vertical - self._error.error_mps2(up), dtype=np.float64)

    def _trunk_kept(self, first: int, lowest: int, height_m: FloatArray) -> float:
        """Share of its bend the trunk still kept as the sensor, climbing from index
        ``lowest`` of a height profile beginning at tick ``first``, passed
        ``knees_first_climb_fraction`` of its climb (NaN: no clear climb or bend)."""
        s = self.settings
        mark = climb_mark(height_m[lowest:], s.knees_first_climb_fraction)
        hinge_deg = self.history.hinge_deg(first, first + height_m.size - 1)
        if mark is None or np.isnan(hinge_deg).any():
            return _NAN
        at = lowest + mark
        deepest_deg, upright_deg = float(hinge_deg[: at + 1].max()), float(hinge_deg[at:].min())
        bend_deg = deepest_deg - upright_deg
        if not bend_deg > s.down_deg - s.up_deg:
            return _NAN
        return (float(hinge_deg[at]) - upright_deg) / bend_deg

    def _ticks(self, seconds: float) -> int:
        """A duration as a whole number of ticks."""
        return round(seconds * self.rate_hz)


def lifted(climb_m: float, peak_speed_mps: float, min_rise_m: float, min_speed_mps: float) -> bool:
    """Whether a climb (NaN: unknown, so yes) is high and fast enough for a pull."""
    return not (climb_m < min_rise_m or peak_speed_mps < min_speed_mps)


def last_run_end(flags: np.ndarray, min_length: int) -> int | None:
    """Index of the last element of the last run of at least ``min_length`` true flags."""
    padded = np.concatenate(([False], flags.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    long_enough = np.flatnonzero(stops - starts >= min_length)
    return int(stops[long_enough[-1]]) - 1 if long_enough.size else None
