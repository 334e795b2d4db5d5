"""Sagittal body model of a lifter: pelvis, lumbar spine and hips over time, in metres and radians.

World frame: ``x`` and ``y`` horizontal, ``z`` up. The trunk's own frame at a spine level has
``x`` forward (anterior), ``y`` to the lifter's left and ``z`` along the spine upwards. A
segment's sagittal angle is its forward inclination: the pelvis (sacrum, S1) has the pelvic
tilt, and lumbar flexion is spread linearly up the lumbar spine, so the segment at fraction
``u`` of the way from S1 to L1 is inclined by ``pelvis + u * lumbar`` relative to the upright
neutral stance (L3 is ``u = 0.5``). The resting lordosis makes each level lean differently
when upright, which is why a sensor on S1 and one on L1 start at different angles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sensor.samples import FloatArray
from sensor.sim.habits import LiftHabits
from sensor.sim.tracks import Track

#: Fraction of the way up the lumbar spine (S1 = 0, L1 = 1) of each sensor placement.
PLACEMENT_LEVEL = {"S1": 0.0, "L3": 0.5, "L1": 1.0}


@dataclass(frozen=True)
class Lifter:
    """Anthropometry, gait and lifting habits of one simulated lifter."""

    hip_height_m: float  # hip joint centre above the floor when standing
    lumbar_length_m: float  # arc length of the lumbar spine from S1 to L1
    sacrum_forward_m: float  # S1 relative to the hip joint centre, forward (negative = behind)
    sacrum_up_m: float  # S1 relative to the hip joint centre, upwards
    lordosis_s1_deg: float  # forward lean of the spine's tangent at S1 when standing
    lordosis_l1_deg: float  # forward lean of the spine's tangent at L1 when standing
    skin_depth_m: float  # back surface behind the spine, where the sensor sits
    step_hz: float  # walking cadence (steps per second)
    walk_speed_mps: float  # walking speed
    bounce_m: float  # vertical bounce amplitude of the pelvis while walking
    pelvic_rotation_deg: float  # pelvic yaw amplitude while walking (once per stride)
    obliquity_deg: float  # pelvic side-to-side tilt amplitude while walking
    sway_m: float  # postural sway amplitude of the hips
    sway_deg: float  # postural sway amplitude of pelvis and lumbar angles
    trunk_bottom_deg: float  # L1 inclination at the bottom of a conventional deadlift
    neutral_flexion_deg: float  # lumbar flexion at the bottom of a neutral-back rep
    rounded_flexion_deg: float  # lumbar flexion at the bottom of a rounded rep
    tempo: float  # multiplies every lifting duration (above 1 = slower lifter)
    lockout_pelvis_deg: float  # habitual pelvic tilt at lockout, relative to the stance
    lockout_lumbar_deg: float  # habitual lumbar flexion at lockout (negative = extension)
    breath_hz: float = 0.0  # breathing rate
    breath_deg: float = 0.0  # lumbar flexion amplitude of breathing (0 = not modelled)
    habits: LiftHabits | None = None  # None = the classic population's way of lifting


def random_lifter(rng: np.random.Generator) -> Lifter:
    """Draw a lifter from realistic adult ranges."""
    hip_height_m = rng.uniform(0.82, 1.0)
    return Lifter(
        hip_height_m=hip_height_m,
        lumbar_length_m=rng.uniform(0.16, 0.21),
        sacrum_forward_m=-rng.uniform(0.07, 0.11),
        sacrum_up_m=rng.uniform(0.08, 0.12),
        lordosis_s1_deg=rng.uniform(20.0, 35.0),
        lordosis_l1_deg=-rng.uniform(5.0, 15.0),
        skin_depth_m=rng.uniform(0.03, 0.06),
        step_hz=rng.uniform(1.6, 2.0),
        walk_speed_mps=rng.uniform(0.9, 1.4),
        bounce_m=rng.uniform(0.015, 0.03),
        pelvic_rotation_deg=rng.uniform(3.0, 7.0),
        obliquity_deg=rng.uniform(2.0, 5.0),
        sway_m=rng.uniform(0.002, 0.006),
        sway_deg=rng.uniform(0.1, 0.3),
        trunk_bottom_deg=rng.uniform(52.0, 66.0),
        neutral_flexion_deg=rng.uniform(11.0, 20.0),
        rounded_flexion_deg=rng.uniform(34.0, 45.0),
        tempo=rng.uniform(0.85, 1.2),
        lockout_pelvis_deg=rng.normal(0.0, 0.8),
        lockout_lumbar_deg=rng.normal(-0.3, 0.8),
    )


@dataclass
class Posture:
    """The keyframed degrees of freedom of the body (angles in deg, positions in m)."""

    pelvis_deg: Track  # pelvic tilt, forward positive
    lumbar_deg: Track  # lumbar flexion S1 to L1, flexion positive
    hip_x_m: Track  # hip joint centre, world x
    hip_y_m: Track  # hip joint centre, world y
    hip_z_m: Track  # hip joint centre above the floor
    heading_deg: Track  # direction the lifter faces, counter-clockwise from world x
    lean_deg: Track  # sideways lean of the trunk (roll about the forward axis)
    twist_deg: Track  # axial twist of L1 relative to the pelvis
    gait: Track  # 0 standing .. 1 walking: scales the stepping oscillations

    @staticmethod
    def standing(lifter: Lifter, x_m: float, y_m: float) -> Posture:
        """A lifter standing upright at (x_m, y_m), facing world x."""
        return Posture(
            pelvis_deg=Track(0.0),
            lumbar_deg=Track(0.0),
            hip_x_m=Track(x_m),
            hip_y_m=Track(y_m),
            hip_z_m=Track(lifter.hip_height_m),
            heading_deg=Track(0.0),
            lean_deg=Track(0.0),
            twist_deg=Track(0.0),
            gait=Track(0.0),
        )

    def tracks(self) -> tuple[Track, ...]:
        """Every track, for holding them all at once."""
        return (
            self.pelvis_deg,
            self.lumbar_deg,
            self.hip_x_m,
            self.hip_y_m,
            self.hip_z_m,
            self.heading_deg,
            self.lean_deg,
            self.twist_deg,
            self.gait,
        )


@dataclass
class Angles:
    """Body angles in radians and hip position in m at an array of times."""

    pelvis: FloatArray
    lumbar: FloatArray
    heading: FloatArray  # including the pelvic rotation of gait
    lean: FloatArray
    twist: FloatArray
    hip: FloatArray  # (n, 3) world position of the hip joint centre


@dataclass
class SegmentPose:
    """Orientation angles and world position of a point on the back at one spine level."""

    sagittal: FloatArray  # inclination of the segment's spine axis, rad (with lordosis)
    yaw: FloatArray  # rad
    roll: FloatArray  # rad
    position_m: FloatArray  # (n, 3)


@dataclass
class Sway:
    """Small quasi-random oscillations of standing balance (sums of slow sines)."""

    freq_hz: FloatArray = field(default_factory=lambda: np.zeros((4, 3)))
    phase: FloatArray = field(default_factory=lambda: np.zeros((4, 3)))

    @staticmethod
    def random(rng: np.random.Generator) -> Sway:
        """Four channels (hip x, hip y, pelvis, lumbar) of three sines each."""
        return Sway(rng.uniform(0.08, 0.7, (4, 3)), rng.uniform(0, 2 * np.pi, (4, 3)))

    def channel(self, index: int, t_s: FloatArray) -> FloatArray:
        """Unit-amplitude sway of one channel at the given times."""
        waves = np.sin(
            2 * np.pi * self.freq_hz[index][None, :] * t_s[:, None] + self.phase[index][None, :]
        )
        result: FloatArray = waves.sum(axis=1) / 3.0
        return result


#: Heel strike: the pelvis dips this much over this long at every step, a sharp vertical
#: acceleration transient of about 0.3 g on top of the smooth gait bounce.
HEEL_STRIKE_M = 0.0005
HEEL_STRIKE_S = 0.06


def _heel_strikes(t_s: FloatArray, lifter: Lifter) -> FloatArray:
    """Downward dip of the pelvis just after each heel strike (one per step, at the low point
    of the gait bounce, when both feet are on the ground)."""
    since_strike = np.mod(t_s * lifter.step_hz + 0.5, 1.0) / lifter.step_hz
    dip = np.sin(np.pi * np.minimum(since_strike, HEEL_STRIKE_S) / HEEL_STRIKE_S) ** 2
    result: FloatArray = HEEL_STRIKE_M * dip
    return result


@dataclass
class Body:
    """A lifter moving through a posture script; evaluates angles and positions at any time."""

    lifter: Lifter
    posture: Posture
    sway: Sway

    def angles(self, t_s: FloatArray) -> Angles:
        """Body angles (with gait oscillations and postural sway) at the given times."""
        lifter = self.lifter
        p = self.posture
        gait = p.gait(t_s)
        stride = np.pi * lifter.step_hz * t_s  # one stride = two steps
        step = 2.0 * stride
        sway_deg = lifter.sway_deg * (1.0 - gait)
        pelvis_deg = (
            p.pelvis_deg(t_s)
            + gait * 1.5 * np.cos(step + 0.5)
            + sway_deg * self.sway.channel(2, t_s)
        )
        lumbar_deg = (
            p.lumbar_deg(t_s)
            + gait * 1.0 * np.cos(step + 2.0)
            + sway_deg * self.sway.channel(3, t_s)
        )
        if lifter.breath_deg > 0.0:
            lumbar_deg = lumbar_deg + lifter.breath_deg * np.sin(2 * np.pi * lifter.breath_hz * t_s)
        heading_deg = p.heading_deg(t_s) + gait * lifter.pelvic_rotation_deg * np.sin(stride + 0.3)
        lean_deg = p.lean_deg(t_s) + gait * lifter.obliquity_deg * np.sin(stride + 1.2)
        # The thorax counter-rotates against the pelvis while walking.
        twist_deg = p.twist_deg(t_s) - gait * 0.6 * lifter.pelvic_rotation_deg * np.sin(
            stride + 0.3
        )
        path_heading = np.radians(p.heading_deg(t_s))
        sway_m = lifter.sway_m * (1.0 - gait)
        forward_m = gait * 0.02 * np.sin(step) + sway_m * self.sway.channel(0, t_s)
        left_m = gait * 0.02 * np.sin(stride) + sway_m * self.sway.channel(1, t_s)
        cos_h, sin_h = np.cos(path_heading), np.sin(path_heading)
        hip = np.column_stack(
            (
                p.hip_x_m(t_s) + cos_h * forward_m - sin_h * left_m,
                p.hip_y_m(t_s) + sin_h * forward_m + cos_h * left_m,
                p.hip_z_m(t_s)
                + gait * (lifter.bounce_m * np.cos(step) - _heel_strikes(t_s, lifter)),
            )
        )
        return Angles(
            pelvis=np.radians(pelvis_deg),
            lumbar=np.radians(lumbar_deg),
            heading=np.radians(heading_deg),
            lean=np.radians(lean_deg),
            twist=np.radians(twist_deg),
            hip=hip,
        )

    def truth_angle_deg(self, t_s: FloatArray, level: float) -> FloatArray:
        """Sagittal inclination of the segment at ``level``, relative to the upright stance."""
        a = self.angles(t_s)
        return np.degrees(a.pelvis + level * a.lumbar)

    def segment(self, t_s: FloatArray, level: float, skin: bool = True) -> SegmentPose:
        """Pose of the back surface at spine ``level`` (0 = S1 .. 1 = L1)."""
        lifter = self.lifter
        a = self.angles(t_s)
        lordosis_s1 = np.radians(lifter.lordosis_s1_deg)
        lordosis_l1 = np.radians(lifter.lordosis_l1_deg)
        cos_p, sin_p = np.cos(a.pelvis), np.sin(a.pelvis)
        # S1 rides on the pelvis, which rotates about the hip joint centre.
        s1_x = lifter.sacrum_forward_m * cos_p + lifter.sacrum_up_m * sin_p
        s1_z = -lifter.sacrum_forward_m * sin_p + lifter.sacrum_up_m * cos_p
        # The spine's tangent angle grows linearly with arc length, so the curve integrates
        # in closed form: a circular arc from S1 to the level.
        arc_m = level * lifter.lumbar_length_m
        start = a.pelvis + lordosis_s1
        turn = level * (lordosis_l1 - lordosis_s1 + a.lumbar)
        chord = arc_m * np.sinc(turn / (2 * np.pi))
        mid = start + turn / 2
        sagittal = start + turn
        depth = lifter.skin_depth_m if skin else 0.0
        local_x = s1_x + chord * np.sin(mid) - depth * np.cos(sagittal)
        local_z = s1_z + chord * np.cos(mid) + depth * np.sin(sagittal)
        # Out-of-plane lean tilts the sagittal plane about the forward axis, then heading yaws it.
        cos_l, sin_l = np.cos(a.lean), np.sin(a.lean)
        cos_h, sin_h = np.cos(a.heading), np.sin(a.heading)
        lean_y = -sin_l * local_z
        lean_z = cos_l * local_z
        position = a.hip + np.column_stack(
            (cos_h * local_x - sin_h * lean_y, sin_h * local_x + cos_h * lean_y, lean_z)
        )
        return SegmentPose(
            sagittal=sagittal, yaw=a.heading + level * a.twist, roll=a.lean, position_m=position
        )
