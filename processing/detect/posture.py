"""The upright reference of each sensor and the forward direction it bends in.

Angles are measured from the lifter's upright: a calibration stance gives it when there is
one; otherwise where the lifter stands between sets (:mod:`processing.detect.standing`)
where that agrees with the lockouts, which are upright by definition of the lift, and
otherwise the lockouts. None is needed to count reps (see :mod:`processing.detect.reps`):
the reference only sharpens the angles.
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
from processing.detect.motion import at_rest
from processing.detect.standing import StandingPosture
from sensor.samples import FloatArray


@dataclass(frozen=True, slots=True)
class PostureSettings:
    """How the upright reference and the bending direction are found."""

    #: A calibration stance is every sensor still for at least this long, in s, ...
    stance_s: float = 3.0
    #: ...beginning within this long of the first sample, in s, ...
    stance_window_s: float = 10.0
    #: ...with the motion sensor's face tilted less than this, in degrees (a lifter gripping
    #: the bar is still too, but bent over).
    stance_max_tilt_deg: float = 30.0
    #: A sensor is still when its gyroscope reads below this, in degrees per second...
    still_gyro_dps: float = 8.0
    #: ...and its accelerometer norm is within this of gravity, in m/s^2.
    still_accel_tolerance_mps2: float = 0.6
    #: Tilts beyond this, in degrees, are bends whose direction defines "forward".
    forward_min_tilt_deg: float = 20.0
    #: With two sensors, the sacrum's forward side comes from walking beside the L1 sensor
    #: once the lifter has walked this long, in s (:mod:`processing.detect.walking_forward`).
    walking_forward_s: float = 3.0
    #: Lockouts that disagree with the stance by more than this, in degrees, replace it...
    lockout_tolerance_deg: float = 8.0
    #: ...once this many lockouts agree on it.
    lockouts_to_overrule: int = 2
    #: Without a stance, upright is the median posture of this many most recent lockouts
    #: (one odd rep, or a lifter who slowly shifts the strap, cannot pull it far)...
    recent_lockouts: int = 5
    #: ...or, where it agrees with them within ``lockout_tolerance_deg``, where the lifter
    #: stands: of the moments every sensor was still (gyroscope below ``still_gyro_dps``),
    #: the last this many seconds of them are kept, and the median of those within that
    #: tolerance of the upright in force is standing, once ``stance_s`` of them are there.
    standing_keep_s: float = 300.0

    def still(self, features: FloatArray) -> np.ndarray:
        """Per row of a sensor's feature table: gyroscope quiet and accelerometer reading
        just gravity (False where unseen)."""
        return at_rest(features, self.still_gyro_dps, self.still_accel_tolerance_mps2)


class SensorPosture:
    """Upright reference and forward axis of one sensor, in that sensor's frame."""

    def __init__(self, settings: PostureSettings) -> None:
        """Start with neither reference nor forward axis known."""
        self.settings = settings
        self.upright: FloatArray | None = None
        self.forward: FloatArray | None = None
        self._axis_sum = np.zeros(3)  # bend votes, each turned face side up
        self._face_votes = 0.0  # which side of the face the votes bent towards, summed
        self._face_side: float | None = None
        self._walking_forward: FloatArray | None = None

    def angle_deg(self, up: FloatArray) -> FloatArray:
        """Forward inclination of each up vector; unsigned tilt until "forward" is known,
        NaN until "upright" is."""
        if self.upright is None:
            return np.full(up.shape[0], np.nan)
        if self.forward is None:
            return tilt_deg(up, self.upright)
        return sagittal_deg(up, self.upright, self.forward)

    def set_upright(self, upright: FloatArray) -> None:
        """Adopt a new upright reference and re-project the forward axis onto it."""
        self.upright = unit(upright)
        self._update_forward()

    def measured_from(self, upright: FloatArray | None) -> SensorPosture:
        """A copy with ``upright`` as its reference and the same bend votes and walking
        side, so that its forward axis is perpendicular to that upright: an axis made for
        another one (a lifter still at the bar, taken for a stance 28 deg away) reads a 28
        deg bend as 0.4."""
        frame = SensorPosture(self.settings)
        frame._axis_sum = self._axis_sum.copy()
        frame._face_votes, frame._face_side = self._face_votes, self._face_side
        frame._walking_forward = self._walking_forward
        if upright is not None:
            frame.set_upright(upright)
        return frame

    def learn_forward(self, deepest_up: FloatArray, lockout_up: FloatArray) -> None:
        """Count one rep's vote for the bend direction: from its own lockout posture to its
        deepest, if the sensor tilted beyond the threshold between them. Each rep votes
        once, relative to its own upright, so a false rep or a wrong reference cannot turn
        "forward" round."""
        upright = unit(lockout_up)
        bent = unit(deepest_up)[None, :]
        if np.isnan(bent).any() or tilt_deg(bent, upright)[0] <= self.settings.forward_min_tilt_deg:
            return
        vote = unit(forward_direction(bent, upright))
        face = 1.0 if vote[2] >= 0.0 else -1.0
        self._axis_sum += face * vote
        self._face_votes += face
        self._update_forward()

    def learn_face_side(self, side: float) -> None:
        """Take ``side`` (+1 or -1: a forward bend turns the up vector towards the sensor's
        face, or away from it) as the side forward is on, as the hinge angle reps are
        counted on reads it: votes cast while that angle was read the wrong way round
        give the axis, but not which way round it is."""
        if side != self._face_side:
            self._face_side = side
            self._update_forward()

    def learn_walking_forward(self, direction: FloatArray) -> None:
        """Take ``direction`` (how the sensor accelerates forward while walking) as the side
        forward is on: the bend votes still give the axis, but not which way round it is."""
        self._walking_forward = direction
        self._update_forward()

    def _update_forward(self) -> None:
        """Recompute the unit forward axis from the bend votes' axis, turned to the side the
        counting hinge reads as forward (else the side most votes bent towards), and to the
        walking side when that is known."""
        side = self._face_side
        if side is None:
            side = 1.0 if self._face_votes >= 0.0 else -1.0
        direction, walking = side * self._axis_sum, self._walking_forward
        if walking is not None:
            if not np.any(direction):
                direction = walking
            elif float(direction @ walking) < 0.0:
                direction = -direction
        if self.upright is not None and np.any(direction):
            self.forward = orthonormal_forward(direction, self.upright)


class UprightReference:
    """Decides where upright is: from a calibration stance, then from standing or lockouts."""

    def __init__(
        self, settings: PostureSettings, tick_rate_hz: float, roles: tuple[str, ...]
    ) -> None:
        """Start with no reference."""
        self.settings = settings
        self.source: str | None = None  # "stance", "standing" or "lockout"
        self.standing = StandingPosture(
            roles,
            tick_rate_hz,
            still_gyro_dps=settings.still_gyro_dps,
            near_deg=settings.lockout_tolerance_deg,
            keep_s=settings.standing_keep_s,
            enough_s=settings.stance_s,
        )
        self.still_ticks = 0
        self._stance_ticks = round(settings.stance_s * tick_rate_hz)
        self._window_ticks = round(settings.stance_window_s * tick_rate_hz)
        self._first_tick: int | None = None
        self._lockouts: dict[str, list[FloatArray]] = {}

    def stance_completed(self, tick: int, all_still: bool, tilt_deg: float) -> bool:
        """Count still ticks; True at the tick a calibration stance completes.

        A stance opens the session: a still rest later on is no reference, since resting
        lifters slouch and lockouts define upright better.
        """
        self._first_tick = tick if self._first_tick is None else self._first_tick
        if (
            self.source is not None
            or tick - self._first_tick > self._window_ticks + self._stance_ticks
        ):
            return False  # a stance can only open the session
        self.still_ticks = self.still_ticks + 1 if all_still else 0
        if self.source is not None or self.still_ticks != self._stance_ticks:
            return False
        began = tick - self.still_ticks + 1 - self._first_tick
        upright = abs(tilt_deg) < self.settings.stance_max_tilt_deg
        return began <= self._window_ticks and upright

    def rep_uprights(
        self, lockout_up: dict[str, FloatArray], postures: dict[str, SensorPosture], tick: int
    ) -> dict[str, FloatArray]:
        """The upright each sensor of a rep whose own lockout posture is ``lockout_up`` is
        measured from: the stance where the two agree; else, if every sensor agrees with
        it, where the lifter stands between sets; else the lockout itself."""
        if self.source == "stance":
            return {
                role: up
                for role, up in lockout_up.items()
                if (upright := postures[role].upright) is None or not self._agree(up, upright)
            }
        standing = self._standing_near(lockout_up, postures, tick)
        return dict(lockout_up) if standing is None else standing

    def _standing_near(
        self, lockout_up: dict[str, FloatArray], postures: dict[str, SensorPosture], tick: int
    ) -> dict[str, FloatArray] | None:
        """Where the lifter stood still near the upright in force, up to ``tick``, if every
        sensor's ``lockout_up`` agrees with it."""
        standing = self.standing.posture(tick, {role: p.upright for role, p in postures.items()})
        if standing is None or not all(
            self._agree(up, standing[role]) for role, up in lockout_up.items()
        ):
            return None
        return standing

    def _agree(self, up: FloatArray, upright: FloatArray) -> bool:
        """Whether two postures are within ``lockout_tolerance_deg`` of each other."""
        tilt = float(tilt_deg(unit(up)[None, :], upright)[0])
        return tilt <= self.settings.lockout_tolerance_deg

    def add_lockout(
        self, lockout_up: dict[str, FloatArray], postures: dict[str, SensorPosture], tick: int
    ) -> tuple[str, dict[str, FloatArray]] | None:
        """Record a lockout posture; returns the source and the new upright references when
        standing or lockouts should rule."""
        for role, up in lockout_up.items():
            recent = self._lockouts.setdefault(role, [])
            recent.append(unit(up))
            del recent[: -self.settings.recent_lockouts]
        mean = {role: unit(np.median(ups, axis=0)) for role, ups in self._lockouts.items()}
        if self.source != "stance":
            standing = self._standing_near(mean, postures, tick)
            return ("lockout", mean) if standing is None else ("standing", standing)
        if min(len(v) for v in self._lockouts.values()) < self.settings.lockouts_to_overrule:
            return None
        disagreement = max(
            float(tilt_deg(mean[role][None, :], upright)[0])
            for role in mean
            if (upright := postures[role].upright) is not None
        )
        return ("lockout", mean) if disagreement > self.settings.lockout_tolerance_deg else None
