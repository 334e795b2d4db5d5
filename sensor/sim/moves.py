"""Everyday moves between sets: the calibration stance, standing around, walking, sitting on
a bench and handling plates. None of them is a rep, and each is labelled in the truth.
"""

from __future__ import annotations

import numpy as np

from sensor.sim.keyframes import Keyframer
from sensor.sim.tracks import AUTO


def calibration_stance(k: Keyframer, duration_s: float) -> None:
    """Stand still and upright: the posture the angles are relative to."""
    start = k.now
    k.key(start + 0.8, pelvis=0.0, lumbar=0.0, lean=0.0, twist=0.0, forward_m=0.0)
    k.key(start + 0.8, hip_z=k.lifter.hip_height_m)
    k.advance(start + 0.8)
    k.advance(k.now + duration_s)
    k.script.calibration = (start + 0.8, k.now)
    k.record("calibration", start + 0.8)


def rest(k: Keyframer, duration_s: float) -> None:
    """Stand around: shift weight, look about, roll the shoulders (never quite still)."""
    start = k.now
    end = start + duration_s
    habits = k.lifter.habits
    fidget = 1.0 if habits is None else habits.fidget
    while k.now < end - 1.0:
        move_s = min(k.uniform(0.8, 2.0), end - k.now)
        t = k.now + move_s
        k.key(
            t,
            pelvis=float(k.rng.normal(0.0, 1.2 * fidget)),
            lumbar=float(k.rng.normal(0.0, 1.8 * fidget)),
            lean=float(k.rng.normal(0.0, 1.5 * fidget)),
            twist=float(k.rng.normal(0.0, 2.0 * fidget)),
            forward_m=float(k.rng.normal(0.0, 0.015 * fidget)),
        )
        k.advance(min(t + k.uniform(0.3, 2.0), end))
    k.advance(end)
    k.record("rest", start)


def walk_to(k: Keyframer, target: tuple[float, float], face_deg: float | None = None) -> None:
    """Turn, walk to ``target`` and optionally turn to face ``face_deg`` when there."""
    start = k.now
    p = k.posture
    lifter = k.lifter
    x0, y0 = k.anchor
    dx, dy = target[0] - x0, target[1] - y0
    distance = float(np.hypot(dx, dy))
    p.gait.move(start, start + 0.4, 1.0)
    k.key(start + 0.4, pelvis=k.uniform(0.0, 2.0), lumbar=k.uniform(-1.0, 2.0), lean=0.0)
    t = start + _turn(k, float(np.degrees(np.arctan2(dy, dx))), start)
    speed = lifter.walk_speed_mps * k.uniform(0.9, 1.1)
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
    k.anchor = target
    if face_deg is not None:
        end += _turn(k, face_deg, end)
    p.gait.move(end - 0.4, end, 0.0)
    k.advance(end)
    k.record("walk", start)


def _turn(k: Keyframer, heading_deg: float, start_s: float) -> float:
    """Step round to face ``heading_deg`` (shortest way); returns the time it takes."""
    track = k.posture.heading_deg
    current = track.last_value
    delta = (heading_deg - current + 180.0) % 360.0 - 180.0
    if abs(delta) < 1.0:
        return 0.0
    turn_s = 0.5 + abs(delta) / 180.0 * 1.4
    track.move(start_s, start_s + turn_s, current + delta)
    return turn_s


def sit(k: Keyframer, duration_s: float) -> None:
    """Sit down on a bench behind, slump (posterior pelvic tilt, flexed lumbar), stand up."""
    start = k.now
    h = k.lifter.hip_height_m
    drop = k.uniform(0.4, 0.5)
    down_s = k.uniform(1.2, 2.0)
    k.key(
        start + 0.45 * down_s,
        pelvis=k.uniform(18.0, 30.0),
        lumbar=k.uniform(6.0, 14.0),
        hip_z=h - 0.35 * drop,
        hip_z_rate=AUTO,
    )
    k.key(
        start + down_s,
        pelvis=-k.uniform(8.0, 18.0),
        lumbar=k.uniform(18.0, 32.0),
        hip_z=h - drop,
        forward_m=-0.12,
    )
    k.advance(start + down_s)
    up_s = k.uniform(1.0, 1.6)
    seated_end = start + max(duration_s, down_s + up_s + 3.0) - up_s
    if k.rng.random() < 0.5 and seated_end - k.now > 8.0:
        # Elbows on knees, looking at the phone: deep lumbar flexion, sitting.
        lean_start = k.now + k.uniform(1.0, seated_end - k.now - 6.0)
        k.advance(lean_start)
        k.key(lean_start + 1.0, pelvis=k.uniform(5.0, 15.0), lumbar=k.uniform(32.0, 45.0))
        k.advance(lean_start + 1.0 + k.uniform(2.0, 5.0))
        k.key(k.now + 1.0, pelvis=-k.uniform(8.0, 18.0), lumbar=k.uniform(18.0, 32.0))
        # Sit back before standing up: a stand-up keyed inside this second came before it.
        k.advance(k.now + 1.0)
    k.advance(max(seated_end, k.now + 0.5))
    t = k.now
    habits = k.lifter.habits
    if habits is not None:
        # This lifter's own way up: how far forward the trunk leans, how fast.
        up_s = habits.stand_up_s * k.uniform(0.85, 1.15)
    k.key(
        t + 0.35 * up_s,
        pelvis=k.uniform(30.0, 40.0) if habits is None else habits.sit_lean_deg + k.uniform(-5, 5),
        lumbar=k.uniform(12.0, 22.0),
        hip_z=h - drop + 0.02,
        hip_z_rate=AUTO,
        forward_m=-0.08,
    )
    k.key(t + up_s, pelvis=0.0, lumbar=0.0, hip_z=h, forward_m=0.0)
    k.advance(t + up_s)
    k.record("sit", start)


def _bend_and_stand(
    k: Keyframer, pelvis: float, lumbar: float, hip_z: float, hold_s: float, pushes: int
) -> None:
    """Bend down (not a lift: no lockout before, slow), fiddle, stand back up."""
    start = k.now
    down_s = k.uniform(1.0, 1.8)
    k.key(start + down_s, pelvis=pelvis, lumbar=lumbar, hip_z=hip_z, forward_m=-0.08)
    k.advance(start + down_s)
    step = hold_s / (2 * pushes + 1)
    for _ in range(pushes):
        # Sliding a plate along the sleeve: short shoves with the hips.
        k.advance(k.now + step)
        k.key(k.now + step, forward_m=-0.03, pelvis=pelvis - 3.0)
        k.advance(k.now + step)
        k.key(k.now + step, forward_m=-0.08, pelvis=pelvis)
    k.advance(start + down_s + hold_s)
    up_s = k.uniform(1.0, 1.6)
    k.key(
        k.now + up_s,
        pelvis=k.uniform(-1.0, 1.0),
        lumbar=k.uniform(0.0, 3.0),
        hip_z=k.lifter.hip_height_m,
        forward_m=0.0,
    )
    k.advance(k.now + up_s)
    k.record("plates", start)


def plates(k: Keyframer, bar: tuple[float, float]) -> None:
    """Fetch a plate from the tree and slide it onto the bar (often with a rounded back)."""
    h = k.lifter.hip_height_m
    walk_to(k, k.plate_tree)
    rounded = k.rng.random() < 0.7
    _bend_and_stand(
        k,
        pelvis=k.uniform(25.0, 45.0),
        lumbar=k.uniform(35.0, 55.0) if rounded else k.uniform(10.0, 25.0),
        hip_z=h * k.uniform(0.5, 0.75),
        hold_s=k.uniform(0.8, 2.0),
        pushes=0,
    )
    side = 1.0 if k.rng.random() < 0.5 else -1.0
    walk_to(k, (bar[0] + 0.3, bar[1] + side * 1.1), face_deg=side * 90.0)
    _bend_and_stand(
        k,
        pelvis=k.uniform(20.0, 40.0),
        lumbar=k.uniform(20.0, 45.0),
        hip_z=h * k.uniform(0.65, 0.85),
        hold_s=k.uniform(1.5, 3.0),
        pushes=int(k.rng.integers(1, 3)),
    )


def pick_up(k: Keyframer) -> None:
    """Bend down without the bar to pick something up (a bottle, chalk, a phone), stand up."""
    start = k.now
    h = k.lifter.hip_height_m
    down_s = k.uniform(0.7, 1.6)
    k.key(
        start + down_s,
        pelvis=k.uniform(25.0, 60.0),
        lumbar=k.uniform(15.0, 45.0),
        hip_z=h * k.uniform(0.6, 0.9),
        forward_m=-0.1,
    )
    k.advance(start + down_s + k.uniform(0.2, 1.0))
    up_s = k.uniform(0.7, 1.5)
    k.key(k.now + up_s, pelvis=0.0, lumbar=0.0, hip_z=h, forward_m=0.0)
    k.advance(k.now + up_s)
    k.record("bend", start)
