"""Keyframing a session: the posture tracks, a time cursor and the truth intervals so far.

Moves (:mod:`sensor.sim.moves`, :mod:`sensor.sim.lifting`) add keyframes through a
:class:`Keyframer`; :mod:`sensor.sim.script` strings them into a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensor.sim.body import Lifter, Posture
from sensor.sim.spec import SessionSpec, Stance


@dataclass(frozen=True)
class Activity:
    """A labelled interval of the session (truth ``activities``)."""

    kind: str  # calibration, walk, sit, setup, stand_up, plates, rest, set
    start_s: float
    end_s: float


@dataclass(frozen=True)
class RepEvents:
    """When one rep happened and how it was lifted."""

    start_s: float  # bar leaves the floor
    lockout_s: float  # upright reached
    end_s: float  # bar back on the floor, or released at lockout when dropped
    concentric_s: float
    eccentric_s: float | None  # None when the bar was dropped
    touch_and_go: bool  # started straight from the previous rep's touch, without a pause
    dropped: bool
    grinding: bool
    style: Stance


@dataclass
class Script:
    """Posture keyframes plus the truth intervals of one session."""

    posture: Posture
    activities: list[Activity] = field(default_factory=list)
    sets: list[list[RepEvents]] = field(default_factory=list)
    calibration: tuple[float, float] | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class AngleRule:
    """How the reported angle combines pelvis and lumbar angles, and where alerts trip."""

    pelvis_weight: float  # 0 in dual mode (lumbar flexion), 1 for a single sensor
    lumbar_weight: float  # 1 in dual mode, the spine level for a single sensor
    threshold_deg: float
    margin_deg: float

    def angle(self, pelvis_deg: float, lumbar_deg: float) -> float:
        """The truth angle of a posture."""
        return self.pelvis_weight * pelvis_deg + self.lumbar_weight * lumbar_deg

    def clear_of_threshold(
        self, pelvis_deg: float, lumbar_deg: float, extra_deg: float
    ) -> tuple[float, float]:
        """Move a peak posture out of the band around the threshold, to its nearer side."""
        angle = self.angle(pelvis_deg, lumbar_deg)
        if abs(angle - self.threshold_deg) >= self.margin_deg:
            return pelvis_deg, lumbar_deg
        side = 1.0 if angle >= self.threshold_deg else -1.0
        shift = self.threshold_deg + side * (self.margin_deg + extra_deg) - angle
        if self.pelvis_weight == 0.0:
            return pelvis_deg, lumbar_deg + shift / self.lumbar_weight
        return pelvis_deg + shift / self.pelvis_weight, lumbar_deg


class Keyframer:
    """Lays out a session move by move: posture keyframes, a time cursor ``now`` and the
    truth intervals recorded so far."""

    def __init__(
        self, spec: SessionSpec, lifter: Lifter, rule: AngleRule, rng: np.random.Generator
    ) -> None:
        self.spec = spec
        self.lifter = lifter
        self.rule = rule
        self.rng = rng
        self.bench = _random_place(rng, 3.0, 6.0)
        self.plate_tree = _random_place(rng, 2.0, 4.0)
        # Where the lifter stands (hip joint centre when upright); the session starts away
        # from the bar, which is at the origin.
        self.anchor = self.bench if rng.random() < 0.5 else self.plate_tree
        self.posture = Posture.standing(lifter, *self.anchor)
        self.script = Script(self.posture)
        self.now = 0.0

    def advance(self, t_s: float) -> None:
        """Hold every degree of freedom until ``t_s`` and move the cursor there."""
        for track in self.posture.tracks():
            track.hold_until(t_s)
        self.now = t_s

    def key(
        self,
        t_s: float,
        *,
        pelvis: float | None = None,
        lumbar: float | None = None,
        hip_z: float | None = None,
        forward_m: float | None = None,
        lean: float | None = None,
        twist: float | None = None,
        hip_z_rate: float = 0.0,
    ) -> None:
        """Keyframe the given degrees of freedom at ``t_s`` (the others keep their course)."""
        p = self.posture
        for track, value in (
            (p.pelvis_deg, pelvis),
            (p.lumbar_deg, lumbar),
            (p.lean_deg, lean),
            (p.twist_deg, twist),
        ):
            if value is not None:
                track.add(t_s, value)
        if hip_z is not None:
            p.hip_z_m.add(t_s, hip_z, hip_z_rate)
        if forward_m is not None:
            heading = np.radians(p.heading_deg.last_value)
            p.hip_x_m.add(t_s, self.anchor[0] + forward_m * float(np.cos(heading)))
            p.hip_y_m.add(t_s, self.anchor[1] + forward_m * float(np.sin(heading)))

    def record(self, kind: str, start_s: float) -> None:
        """Label ``start_s`` .. now as an activity."""
        if self.now > start_s:
            self.script.activities.append(Activity(kind, start_s, self.now))

    def uniform(self, low: float, high: float) -> float:
        """A uniform draw."""
        return float(self.rng.uniform(low, high))


def _random_place(rng: np.random.Generator, near_m: float, far_m: float) -> tuple[float, float]:
    """A spot in the gym some metres from the bar."""
    distance = rng.uniform(near_m, far_m)
    direction = rng.uniform(0.0, 2 * np.pi)
    return float(distance * np.cos(direction)), float(distance * np.sin(direction))
