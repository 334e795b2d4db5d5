"""The upright reference of each sensor and the forward direction it bends in.

Angles mean nothing without "upright": it comes from the calibration stance (every sensor still
for a few seconds) and, when there is none or it disagrees with how the lifter actually stands,
from the lockout postures, which are upright by definition of the lift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.detect.angles import (
    forward_direction,
    orthonormal_forward,
    sagittal_deg,
    tilt_deg,
    unit,
)
from processing.detect.motion import Feature
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class PostureSettings:
    """How the upright reference and the bending direction are found."""

    #: A calibration stance is every sensor still for at least this long, in s, ...
    stance_s: float = 3.0
    #: ...beginning within this long of the first sample, in s.
    stance_window_s: float = 10.0
    #: Before a stance or lockout is seen, a still period this long, in s, is a provisional
    #: reference, so the detector can work from the first bend.
    provisional_still_s: float = 1.0
    #: A sensor is still when its gyroscope reads below this, in degrees per second.
    still_gyro_dps: float = 8.0
    #: ...and its accelerometer norm is within this of gravity, in m/s^2.
    still_accel_tolerance_mps2: float = 0.6
    #: Tilts beyond this, in degrees, are bends whose direction defines "forward".
    forward_min_tilt_deg: float = 20.0
    #: Lockouts that disagree with the stance by more than this, in degrees, replace it.
    lockout_tolerance_deg: float = 8.0
    #: Lockouts needed before they may overrule a calibration stance.
    lockouts_to_overrule: int = 2

    def still(self, features: FloatArray) -> np.ndarray:
        """Per row of a sensor's feature table: gyroscope quiet and accelerometer reading
        just gravity (False where unseen)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(
                (features[:, Feature.GYRO_DPS] < self.still_gyro_dps)
                & (features[:, Feature.ACCEL_DEVIATION_MPS2] < self.still_accel_tolerance_mps2)
            )


class SensorPosture:
    """Upright reference and forward axis of one sensor, in that sensor's frame."""

    def __init__(self, settings: PostureSettings) -> None:
        """Start with neither reference nor forward axis known."""
        self.settings = settings
        self.upright: FloatArray | None = None
        self.forward: FloatArray | None = None
        self._forward_sum = np.zeros(3)

    def angle_deg(self, up: FloatArray) -> FloatArray:
        """Forward inclination of each up vector; unsigned tilt until "forward" is known."""
        if self.upright is None:
            return np.full(up.shape[0], np.nan)
        if self.forward is None:
            return tilt_deg(up, self.upright)
        return sagittal_deg(up, self.upright, self.forward)

    def set_upright(self, upright: FloatArray) -> None:
        """Adopt a new upright reference and re-project the forward axis onto it."""
        self.upright = unit(upright)
        self._update_forward()

    def learn_forward(self, up: FloatArray) -> None:
        """Accumulate the bend direction from up vectors tilted beyond the threshold."""
        if self.upright is None:
            return
        valid = up[~np.isnan(up[:, 0])]
        bent = valid[tilt_deg(valid, self.upright) > self.settings.forward_min_tilt_deg]
        if bent.size:
            self._forward_sum += forward_direction(bent, self.upright)
            self._update_forward()

    def _update_forward(self) -> None:
        """Recompute the unit forward axis from the accumulated bend directions."""
        if self.upright is not None and np.any(self._forward_sum):
            self.forward = orthonormal_forward(self._forward_sum, self.upright)


class UprightCalibrator:
    """Decides, tick by tick, when the sensors' upright references are (re)defined."""

    def __init__(self, settings: PostureSettings, tick_rate_hz: float) -> None:
        """Start uncalibrated."""
        self.settings = settings
        self.source: str | None = None  # "provisional", "stance" or "lockout"
        self._still_ticks = 0
        self._stance_ticks = round(settings.stance_s * tick_rate_hz)
        self._provisional_ticks = round(settings.provisional_still_s * tick_rate_hz)
        self._lockouts: dict[str, list[FloatArray]] = {}
        self._first_tick: int | None = None
        self._stance_window_ticks = round(settings.stance_window_s * tick_rate_hz)

    def observe_still(
        self, i: int, all_still: bool, before_first_rep: bool, walked: bool
    ) -> str | None:
        """Count still ticks up to tick ``i``; "stance" or "provisional" when one completes.

        A calibration stance opens the session, before any walking: a still standing rest
        later on is only provisional, since resting lifters slouch and lockouts define
        upright better.
        """
        self._first_tick = i if self._first_tick is None else self._first_tick
        self._still_ticks = self._still_ticks + 1 if all_still else 0
        if not before_first_rep or self.source in ("stance", "lockout"):
            return None
        began = i - self._still_ticks + 1 - self._first_tick
        opens_session = began <= self._stance_window_ticks and not walked
        if self._still_ticks == self._stance_ticks and opens_session:
            return "stance"
        if self.source is None and self._still_ticks == self._provisional_ticks:
            return "provisional"
        return None

    @property
    def still_ticks(self) -> int:
        """Consecutive ticks in which every sensor has been still."""
        return self._still_ticks

    def add_lockout(
        self, lockout_up: dict[str, FloatArray], postures: dict[str, SensorPosture]
    ) -> dict[str, FloatArray] | None:
        """Record a lockout posture; returns new upright references when lockouts should rule."""
        for role, up in lockout_up.items():
            self._lockouts.setdefault(role, []).append(unit(up))
        mean = {role: unit(np.mean(ups, axis=0)) for role, ups in self._lockouts.items()}
        if self.source != "stance":
            return mean
        if min(len(v) for v in self._lockouts.values()) < self.settings.lockouts_to_overrule:
            return None
        uprights = {role: postures[role].upright for role in mean}
        disagreement = max(
            float(tilt_deg(mean[role][None, :], upright)[0])
            for role, upright in uprights.items()
            if upright is not None
        )
        return mean if disagreement > self.settings.lockout_tolerance_deg else None


@dataclass(frozen=True, slots=True)
class WalkingSettings:
    """How walking is recognised; its posture is upright enough to vet a calibration stance."""

    #: An accelerometer deviation from gravity above this, in m/s^2, is a footfall.
    footfall_mps2: float = 1.0
    #: At least this many footfall ticks within ``window_s`` mean the lifter is walking.
    min_footfall_ticks: int = 5
    #: Length of the window footfalls are counted in, in s.
    window_s: float = 1.0
    #: A still period further than this from the walking posture, in degrees, is no stance
    #: (the lifter is bent over the bar, gripping it).
    stance_tolerance_deg: float = 20.0
    #: Walking needed before its posture is trusted, in s: picking a plate up off the floor
    #: jolts the sensor like footfalls do, and a second of that is no upright witness.
    min_walking_s: float = 3.0


class WalkingPosture:
    """Running mean of each sensor's up vector while the lifter walks."""

    def __init__(self, settings: WalkingSettings, roles: tuple[str, ...], rate_hz: float) -> None:
        """Start having seen no walking."""
        self.settings = settings
        self._window = max(round(settings.window_s * rate_hz), 1)
        self._min_ticks = round(settings.min_walking_s * rate_hz)
        self._recent_footfalls = np.zeros(self._window - 1)
        self._sum = {role: np.zeros(3) for role in roles}
        self._count = 0
        self._cumulative: dict[str, FloatArray] = {}
        self._cumulative_count = np.zeros(0)

    def update(self, footfall_deviation: FloatArray, up: dict[str, FloatArray]) -> None:
        """Add a block of ticks: the motion sensor's accelerometer deviation and up vectors."""
        footfall = np.nan_to_num(footfall_deviation) > self.settings.footfall_mps2
        padded = np.concatenate([self._recent_footfalls, footfall.astype(float)])
        counts = np.convolve(padded, np.ones(self._window), mode="valid")
        self._recent_footfalls = padded[-(self._window - 1) :] if self._window > 1 else padded[:0]
        walking = counts >= self.settings.min_footfall_ticks
        valid = walking & np.logical_and.reduce([~np.isnan(v[:, 0]) for v in up.values()])
        for role, vectors in up.items():
            added = np.where(valid[:, None], np.nan_to_num(vectors), 0.0)
            self._cumulative[role] = self._sum[role] + np.cumsum(added, axis=0)
            self._sum[role] = self._cumulative[role][-1]
        self._cumulative_count = self._count + np.cumsum(valid)
        self._count = int(self._cumulative_count[-1])

    def walked_before(self, j: int) -> bool:
        """Whether any walking was seen up to tick ``j`` of the last block."""
        return bool(self._cumulative_count[j] > 0)

    def vets(self, j: int, still_up: dict[str, FloatArray], need_walking: bool) -> bool:
        """Whether still postures at tick ``j`` of the last block look as upright as walking.

        Without enough walking seen yet, a still posture passes only if ``need_walking`` is
        False (a calibration stance opening the session needs no witness).
        """
        if self._cumulative_count[j] < self._min_ticks:
            return not need_walking
        for role, vector in still_up.items():
            walking_up = unit(self._cumulative[role][j])
            if tilt_deg(unit(vector)[None, :], walking_up)[0] > self.settings.stance_tolerance_deg:
                return False
        return True
