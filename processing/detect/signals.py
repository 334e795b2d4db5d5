"""Conditioned per-tick signals of the motion sensor that rep counting reads.

Each runs through a :mod:`processing.detect.filters` stream on the tick grid; none of them is on
the alert path (see :mod:`processing.detect.alerts`), so their delays cost counting, not
feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processing.detect.filters import FilterDesign, StreamFilter
from processing.detect.strap import FaceSide, face_tilt_deg
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """Filters of the counting signals; frequencies in Hz."""

    #: The hinge angle reps are counted on: a hinge rep lasts 1-5 s, so above 2 Hz is sway,
    #: breathing and sensor noise (group delay 119 ms at 0.5 Hz at a 50 Hz tick rate).
    hinge: FilterDesign = field(default_factory=lambda: FilterDesign("lowpass", (2.0,)))
    #: Footfalls: walking shakes the sensor up and down at the step rate, 0.9-3.5 Hz (slow
    #: stair climbing steps at about 1 Hz).
    footfall_band: FilterDesign = field(
        default_factory=lambda: FilterDesign("bandpass", (0.9, 3.5))
    )
    #: ...whose power is averaged below this rate into a walking level; the face tilt is
    #: smoothed by the same filter to see whether the trunk is steady.
    footfall_envelope: FilterDesign = field(default_factory=lambda: FilterDesign("lowpass", (0.5,)))
    #: Walking keeps the trunk's inclination steady: while the smoothed face tilt turns
    #: faster than this, in deg/s, the shaking is a rep's (a deep, quick pull shakes the
    #: sensor in the footfall band as hard as steps do), and the walking level reads zero.
    walking_max_turn_dps: float = 40.0
    #: Walking is a rhythm: footfalls decide the walking posture (which side is forward,
    #: how the pelvis is carried) once they have lasted this long, in s.
    walking_min_s: float = 2.0


@dataclass(frozen=True, slots=True)
class CountingSignals:
    """A block of ticks: hinge angle (deg, forward positive), the forward sign it was
    taken with (+1 or -1; a change means earlier ticks were read the wrong way round), the
    footfall level (RMS m/s^2), with a sacrum sensor the pelvis tilt from how it is carried
    while walking (deg, forward positive; NaN before any walking or without one), and
    whether the lifter has walked yet."""

    hinge_deg: FloatArray
    forward_sign: FloatArray
    footfall_mps2: FloatArray
    pelvis_deg: FloatArray
    #: Per tick: whether the lifter has walked, so that the walking posture decides forward...
    walked: np.ndarray
    #: ...and whether the lifter is walking (a run of footfalls long enough to be walking).
    walking: np.ndarray


class SignalConditioner:
    """Turns the motion sensor's up vectors and vertical acceleration into counting signals."""

    def __init__(
        self, settings: SignalSettings, rate_hz: float, walking_mps2: float, rep_swing_deg: float
    ) -> None:
        """One filter stream per signal, designed for the tick rate; footfalls above
        ``walking_mps2`` while the trunk swings less than ``rep_swing_deg`` are walking."""
        self._max_turn_deg = settings.walking_max_turn_dps / rate_hz
        self._steady_tilt = StreamFilter(settings.footfall_envelope, rate_hz)
        self._last_steady_deg = float("nan")
        min_walk_ticks = round(settings.walking_min_s * rate_hz)
        self._face = FaceSide(walking_mps2, min_walk_ticks, rep_swing_deg)
        self._pelvis_face = FaceSide(walking_mps2, min_walk_ticks, rep_swing_deg)
        self._hinge = StreamFilter(settings.hinge, rate_hz)
        self._pelvis = StreamFilter(settings.hinge, rate_hz)
        self._band = StreamFilter(settings.footfall_band, rate_hz)
        self._envelope = StreamFilter(settings.footfall_envelope, rate_hz)

    def update(
        self, up: FloatArray, vertical_mps2: FloatArray, pelvis_up: FloatArray | None
    ) -> CountingSignals:
        """Counting signals for a block of ticks (NaN rows: the sensor was not seen); the
        sacrum sensor's up vectors (``pelvis_up``) when there is one."""
        tilt_deg = self._hinge.apply(face_tilt_deg(up[:, 2]))
        power = np.square(self._band.apply(vertical_mps2))
        footfall = np.sqrt(np.maximum(self._envelope.apply(power), 0.0))
        footfall = np.where(self._turning(tilt_deg), 0.0, footfall)
        forward_sign, walking_deg, walking = self._face.signs(tilt_deg, footfall)
        pelvis_deg = np.full(tilt_deg.shape, np.nan)
        if pelvis_up is not None:
            pelvis_tilt_deg = self._pelvis.apply(face_tilt_deg(pelvis_up[:, 2]))
            sign, pelvis_walking_deg, _ = self._pelvis_face.signs(pelvis_tilt_deg, footfall)
            pelvis_deg = sign * (pelvis_tilt_deg - pelvis_walking_deg)
        walked = ~np.isnan(walking_deg)
        return CountingSignals(
            tilt_deg * forward_sign, forward_sign, footfall, pelvis_deg, walked, walking
        )

    def _turning(self, tilt_deg: FloatArray) -> np.ndarray:
        """Per tick: whether the smoothed face tilt turns faster than walking allows."""
        steady_deg = self._steady_tilt.apply(tilt_deg)
        # What np.diff(prepend=) computes, without its argument handling (a live block is a
        # few ticks).
        before_deg = np.concatenate(([self._last_steady_deg], steady_deg[:-1]))
        step_deg = np.abs(steady_deg - before_deg[: steady_deg.size])
        if steady_deg.size:
            self._last_steady_deg = float(steady_deg[-1])
        with np.errstate(invalid="ignore"):
            return np.asarray(step_deg > self._max_turn_deg)
