"""The session script: what the lifter does second by second, as posture keyframes plus the
intervals the ground truth reports (activities, calibration stance, reps).

Pelvis and lumbar angles move only between stop keyframes, all at shared times during a lift,
so the truth angle of a rep peaks at one of its keyframes: shortly after the bar leaves the
floor (the back rounds a little more as the load comes on) or at a floor touch. Keeping every
such keyframe ``margin`` degrees away from the alert threshold keeps the rep peaks there too,
so a 1-degree measurement error does not flip a truth alert.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from sensor.sim.body import Lifter, Posture
from sensor.sim.spec import SessionSpec, SetSpec, Stance
from sensor.sim.tracks import AUTO

#: Lumbar flexion a lifter rounds to when the rounding is not limited by anything else, deg.
MAX_ROUNDING_DEG = 55.0


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
class RepPlan:
    """The targets of one rep, chosen before it is laid out in time."""

    pelvis_deg: float  # at the angle peak, just after lift-off
    lumbar_deg: float
    concentric_s: float
    eccentric_s: float
    lockout_hold_s: float
    bottom_pause_s: float  # dead-stop pause after the rep (0 for touch and go)
    grinding: bool


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


class ScriptBuilder:
    """Lays out a session activity by activity, keeping a time cursor ``now``."""

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

    # Low-level keyframing -------------------------------------------------------------------

    def _advance(self, t_s: float) -> None:
        """Hold every degree of freedom until ``t_s`` and move the cursor there."""
        for track in self.posture.tracks():
            track.hold_until(t_s)
        self.now = t_s

    def _key(
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

    def _record(self, kind: str, start_s: float) -> None:
        """Label ``start_s`` .. now as an activity."""
        if self.now > start_s:
            self.script.activities.append(Activity(kind, start_s, self.now))

    def _u(self, low: float, high: float) -> float:
        """A uniform draw."""
        return float(self.rng.uniform(low, high))

    # Standing, walking, sitting -------------------------------------------------------------

    def calibration_stance(self, duration_s: float) -> None:
        """Stand still and upright: the posture the angles are relative to."""
        start = self.now
        self._key(start + 0.8, pelvis=0.0, lumbar=0.0, lean=0.0, twist=0.0, forward_m=0.0)
        self._key(start + 0.8, hip_z=self.lifter.hip_height_m)
        self._advance(start + 0.8)
        self._advance(self.now + duration_s)
        self.script.calibration = (start + 0.8, self.now)
        self._record("calibration", start + 0.8)

    def rest(self, duration_s: float) -> None:
        """Stand around: shift weight, look about, roll the shoulders (never quite still)."""
        start = self.now
        end = start + duration_s
        while self.now < end - 1.0:
            move_s = min(self._u(0.8, 2.0), end - self.now)
            t = self.now + move_s
            self._key(
                t,
                pelvis=float(self.rng.normal(0.0, 1.2)),
                lumbar=float(self.rng.normal(0.0, 1.8)),
                lean=float(self.rng.normal(0.0, 1.5)),
                twist=float(self.rng.normal(0.0, 2.0)),
                forward_m=float(self.rng.normal(0.0, 0.015)),
            )
            self._advance(min(t + self._u(0.3, 2.0), end))
        self._advance(end)
        self._record("rest", start)

    def walk_to(self, target: tuple[float, float], face_deg: float | None = None) -> None:
        """Turn, walk to ``target`` and optionally turn to face ``face_deg`` when there."""
        start = self.now
        p = self.posture
        lifter = self.lifter
        x0, y0 = self.anchor
        dx, dy = target[0] - x0, target[1] - y0
        distance = float(np.hypot(dx, dy))
        p.gait.move(start, start + 0.4, 1.0)
        self._key(start + 0.4, pelvis=self._u(0.0, 2.0), lumbar=self._u(-1.0, 2.0), lean=0.0)
        t = start + self._turn(float(np.degrees(np.arctan2(dy, dx))), start)
        speed = lifter.walk_speed_mps * self._u(0.9, 1.1)
        ramp_s = 0.6
        end = t + distance / speed + ramp_s
        ux, uy = dx / max(distance, 1e-9), dy / max(distance, 1e-9)
        for track, begin, unit in ((p.hip_x_m, x0, ux), (p.hip_y_m, y0, uy)):
            track.hold_until(t)
            if distance > speed * ramp_s:
                # Accelerate, cruise at constant speed, decelerate.
                cruise = speed * ramp_s / 2
                track.add(t + ramp_s, begin + unit * cruise, speed * unit)
                track.add(end - ramp_s, begin + unit * (distance - cruise), speed * unit)
            track.add(end, begin + unit * distance)
        self.anchor = target
        if face_deg is not None:
            end += self._turn(face_deg, end)
        p.gait.move(end - 0.4, end, 0.0)
        self._advance(end)
        self._record("walk", start)

    def _turn(self, heading_deg: float, start_s: float) -> float:
        """Step round to face ``heading_deg`` (shortest way); returns the time it takes."""
        track = self.posture.heading_deg
        current = track.last_value
        delta = (heading_deg - current + 180.0) % 360.0 - 180.0
        if abs(delta) < 1.0:
            return 0.0
        turn_s = 0.5 + abs(delta) / 180.0 * 1.4
        track.move(start_s, start_s + turn_s, current + delta)
        return turn_s

    def sit(self, duration_s: float) -> None:
        """Sit down on a bench behind, slump (posterior pelvic tilt, flexed lumbar), stand up."""
        start = self.now
        h = self.lifter.hip_height_m
        drop = self._u(0.4, 0.5)
        down_s = self._u(1.2, 2.0)
        self._key(
            start + 0.45 * down_s,
            pelvis=self._u(18.0, 30.0),
            lumbar=self._u(6.0, 14.0),
            hip_z=h - 0.35 * drop,
            hip_z_rate=AUTO,
        )
        self._key(
            start + down_s,
            pelvis=-self._u(8.0, 18.0),
            lumbar=self._u(18.0, 32.0),
            hip_z=h - drop,
            forward_m=-0.12,
        )
        self._advance(start + down_s)
        up_s = self._u(1.0, 1.6)
        seated_end = start + max(duration_s, down_s + up_s + 3.0) - up_s
        if self.rng.random() < 0.5 and seated_end - self.now > 8.0:
            # Elbows on knees, looking at the phone: deep lumbar flexion, sitting.
            lean_start = self.now + self._u(1.0, seated_end - self.now - 6.0)
            self._advance(lean_start)
            self._key(lean_start + 1.0, pelvis=self._u(5.0, 15.0), lumbar=self._u(32.0, 45.0))
            self._advance(lean_start + 1.0 + self._u(2.0, 5.0))
            self._key(self.now + 1.0, pelvis=-self._u(8.0, 18.0), lumbar=self._u(18.0, 32.0))
        self._advance(max(seated_end, self.now + 0.5))
        t = self.now
        self._key(
            t + 0.35 * up_s,
            pelvis=self._u(30.0, 40.0),
            lumbar=self._u(12.0, 22.0),
            hip_z=h - drop + 0.02,
            hip_z_rate=AUTO,
            forward_m=-0.08,
        )
        self._key(t + up_s, pelvis=0.0, lumbar=0.0, hip_z=h, forward_m=0.0)
        self._advance(t + up_s)
        self._record("sit", start)

    # Plate handling -------------------------------------------------------------------------

    def _bend_and_stand(
        self, pelvis: float, lumbar: float, hip_z: float, hold_s: float, pushes: int
    ) -> None:
        """Bend down (not a lift: no lockout before, slow), fiddle, stand back up."""
        start = self.now
        down_s = self._u(1.0, 1.8)
        self._key(start + down_s, pelvis=pelvis, lumbar=lumbar, hip_z=hip_z, forward_m=-0.08)
        self._advance(start + down_s)
        step = hold_s / (2 * pushes + 1)
        for _ in range(pushes):
            # Sliding a plate along the sleeve: short shoves with the hips.
            self._advance(self.now + step)
            self._key(self.now + step, forward_m=-0.03, pelvis=pelvis - 3.0)
            self._advance(self.now + step)
            self._key(self.now + step, forward_m=-0.08, pelvis=pelvis)
        self._advance(start + down_s + hold_s)
        up_s = self._u(1.0, 1.6)
        self._key(
            self.now + up_s,
            pelvis=self._u(-1.0, 1.0),
            lumbar=self._u(0.0, 3.0),
            hip_z=self.lifter.hip_height_m,
            forward_m=0.0,
        )
        self._advance(self.now + up_s)
        self._record("plates", start)

    def plates(self, bar: tuple[float, float]) -> None:
        """Fetch a plate from the tree and slide it onto the bar (often with a rounded back)."""
        h = self.lifter.hip_height_m
        self.walk_to(self.plate_tree)
        rounded = self.rng.random() < 0.7
        self._bend_and_stand(
            pelvis=self._u(25.0, 45.0),
            lumbar=self._u(35.0, 55.0) if rounded else self._u(10.0, 25.0),
            hip_z=h * self._u(0.5, 0.75),
            hold_s=self._u(0.8, 2.0),
            pushes=0,
        )
        side = 1.0 if self.rng.random() < 0.5 else -1.0
        self.walk_to((bar[0] + 0.3, bar[1] + side * 1.1), face_deg=side * 90.0)
        self._bend_and_stand(
            pelvis=self._u(20.0, 40.0),
            lumbar=self._u(20.0, 45.0),
            hip_z=h * self._u(0.65, 0.85),
            hold_s=self._u(1.5, 3.0),
            pushes=int(self.rng.integers(1, 3)),
        )

    # Deadlifts ------------------------------------------------------------------------------

    def deadlift_set(self, set_spec: SetSpec) -> None:
        """Set up, lift ``set_spec.reps`` reps, then drop the bar or lower it and stand up."""
        plans = plan_reps(set_spec, self.spec.stance, self.lifter, self.rule, self.rng)
        stance = self.spec.stance
        h = self.lifter.hip_height_m
        sumo = stance == "sumo"
        bottom_z = h * (self._u(0.47, 0.58) if sumo else self._u(0.55, 0.66))
        bottom_forward = -(self._u(0.04, 0.10) if sumo else self._u(0.12, 0.22))
        bottoms = _bottoms(plans, self.rule, self.rng)
        self._setup(bottoms[0], bottom_z, bottom_forward)
        reps: list[RepEvents] = []
        for index, plan in enumerate(plans):
            last = index == len(plans) - 1
            dropped = last and set_spec.ending == "drop"
            start = self.now
            z = bottom_z + float(self.rng.normal(0.0, 0.01))
            lockout = start + plan.concentric_s
            self._concentric(plan, start, z)
            self._advance(lockout + plan.lockout_hold_s)
            if dropped:
                end = self.now
            else:
                pelvis, lumbar = bottoms[index + 1]
                end = self.now + plan.eccentric_s
                self._key(end, pelvis=pelvis, lumbar=lumbar, hip_z=z, forward_m=bottom_forward)
                self._advance(end)
            reps.append(
                RepEvents(
                    start_s=start,
                    lockout_s=lockout,
                    end_s=end,
                    concentric_s=plan.concentric_s,
                    eccentric_s=None if dropped else plan.eccentric_s,
                    touch_and_go=set_spec.touch_and_go and index > 0,
                    dropped=dropped,
                    grinding=plan.grinding,
                    style=stance,
                )
            )
            if not last and plan.bottom_pause_s > 0:
                self._dead_stop_pause(plan.bottom_pause_s, bottoms[index + 1], z)
        self.script.sets.append(reps)
        self._record("set", reps[0].start_s)
        if set_spec.ending == "drop":
            self._release_bar()
        else:
            self._stand_up_unloaded()

    def _setup(self, bottom: tuple[float, float], bottom_z: float, bottom_forward: float) -> None:
        """Walk up to the bar, bend down slowly, grip, pull the slack out: no lockout first."""
        start = self.now
        pelvis, lumbar = bottom
        tempo = self.lifter.tempo
        if self.rng.random() < 0.3:
            # A first attempt at the set-up, abandoned halfway up and redone.
            down_s = self._u(1.5, 2.5) * tempo
            self._key(
                self.now + down_s,
                pelvis=pelvis,
                lumbar=lumbar,
                hip_z=bottom_z,
                forward_m=bottom_forward,
            )
            self._advance(self.now + down_s + self._u(0.5, 1.5))
            up_s = self._u(0.8, 1.4)
            self._key(
                self.now + up_s,
                pelvis=pelvis * 0.5,
                lumbar=lumbar * 0.6,
                hip_z=bottom_z + 0.4 * (self.lifter.hip_height_m - bottom_z),
            )
            self._advance(self.now + up_s + self._u(0.3, 1.0))
        down_s = self._u(1.5, 3.0) * tempo
        self._key(
            self.now + down_s,
            pelvis=pelvis - 2.0,
            lumbar=lumbar,
            hip_z=bottom_z + 0.04,
            forward_m=bottom_forward,
        )
        self._advance(self.now + down_s + self._u(0.3, 1.0))
        slack_s = self._u(0.8, 2.0)
        # Pulling the slack out: hips sink, chest comes up, tension builds.
        self._key(self.now + slack_s, pelvis=pelvis, hip_z=bottom_z)
        self._advance(self.now + slack_s + self._u(0.2, 0.8))
        self._record("setup", start)

    def _concentric(self, plan: RepPlan, start: float, bottom_z: float) -> None:
        """Bar from the floor to lockout: hips and knees extend, the angles peak early."""
        lifter = self.lifter
        duration = plan.concentric_s
        peak_at = start + self._u(0.15, 0.3) * duration
        self._key(peak_at, pelvis=plan.pelvis_deg, lumbar=plan.lumbar_deg)
        lockout = start + duration
        rise = lifter.hip_height_m - bottom_z
        if plan.grinding:
            # The bar slows to a near stall at the sticking point, mid-thigh.
            stall = self._u(0.6, 0.8)
            self._key(start + 0.3 * duration, hip_z=bottom_z + 0.4 * rise, hip_z_rate=AUTO)
            self._key(start + stall * duration, hip_z=bottom_z + 0.6 * rise, hip_z_rate=AUTO)
            self._key(
                start + stall * duration,
                pelvis=0.45 * plan.pelvis_deg,
                lumbar=0.5 * plan.lumbar_deg,
            )
        self._key(
            lockout,
            pelvis=lifter.lockout_pelvis_deg + float(self.rng.normal(0.0, 0.4)),
            lumbar=lifter.lockout_lumbar_deg + float(self.rng.normal(0.0, 0.4)),
            hip_z=lifter.hip_height_m + float(self.rng.normal(0.0, 0.004)),
            forward_m=float(self.rng.normal(0.0, 0.01)),
        )

    def _dead_stop_pause(self, duration_s: float, bottom: tuple[float, float], z: float) -> None:
        """Bar at rest between reps; sometimes the lifter re-sets the hips."""
        end = self.now + duration_s
        if self.rng.random() < 0.5 and duration_s > 1.0:
            mid = self.now + duration_s / 2
            self._key(mid, pelvis=bottom[0] - 2.0, lumbar=bottom[1] - 1.0, hip_z=z + 0.03)
            self._key(end, pelvis=bottom[0], lumbar=bottom[1], hip_z=z)
        self._advance(end)

    def _release_bar(self) -> None:
        """Let go at lockout: the unloaded body recoils slightly backwards, then settles."""
        t = self.now
        pelvis = self.posture.pelvis_deg.last_value
        self._key(t + 0.25, pelvis=pelvis - 1.5, forward_m=-0.015)
        self._key(t + 0.9, pelvis=0.0, lumbar=0.0, forward_m=0.0)
        self._advance(t + 0.9)
        self._record("rest", t)

    def _stand_up_unloaded(self) -> None:
        """After the bar is down: a moment bent over, then a quick stand-up without it."""
        start = self.now
        self._advance(start + self._u(0.2, 1.5))
        up_s = self._u(0.6, 1.0)
        self._key(
            self.now + up_s, pelvis=0.0, lumbar=0.0, hip_z=self.lifter.hip_height_m, forward_m=0.0
        )
        self._advance(self.now + up_s)
        self._record("stand_up", start)


def plan_reps(
    set_spec: SetSpec, stance: Stance, lifter: Lifter, rule: AngleRule, rng: np.random.Generator
) -> list[RepPlan]:
    """Peak posture and tempo of every rep: heavier is slower, fatigue rounds and slows."""
    n = set_spec.reps
    plans = []
    # Each set-up finds a slightly different hinge; tired hips shoot up, inclining the trunk.
    set_trunk_deg = (
        lifter.trunk_bottom_deg
        - (rng.uniform(5.0, 10.0) if stance == "sumo" else 0.0)
        + rng.normal(0.0, 2.5)
    )
    hips_rise_deg = rng.uniform(2.0, 8.0)
    for k in range(n):
        fatigue = k / (n - 1) if n > 1 else 0.0
        load_extra = 4.0 * (set_spec.load - 0.7)
        neutral = lifter.neutral_flexion_deg
        if set_spec.back == "neutral":
            lumbar = neutral + 3.0 * fatigue
        elif set_spec.back == "rounded":
            lumbar = lifter.rounded_flexion_deg + 5.0 * fatigue
        else:
            lumbar = neutral + (lifter.rounded_flexion_deg + 4.0 - neutral) * fatigue**1.2
        lumbar = min(lumbar + load_extra + float(rng.uniform(-1.5, 1.5)), MAX_ROUNDING_DEG)
        trunk = (
            set_trunk_deg
            + 0.3 * (lumbar - neutral)
            + hips_rise_deg * fatigue
            + rng.uniform(-1.5, 1.5)
        )
        pelvis, lumbar = rule.clear_of_threshold(float(trunk - lumbar), lumbar, rng.uniform(0, 1))
        grinding = k >= n - set_spec.grind_reps
        if grinding:
            concentric = rng.uniform(2.2, 4.5) * lifter.tempo
        else:
            base = 0.8 + 2.4 * (set_spec.load - 0.5)
            concentric = base * lifter.tempo * (1 + 0.25 * fatigue) * rng.uniform(0.92, 1.08)
        tng = set_spec.touch_and_go
        eccentric = (rng.uniform(0.8, 1.3) if tng else rng.uniform(1.0, 2.0)) * lifter.tempo
        plans.append(
            RepPlan(
                pelvis_deg=pelvis,
                lumbar_deg=lumbar,
                concentric_s=float(
                    np.clip(concentric, 2.0 if grinding else 0.8, 5.0 if grinding else 2.5)
                ),
                eccentric_s=float(np.clip(eccentric, 0.8, 2.0)),
                lockout_hold_s=float(rng.uniform(0.15, 0.5) if tng else rng.uniform(0.3, 1.2)),
                bottom_pause_s=0.0 if tng else float(rng.uniform(0.6, 2.5)),
                grinding=grinding,
            )
        )
    return plans


def _bottoms(
    plans: list[RepPlan], rule: AngleRule, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Pelvis and lumbar angles at each floor touch (before the first rep, between reps,
    after the last): between the neighbouring reps' peaks, since a back that rounds more with
    every rep does so partly while lowering the bar."""
    peaks = [(p.pelvis_deg, p.lumbar_deg) for p in plans]
    neighbours = [peaks[0]]
    for before, after in itertools.pairwise(peaks):
        share = float(rng.uniform(0.2, 0.7))
        neighbours.append(
            (
                before[0] + share * (after[0] - before[0]),
                before[1] + share * (after[1] - before[1]),
            )
        )
    neighbours.append(peaks[-1])
    return [
        rule.clear_of_threshold(
            pelvis - float(rng.uniform(0.0, 3.0)),
            lumbar - float(rng.uniform(0.5, 3.0)),
            float(rng.uniform(0.0, 1.0)),
        )
        for pelvis, lumbar in neighbours
    ]


def _random_place(rng: np.random.Generator, near_m: float, far_m: float) -> tuple[float, float]:
    """A spot in the gym some metres from the bar."""
    distance = rng.uniform(near_m, far_m)
    direction = rng.uniform(0.0, 2 * np.pi)
    return float(distance * np.cos(direction)), float(distance * np.sin(direction))


def build_script(
    spec: SessionSpec, lifter: Lifter, rule: AngleRule, rng: np.random.Generator
) -> Script:
    """Lay out the whole session: stance, walking, plates, sets, rests, sitting."""
    b = ScriptBuilder(spec, lifter, rule, rng)
    bar = (0.0, 0.0)
    b._advance(b._u(0.3, 1.0))
    if spec.include_calibration:
        b.calibration_stance(spec.calibration_s)
    for index, set_spec in enumerate(spec.sets):
        if index > 0:
            rest_s = b._u(*spec.rest_s)
            rest_start = b.now
            b.rest(b._u(2.0, 6.0))
            if set_spec.sit_before:
                b.walk_to(b.bench, face_deg=b._u(0.0, 360.0))
                sit_s = (
                    rest_s - (b.now - rest_start) - 12.0 - (15.0 if set_spec.plates_before else 0)
                )
                b.sit(max(sit_s, 8.0))
        if set_spec.plates_before:
            b.plates(bar)
        b.walk_to(bar, face_deg=0.0)
        if index > 0:
            b.rest(max(rest_start + rest_s - b.now, b._u(1.0, 3.0)))
        else:
            b.rest(b._u(1.0, 3.0))
        b.deadlift_set(set_spec)
    b.rest(b._u(2.0, 4.0))
    b.walk_to(b.bench)
    b._advance(b.now + 0.5)
    b.script.duration_s = b.now
    return b.script
