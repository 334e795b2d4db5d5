"""What a simulated session contains: the lifter's sets, the sensors and how they are worn.

Everything left random (tempos, exact angles, noise) is drawn from ``SessionSpec.seed``, so a
spec fully determines its session. :func:`random_spec` draws varied but realistic sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from sensor.sim.body import PLACEMENT_LEVEL, Lifter, random_lifter
from sensor.sim.imu import Mount, SensorErrors

BackShape = Literal["neutral", "rounded", "fatigue"]
SetEnding = Literal["lower", "drop"]
Stance = Literal["conventional", "sumo"]
#: ``before`` = from the start of the script; ``at_bar`` = as the lifter sets up for the first
#: set; ``bent_over`` = gripping the bar just before the first rep; ``mid_set`` = with the bar
#: on the floor between two reps of the first set (the reps before are not recorded).
RecordingStart = Literal["before", "at_bar", "bent_over", "mid_set"]

#: Where each role sits on the spine (DESIGN.md, measurement model).
ROLE_PLACEMENT = {"upper": "L1", "lower": "S1", "lumbar": "L3"}
#: Lumbar flexion from which the truth calls a rep rounded, deg.
ROUNDED_LUMBAR_DEG = 30.0
#: Default alert threshold for two sensors (lumbar flexion), deg.
DUAL_THRESHOLD_DEG = 30.0


@dataclass(frozen=True)
class SetSpec:
    """One set of deadlifts and what happens just before it."""

    reps: int = 5  # repetitions, 1..10
    load: float = 0.75  # fraction of the lifter's one-repetition maximum, 0.5..1.0
    touch_and_go: bool = False  # reps rebound off the floor instead of pausing (dead stop)
    back: BackShape = "neutral"  # "fatigue" = rounding grows from neutral to rounded
    ending: SetEnding = "lower"  # "drop" = the bar is released at the last lockout
    grind_reps: int = 0  # how many of the last reps are slow grinders (2-5 s concentric)
    plates_before: bool = False  # plates are picked up and slid on before the set
    sit_before: bool = True  # the lifter sits on a bench during the rest before the set


@dataclass(frozen=True)
class SensorSpec:
    """One sensor: where it sits, how it is strapped on and how its data reach the host."""

    mount: Mount = field(default_factory=Mount)
    rate_hz: float = 100.0  # nominal sample rate, Hz
    clock_ppm: float = 0.0  # sensor clock error, parts per million (positive = fast clock)
    jitter_ms: float = 0.0  # standard deviation of timestamp noise, ms
    burst_ms: float = 0.0  # BLE connection interval; > 0 stamps samples on arrival in bursts, ms
    samples_per_packet: int = 1  # samples lost together when a packet drops
    drop_rate: float = 0.0  # fraction of packets lost, 0..1
    duplicate_rate: float = 0.0  # fraction of rows delivered twice, 0..1
    start_delay_s: float = 0.0  # the sensor starts streaming this long after the session, s
    reconnect_duplicates_s: float = 0.0  # after an outage every row arrives twice this long, s
    ideal: bool = False  # True = no noise, bias, scale error, quantisation or clock error
    errors: SensorErrors | None = None  # None = drawn by SensorErrors.random (classic)
    device: str = ""  # device profile it stands for (wide population), for the truth file
    imu: str = ""  # chip inside that device


@dataclass(frozen=True)
class Gap:
    """A link outage: no samples from the sensor(s) for ``duration_s`` seconds."""

    duration_s: float
    at_s: float | None = None  # start, in session seconds
    in_set: int | None = None  # or: start mid-concentric of the middle rep of this set (0-based)
    role: str | None = None  # None = every sensor


@dataclass(frozen=True)
class SessionSpec:
    """A whole simulated training session (units in the field names or comments)."""

    seed: int  # drives every random draw not fixed here
    sensors: dict[str, SensorSpec] = field(
        default_factory=lambda: {"upper": SensorSpec(), "lower": SensorSpec()}
    )  # role -> sensor; {"upper", "lower"} = dual mode, one role = single mode
    sets: tuple[SetSpec, ...] = (SetSpec(), SetSpec(), SetSpec())
    stance: Stance = "conventional"  # sumo keeps the trunk 5-10 deg more upright
    include_calibration: bool = True  # >= 3 s standing still and upright at the start
    calibration_s: float = 4.0  # length of the calibration stance, s
    rest_s: tuple[float, float] = (60.0, 240.0)  # rest between sets drawn from this range, s
    threshold_deg: float | None = None  # alert threshold; None = the mode's default
    threshold_margin_deg: float = 2.0  # no rep peaks closer than this to the threshold, deg
    gaps: tuple[Gap, ...] = ()
    lifter: Lifter | None = None  # None = drawn from the seed
    recording_start: RecordingStart = "before"  # where in the session the recording begins
    population: str = "classic"  # which generator drew the spec, for the truth file

    def __post_init__(self) -> None:
        """Reject role sets that are neither single nor dual wear."""
        roles = set(self.sensors)
        if roles != {"upper", "lower"} and not (len(roles) == 1 and roles <= {"lumbar", "upper"}):
            raise ValueError(f"sensors must be upper+lower or one of lumbar/upper, not {roles}")

    @property
    def mode(self) -> Literal["single", "dual"]:
        """``dual`` with upper and lower sensors, else ``single``."""
        return "dual" if len(self.sensors) == 2 else "single"

    @property
    def truth_level(self) -> float | None:
        """Spine level whose inclination is the single-mode angle (None in dual mode)."""
        if self.mode == "dual":
            return None
        (role,) = self.sensors
        return PLACEMENT_LEVEL[ROLE_PLACEMENT[role]]


def resolved_lifter(spec: SessionSpec) -> Lifter:
    """The spec's lifter, or the one its seed draws."""
    if spec.lifter is not None:
        return spec.lifter
    return random_lifter(np.random.default_rng([spec.seed, 1]))


def resolved_threshold_deg(spec: SessionSpec, lifter: Lifter) -> float:
    """The spec's threshold, else 30 deg of lumbar flexion, or for one sensor a few degrees
    above the segment's inclination at the bottom of the lifter's neutral reps."""
    if spec.threshold_deg is not None:
        return spec.threshold_deg
    level = spec.truth_level
    if level is None:
        return DUAL_THRESHOLD_DEG
    trunk = lifter.trunk_bottom_deg - (7.0 if spec.stance == "sumo" else 0.0)
    return round(trunk - (1.0 - level) * lifter.neutral_flexion_deg + 3.0, 1)


def random_spec(seed: int, rest_s: tuple[float, float] = (60.0, 240.0)) -> SessionSpec:
    """A varied, realistic session: wear, mounts, rates, sets, loads and link quality."""
    rng = np.random.default_rng([seed, 2])
    if rng.random() < 0.6:
        roles: tuple[str, ...] = ("upper", "lower")
    else:
        roles = ("lumbar",) if rng.random() < 0.8 else ("upper",)
    rate_hz = float(rng.choice([25.0, 50.0, 52.0, 100.0, 104.0, 200.0]))
    # Both sensors are the same model on the same host: bursty arrival stamps affect both.
    burst_ms = float(rng.choice([7.5, 15.0, 30.0])) if rng.random() < 0.3 else 0.0
    sensors = {}
    for index, role in enumerate(roles):
        own_rate = rate_hz if rng.random() < 0.8 else float(rng.choice([50.0, 100.0, 200.0]))
        delay_s = index * rng.uniform(0, 1.0)
        sensors[role] = _random_sensor(rng, own_rate, burst_ms if own_rate <= 104 else 0.0, delay_s)
    n_sets = int(rng.integers(1, 6))
    sets = tuple(random_set(rng, first=i == 0) for i in range(n_sets))
    gaps = tuple(random_gap(rng, n_sets, roles) for _ in range(int(rng.integers(0, 3))))
    spec = SessionSpec(
        seed=seed,
        sensors=sensors,
        sets=sets,
        stance="sumo" if rng.random() < 0.3 else "conventional",
        include_calibration=bool(rng.random() < 0.75),
        calibration_s=float(rng.uniform(3.0, 6.0)),
        rest_s=rest_s,
        gaps=gaps,
    )
    # BlueZ may fire every notification callback twice after a reconnect (bleak issue 2002).
    doubled_s = float(rng.uniform(1.0, 5.0)) if rng.random() < 0.3 else 0.0
    sensors = {role: replace(s, reconnect_duplicates_s=doubled_s) for role, s in sensors.items()}
    return replace(spec, sensors=sensors, lifter=resolved_lifter(spec))


def _random_sensor(
    rng: np.random.Generator, rate_hz: float, burst_ms: float, start_delay_s: float
) -> SensorSpec:
    """A sensor strapped on any way, with a realistic clock and link."""
    face_out = bool(rng.random() < 0.8)
    spin_deg = 180.0 if rng.random() < 0.2 else float(rng.uniform(-180.0, 180.0))
    return SensorSpec(
        mount=Mount(
            face_out=face_out,
            spin_deg=spin_deg,
            tilt_deg=float(rng.uniform(0.0, 10.0)),
            tilt_axis_deg=float(rng.uniform(0.0, 360.0)),
        ),
        rate_hz=rate_hz,
        clock_ppm=float(rng.uniform(-60.0, 60.0)),
        jitter_ms=float(rng.uniform(0.1, 2.0)),
        burst_ms=burst_ms,
        samples_per_packet=int(rng.integers(1, 4)),
        drop_rate=float(rng.uniform(0.0, 0.01)),
        duplicate_rate=float(rng.uniform(0.0, 0.005)),
        start_delay_s=float(start_delay_s),
    )


def random_gap(rng: np.random.Generator, n_sets: int, roles: tuple[str, ...]) -> Gap:
    """A short link outage, mid-set or anywhere, of one sensor or all."""
    duration_s = float(rng.uniform(0.3, 3.0))
    role = None if rng.random() < 0.5 else str(rng.choice(roles))
    if rng.random() < 0.5:
        return Gap(duration_s, in_set=int(rng.integers(0, n_sets)), role=role)
    return Gap(duration_s, at_s=float(rng.uniform(10.0, 120.0)), role=role)


def random_set(rng: np.random.Generator, first: bool) -> SetSpec:
    """One set: heavier sets have fewer reps and may end with grinders."""
    load = float(rng.uniform(0.55, 0.97))
    max_reps = int(np.clip(round(10 - 9 * (load - 0.55) / 0.42), 1, 10))
    reps = int(rng.integers(1, max_reps + 1))
    grind = int(rng.integers(1, 3)) if load > 0.82 and rng.random() < 0.6 else 0
    back: BackShape = rng.choice(["neutral", "fatigue", "rounded"], p=[0.45, 0.35, 0.2])
    ending: SetEnding = "drop" if rng.random() < 0.35 else "lower"
    return SetSpec(
        reps=reps,
        load=load,
        touch_and_go=bool(rng.random() < 0.4),
        back=back,
        ending=ending,
        grind_reps=min(grind, reps),
        plates_before=bool(rng.random() < (0.5 if first else 0.4)),
        sit_before=bool(rng.random() < 0.6),
    )
