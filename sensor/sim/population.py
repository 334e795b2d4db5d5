"""Populations of simulated sessions: ``classic`` (the one body the detector was developed
on, :func:`sensor.sim.spec.random_spec`) and ``wide`` (many bodies, habits and devices).

Every wide parameter is drawn per session from the seed, uniformly inside a range listed
here by name with its unit; docs/simulator.md gives the same table with the source of each
range, and a test checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from sensor.sim.body import Lifter
from sensor.sim.devices import DEVICES, IMUS, draw_errors
from sensor.sim.habits import LiftHabits
from sensor.sim.imu import Mount
from sensor.sim.spec import (
    RecordingStart,
    SensorSpec,
    SessionSpec,
    random_gap,
    random_set,
    random_spec,
)

Range = tuple[float, float]

#: Lifter body and movement, drawn once per session (name: (low, high), unit in the name).
LIFTER_RANGES: dict[str, Range] = {
    "hip_height_m": (0.75, 1.05),
    "lumbar_length_m": (0.14, 0.23),
    "sacrum_forward_m": (-0.12, -0.06),
    "sacrum_up_m": (0.07, 0.13),
    "lordosis_s1_deg": (15.0, 40.0),
    "lordosis_l1_deg": (-20.0, 0.0),
    "skin_depth_m": (0.02, 0.09),
    "step_hz": (1.5, 2.1),
    "walk_speed_mps": (0.8, 1.5),
    "bounce_m": (0.01, 0.04),
    "pelvic_rotation_deg": (2.0, 9.0),
    "obliquity_deg": (2.0, 7.0),
    "sway_m": (0.002, 0.012),
    "sway_deg": (0.1, 1.0),
    "trunk_bottom_deg": (22.0, 85.0),
    "neutral_flexion_deg": (5.0, 22.0),
    "rounded_flexion_deg": (30.0, 50.0),
    "tempo": (0.6, 1.6),
    "lockout_pelvis_deg": (-4.0, 4.0),
    "lockout_lumbar_deg": (-5.0, 3.0),
    "breath_hz": (0.15, 0.45),
    "breath_deg": (0.3, 2.0),
}

#: How the lifter sets up, pulls, rests and leaves (fields of LiftHabits).
HABIT_RANGES: dict[str, Range] = {
    "hip_bottom_fraction": (0.45, 0.8),
    "hips_back_m": (0.03, 0.25),
    "peak_fraction": (0.05, 0.45),
    "lockout_forward_m": (-0.01, 0.05),
    "pull_lean_deg": (-4.0, 4.0),
    "pull_twist_deg": (-5.0, 5.0),
    "concentric_base_s": (0.5, 1.2),
    "grind_max_s": (3.0, 6.0),
    "eccentric_s": (0.5, 2.5),
    "lockout_hold_max_s": (0.05, 1.5),
    "pause_max_s": (0.3, 4.0),
    "fidget": (0.5, 3.0),
    "sit_lean_deg": (20.0, 60.0),
    "stand_up_s": (0.7, 2.5),
    "walk_off_p": (0.0, 1.0),
    "pickup_p": (0.0, 0.6),
}

#: How each sensor is strapped on (fields of Mount; ``wobble_*`` only on a loose strap).
MOUNT_RANGES: dict[str, Range] = {
    "spin_deg": (-180.0, 180.0),
    "tilt_deg": (0.0, 20.0),
    "tilt_axis_deg": (0.0, 360.0),
    "wobble_hz": (4.0, 12.0),
    "wobble_damping": (0.1, 0.5),
    "wobble_deg_per_mps2": (0.1, 0.8),
}

#: Link of each sensor (fields of SensorSpec).
LINK_RANGES: dict[str, Range] = {
    "clock_ppm": (-60.0, 60.0),
    "drop_rate": (0.0, 0.01),
    "duplicate_rate": (0.0, 0.005),
    "start_delay_s": (0.0, 1.0),
    "burst_ms": (7.5, 50.0),
}

#: Chances of the discrete choices of a wide session.
P_DUAL = 0.5
P_LUMBAR_WHEN_SINGLE = 0.8
P_SUMO = 0.3
P_CALIBRATION = 0.25
P_FACE_OUT = 0.8
P_LOOSE_STRAP = 0.3
RECORDING_STARTS: dict[RecordingStart, float] = {
    "before": 0.3,
    "at_bar": 0.3,
    "bent_over": 0.25,
    "mid_set": 0.15,
}


def _draw(rng: np.random.Generator, ranges: dict[str, Range], name: str) -> float:
    """One parameter, uniform in its documented range."""
    low, high = ranges[name]
    return float(rng.uniform(low, high))


def wide_lifter(rng: np.random.Generator) -> Lifter:
    """A lifter from anywhere in LIFTER_RANGES, with habits from HABIT_RANGES."""
    body = {name: _draw(rng, LIFTER_RANGES, name) for name in LIFTER_RANGES}
    habits = {name: _draw(rng, HABIT_RANGES, name) for name in HABIT_RANGES}
    return Lifter(**body, habits=LiftHabits(**habits))


def wide_spec(seed: int, rest_s: Range = (60.0, 240.0)) -> SessionSpec:
    """A session from the wide population: any body, habits, device, strap and start."""
    rng = np.random.default_rng([seed, 7])
    if rng.random() < P_DUAL:
        roles: tuple[str, ...] = ("upper", "lower")
    else:
        roles = ("lumbar",) if rng.random() < P_LUMBAR_WHEN_SINGLE else ("upper",)
    device = DEVICES[str(rng.choice(sorted(DEVICES)))]
    imu = IMUS[str(rng.choice(device.imus))]
    rate_hz = float(rng.choice(device.rates_hz))
    burst_ms = _draw(rng, LINK_RANGES, "burst_ms") if device.timing == "arrival" else 0.0
    sensors = {}
    for index, role in enumerate(roles):
        sensors[role] = SensorSpec(
            mount=_wide_mount(rng),
            rate_hz=rate_hz,
            clock_ppm=_draw(rng, LINK_RANGES, "clock_ppm"),
            jitter_ms=float(rng.uniform(*device.jitter_ms)),
            burst_ms=burst_ms,
            samples_per_packet=int(rng.integers(*device.samples_per_packet, endpoint=True)),
            drop_rate=_draw(rng, LINK_RANGES, "drop_rate"),
            duplicate_rate=_draw(rng, LINK_RANGES, "duplicate_rate"),
            start_delay_s=index * _draw(rng, LINK_RANGES, "start_delay_s"),
            errors=draw_errors(imu, device, rate_hz, rng),
            device=device.profile,
            imu=imu.name,
        )
    n_sets = int(rng.integers(1, 6))
    sets = tuple(random_set(rng, first=i == 0) for i in range(n_sets))
    gaps = tuple(random_gap(rng, n_sets, roles) for _ in range(int(rng.integers(0, 3))))
    starts = list(RECORDING_STARTS)
    start: RecordingStart = starts[int(rng.choice(len(starts), p=list(RECORDING_STARTS.values())))]
    doubled_s = float(rng.uniform(1.0, 5.0)) if rng.random() < 0.3 else 0.0
    lifter = wide_lifter(np.random.default_rng([seed, 8]))
    return SessionSpec(
        seed=seed,
        sensors={role: replace(s, reconnect_duplicates_s=doubled_s) for role, s in sensors.items()},
        sets=sets,
        stance="sumo" if rng.random() < P_SUMO else "conventional",
        include_calibration=bool(rng.random() < P_CALIBRATION),
        calibration_s=float(rng.uniform(3.0, 6.0)),
        rest_s=rest_s,
        gaps=gaps,
        # Breathing moves the peaks off their keyframes by up to its amplitude.
        threshold_margin_deg=2.0 + lifter.breath_deg,
        lifter=lifter,
        recording_start=start,
        population="wide",
    )


def _wide_mount(rng: np.random.Generator) -> Mount:
    """Strapped on at any angle; a loose strap rocks on the soft tissue."""
    loose = rng.random() < P_LOOSE_STRAP
    return Mount(
        face_out=bool(rng.random() < P_FACE_OUT),
        spin_deg=_draw(rng, MOUNT_RANGES, "spin_deg"),
        tilt_deg=_draw(rng, MOUNT_RANGES, "tilt_deg"),
        tilt_axis_deg=_draw(rng, MOUNT_RANGES, "tilt_axis_deg"),
        wobble_hz=_draw(rng, MOUNT_RANGES, "wobble_hz") if loose else 0.0,
        wobble_damping=_draw(rng, MOUNT_RANGES, "wobble_damping") if loose else 0.0,
        wobble_deg_per_mps2=_draw(rng, MOUNT_RANGES, "wobble_deg_per_mps2") if loose else 0.0,
    )


#: Population name -> spec drawn from a seed and a rest range.
POPULATIONS: dict[str, Callable[[int, Range], SessionSpec]] = {
    "classic": random_spec,
    "wide": wide_spec,
}
