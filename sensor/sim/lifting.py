"""Deadlift sets: set-up, reps (dead stop or touch and go, neutral or rounding, grinders),
then the bar dropped at lockout or lowered and an unloaded stand-up.

Pelvis and lumbar angles move only between stop keyframes, all at shared times during a lift,
so the truth angle of a rep peaks at one of its keyframes: shortly after the bar leaves the
floor (the back rounds a little more as the load comes on) or at a floor touch. Keeping every
such keyframe ``margin`` degrees away from the alert threshold keeps the rep peaks there too,
so a 1-degree measurement error does not flip a truth alert.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from sensor.sim.body import Lifter
from sensor.sim.habits import LiftHabits
from sensor.sim.keyframes import AngleRule, Keyframer, RepEvents
from sensor.sim.spec import SetSpec, Stance
from sensor.sim.tracks import AUTO

#: Lumbar flexion a lifter rounds to when the rounding is not limited by anything else, deg.
MAX_ROUNDING_DEG = 55.0


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


def deadlift_set(k: Keyframer, set_spec: SetSpec) -> None:
    """Set up, lift ``set_spec.reps`` reps, then drop the bar or lower it and stand up."""
    plans = plan_reps(set_spec, k.spec.stance, k.lifter, k.rule, k.rng)
    stance = k.spec.stance
    h = k.lifter.hip_height_m
    sumo = stance == "sumo"
    habits = k.lifter.habits
    if habits is None:
        bottom_z = h * (k.uniform(0.47, 0.58) if sumo else k.uniform(0.55, 0.66))
        bottom_forward = -(k.uniform(0.04, 0.10) if sumo else k.uniform(0.12, 0.22))
    else:
        # Sumo sits the hips lower and keeps them closer to the bar.
        fraction = habits.hip_bottom_fraction - (0.06 if sumo else 0.0)
        bottom_z = h * (fraction + k.uniform(-0.02, 0.02))
        bottom_forward = -habits.hips_back_m * (0.5 if sumo else 1.0) * k.uniform(0.9, 1.1)
    bottoms = _bottoms(plans, k.rule, k.rng)
    _setup(k, bottoms[0], bottom_z, bottom_forward)
    reps: list[RepEvents] = []
    for index, plan in enumerate(plans):
        last = index == len(plans) - 1
        dropped = last and set_spec.ending == "drop"
        start = k.now
        z = bottom_z + float(k.rng.normal(0.0, 0.01))
        lockout = start + plan.concentric_s
        _concentric(k, plan, start, z)
        k.advance(lockout + plan.lockout_hold_s)
        if dropped:
            end = k.now
        else:
            pelvis, lumbar = bottoms[index + 1]
            end = k.now + plan.eccentric_s
            k.key(end, pelvis=pelvis, lumbar=lumbar, hip_z=z, forward_m=bottom_forward)
            k.advance(end)
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
            _dead_stop_pause(k, plan.bottom_pause_s, bottoms[index + 1], z)
    k.script.sets.append(reps)
    k.record("set", reps[0].start_s)
    if set_spec.ending == "drop":
        _release_bar(k)
    else:
        _stand_up_unloaded(k)


def _setup(
    k: Keyframer, bottom: tuple[float, float], bottom_z: float, bottom_forward: float
) -> None:
    """Walk up to the bar, bend down slowly, grip, pull the slack out: no lockout first."""
    start = k.now
    pelvis, lumbar = bottom
    tempo = k.lifter.tempo
    if k.rng.random() < 0.3:
        # A first attempt at the set-up, abandoned halfway up and redone.
        down_s = k.uniform(1.5, 2.5) * tempo
        k.key(
            k.now + down_s,
            pelvis=pelvis,
            lumbar=lumbar,
            hip_z=bottom_z,
            forward_m=bottom_forward,
        )
        k.advance(k.now + down_s + k.uniform(0.5, 1.5))
        up_s = k.uniform(0.8, 1.4)
        k.key(
            k.now + up_s,
            pelvis=pelvis * 0.5,
            lumbar=lumbar * 0.6,
            hip_z=bottom_z + 0.4 * (k.lifter.hip_height_m - bottom_z),
        )
        k.advance(k.now + up_s + k.uniform(0.3, 1.0))
    down_s = k.uniform(1.5, 3.0) * tempo
    k.key(
        k.now + down_s,
        pelvis=pelvis - 2.0,
        lumbar=lumbar,
        hip_z=bottom_z + 0.04,
        forward_m=bottom_forward,
    )
    k.advance(k.now + down_s + k.uniform(0.3, 1.0))
    slack_s = k.uniform(0.8, 2.0)
    # Pulling the slack out: hips sink, chest comes up, tension builds.
    k.key(k.now + slack_s, pelvis=pelvis, hip_z=bottom_z)
    k.advance(k.now + slack_s + k.uniform(0.2, 0.8))
    k.record("setup", start)


def _concentric(k: Keyframer, plan: RepPlan, start: float, bottom_z: float) -> None:
    """Bar from the floor to lockout: hips and knees extend, the angles peak early."""
    lifter = k.lifter
    duration = plan.concentric_s
    habits = lifter.habits
    if habits is None:
        peak_at = start + k.uniform(0.15, 0.3) * duration
        k.key(peak_at, pelvis=plan.pelvis_deg, lumbar=plan.lumbar_deg)
    else:
        peak_at = start + (habits.peak_fraction + k.uniform(-0.03, 0.03)) * duration
        k.key(
            peak_at,
            pelvis=plan.pelvis_deg,
            lumbar=plan.lumbar_deg,
            lean=habits.pull_lean_deg * k.uniform(0.7, 1.3),
            twist=habits.pull_twist_deg * k.uniform(0.7, 1.3),
        )
    lockout = start + duration
    rise = lifter.hip_height_m - bottom_z
    if plan.grinding:
        # The bar slows to a near stall at the sticking point, mid-thigh.
        stall = k.uniform(0.6, 0.8)
        k.key(start + 0.3 * duration, hip_z=bottom_z + 0.4 * rise, hip_z_rate=AUTO)
        k.key(start + stall * duration, hip_z=bottom_z + 0.6 * rise, hip_z_rate=AUTO)
        k.key(
            start + stall * duration,
            pelvis=0.45 * plan.pelvis_deg,
            lumbar=0.5 * plan.lumbar_deg,
        )
    k.key(
        lockout,
        pelvis=lifter.lockout_pelvis_deg + float(k.rng.normal(0.0, 0.4)),
        lumbar=lifter.lockout_lumbar_deg + float(k.rng.normal(0.0, 0.4)),
        hip_z=lifter.hip_height_m + float(k.rng.normal(0.0, 0.004)),
        forward_m=float(k.rng.normal(0.0, 0.01))
        + (0.0 if habits is None else habits.lockout_forward_m),
    )
    if habits is not None:
        k.key(lockout, lean=0.0, twist=0.0)


def _dead_stop_pause(
    k: Keyframer, duration_s: float, bottom: tuple[float, float], z: float
) -> None:
    """Bar at rest between reps; sometimes the lifter re-sets the hips."""
    end = k.now + duration_s
    if k.rng.random() < 0.5 and duration_s > 1.0:
        mid = k.now + duration_s / 2
        k.key(mid, pelvis=bottom[0] - 2.0, lumbar=bottom[1] - 1.0, hip_z=z + 0.03)
        k.key(end, pelvis=bottom[0], lumbar=bottom[1], hip_z=z)
    k.advance(end)


def _release_bar(k: Keyframer) -> None:
    """Let go at lockout: the unloaded body recoils slightly backwards, then settles."""
    t = k.now
    pelvis = k.posture.pelvis_deg.last_value
    k.key(t + 0.25, pelvis=pelvis - 1.5, forward_m=-0.015)
    k.key(t + 0.9, pelvis=0.0, lumbar=0.0, forward_m=0.0)
    k.advance(t + 0.9)
    k.record("rest", t)


def _stand_up_unloaded(k: Keyframer) -> None:
    """After the bar is down: a moment bent over, then a quick stand-up without it."""
    start = k.now
    k.advance(start + k.uniform(0.2, 1.5))
    up_s = k.uniform(0.6, 1.0)
    k.key(k.now + up_s, pelvis=0.0, lumbar=0.0, hip_z=k.lifter.hip_height_m, forward_m=0.0)
    k.advance(k.now + up_s)
    k.record("stand_up", start)


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
        if lifter.habits is not None:
            plan = _habitual_plan(lifter.habits, set_spec, pelvis, lumbar, fatigue, grinding, rng)
            plans.append(plan)
            continue
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


def _habitual_plan(
    habits: LiftHabits,
    set_spec: SetSpec,
    pelvis_deg: float,
    lumbar_deg: float,
    fatigue: float,
    grinding: bool,
    rng: np.random.Generator,
) -> RepPlan:
    """A rep's tempo from the lifter's habits: fast pulls to slow grinders, any pause."""
    if grinding:
        concentric = rng.uniform(2.2, habits.grind_max_s)
    else:
        base = habits.concentric_base_s * (1.0 + 2.0 * (set_spec.load - 0.5))
        concentric = base * (1 + 0.3 * fatigue) * rng.uniform(0.9, 1.1)
    tng = set_spec.touch_and_go
    eccentric = habits.eccentric_s * (rng.uniform(0.6, 1.0) if tng else rng.uniform(0.8, 1.4))
    hold_max_s = habits.lockout_hold_max_s * (0.5 if tng else 1.0)
    return RepPlan(
        pelvis_deg=pelvis_deg,
        lumbar_deg=lumbar_deg,
        concentric_s=float(np.clip(concentric, 2.0 if grinding else 0.5, 6.5 if grinding else 3.5)),
        eccentric_s=float(np.clip(eccentric, 0.4, 3.0)),
        lockout_hold_s=float(rng.uniform(0.0, hold_max_s)),
        bottom_pause_s=0.0 if tng else float(rng.uniform(0.2, habits.pause_max_s)),
        grinding=grinding,
    )


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
