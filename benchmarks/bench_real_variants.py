"""Real recordings changed the ways the next lifter's data may differ, scored like evaluate.

The real recordings in ../shared/real are few: two lifters with one strap each, ten adults
with one waist device. This command perturbs every scored recording the ways a new lifter
or a new strap differs and scores each variant against the recording's own count-only truth
with ``backspotter evaluate``'s targets (``processing/offline/real_targets.py``):

- spun 90, 180 or 270 deg about the sensor's face normal, or strapped face in: the same
  back with the sensor strapped at another angle (the counting signal reads only the face's
  tilt, so these should change nothing);
- every 8th sample of a 200 Hz recording (SisFall): a 25 Hz sensor, the slowest rate the
  detector is asked to handle, without an anti-aliasing filter (a cheap sensor's worst case);
- time stretched 0.6, 0.8, 1.3 or 1.7 times: a quicker or slower mover. The orientation
  path is kept (angular rates scaled by 1/stretch) and the accelerometer's part beyond
  gravity (gravity taken from the pipeline's own orientation filter) by 1/stretch^2, so
  climb speeds scale as a slower movement's would;
- swinging 0.8 or 0.7 times as far: a lifter whose trunk moves less (the issue names
  20-30 deg). Every sample's "up" (from the pipeline's own orientation filter) is turned
  back towards the recording's first posture to that share of its angle from it, the
  accelerometer's part beyond gravity turned with it and scaled, and the angular rates
  scaled;
- paused 3 s at the top: a lifter who takes a breath standing between reps (the simulator's
  lockout holds last at most 1.5 s). After every lockout the detector finds as recorded,
  the stillest 0.5 s of the 1.5 s after it is repeated for 3 s, its gyroscope's mean taken
  out (one-sensor recordings only);
- read by a worse sensor: one unit of a supported device's chip, its errors drawn once
  within that chip's datasheet tolerances (``sensor/sim/devices.py``: offsets, scale and
  cross-axis errors, noise, bias walk, warm-up) and added to what the real sensor read. The
  Movesense's LSM6DS3 (gyroscope offset up to 10 deg/s, no start-up calibration) and the
  WitMotion's MPU-6050 (accelerometer offset up to 80 mg, 3% scale errors) are the worst.

Prints the targets met per variant, then the recordings each variant gets wrong that the
recording as recorded gets right; exits 0 either way, 2 without the folder. Nothing is
written to disk.

    .venv/bin/python benchmarks/bench_real_variants.py [DIR]   # DIR: ../shared/real
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from processing.detect.orientation import OrientationFilter
from processing.detect.pipeline import PipelineConfig
from processing.offline.analysis import analyze_recording
from processing.offline.count_evaluation import CountScore, is_count_only, score_count
from processing.offline.real_targets import real_targets
from processing.offline.swing import sensor_swing_deg
from sensor.recording import Recording, read_recording, read_truth
from sensor.samples import GRAVITY_MPS2, FloatArray, SampleBatch
from sensor.sim.devices import read_by

#: Where the real recordings live by default: beside the checkout, never inside it.
REAL = Path(__file__).resolve().parents[2] / "shared" / "real"
#: Keep every this many samples of a recording sent at least this fast, in Hz...
DECIMATE_BY = 8
#: ...so that 200 Hz becomes 25 Hz.
DECIMATE_FROM_HZ = 150.0
#: The posture a smaller swing is scaled about: the mean over the recording's first this
#: many seconds.
FIRST_POSTURE_S = 0.3
#: A pause at the top repeats the stillest this long...
PAUSE_SOURCE_S = 0.5
#: ...of this long after the lockout.
PAUSE_SEARCH_S = 1.5
#: Seed of the worse sensors' units: each variant's unit reads every recording.
UNIT_SEED = 20261207

Variant = Callable[[SampleBatch], SampleBatch | None]


def spun(angle_deg: float) -> Variant:
    """The sensor turned by ``angle_deg`` about its face normal (``z``)."""
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    return rotated(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]))


def rotated(matrix: FloatArray) -> Variant:
    """Both vectors of every sample expressed in a frame turned by ``matrix``."""

    def apply(batch: SampleBatch) -> SampleBatch:
        """The batch in the turned frame."""
        return replace(
            batch, accel_mps2=batch.accel_mps2 @ matrix.T, gyro_rps=batch.gyro_rps @ matrix.T
        )

    return apply


def decimated(batch: SampleBatch) -> SampleBatch | None:
    """Every ``DECIMATE_BY``-th sample of a fast recording; None for a slow one (no variant)."""
    rate_hz = 1.0 / float(np.median(np.diff(batch.t_s)))
    if rate_hz < DECIMATE_FROM_HZ:
        return None
    keep = slice(None, None, DECIMATE_BY)
    return replace(
        batch, t_s=batch.t_s[keep], accel_mps2=batch.accel_mps2[keep], gyro_rps=batch.gyro_rps[keep]
    )


def stretched(factor: float) -> Variant:
    """The movement ``factor`` times as long: the same orientations, turned and accelerated
    more slowly (``factor`` > 1) or faster."""

    def apply(batch: SampleBatch) -> SampleBatch:
        """The batch with its time stretched and its rates and accelerations scaled."""
        gravity_mps2, moving_mps2 = gravity_and_movement(batch)
        return replace(
            batch,
            t_s=batch.t_s * factor,
            accel_mps2=gravity_mps2 + moving_mps2 / factor**2,
            gyro_rps=batch.gyro_rps / factor,
        )

    return apply


def gravity_and_movement(batch: SampleBatch) -> tuple[FloatArray, FloatArray]:
    """The accelerometer's readings split into gravity, along the "up" the pipeline's own
    orientation filter finds, and the rest, the movement's own acceleration (m/s^2)."""
    gravity_mps2 = GRAVITY_MPS2 * OrientationFilter().update(batch).up
    return gravity_mps2, batch.accel_mps2 - gravity_mps2


def smaller_swing(factor: float) -> Variant:
    """Every orientation ``factor`` of its angle from the recording's first posture (the
    mean "up" of its first ``FIRST_POSTURE_S``), about the same axis."""

    def apply(batch: SampleBatch) -> SampleBatch:
        """The batch with its tilts, movements and rates scaled."""
        gravity_mps2, moving_mps2 = gravity_and_movement(batch)
        up = gravity_mps2 / GRAVITY_MPS2
        first = batch.t_s < batch.t_s[0] + FIRST_POSTURE_S
        start = up[first].mean(axis=0)
        start /= np.linalg.norm(start)
        axis = np.cross(start, up)
        sin_angle = np.linalg.norm(axis, axis=1)
        angle = np.arctan2(sin_angle, up @ start)
        turn = turned_by(axis / np.maximum(sin_angle, 1e-12)[:, None], (factor - 1.0) * angle)
        accel_mps2 = np.einsum("nij,nj->ni", turn, gravity_mps2 + factor * moving_mps2)
        return replace(batch, accel_mps2=accel_mps2, gyro_rps=batch.gyro_rps * factor)

    return apply


def turned_by(axes: FloatArray, angles_rad: FloatArray) -> FloatArray:
    """Rotation matrices about unit ``axes`` by ``angles_rad`` (Rodrigues' formula)."""
    cross = np.zeros((len(angles_rad), 3, 3))
    x, y, z = axes.T
    cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -z, y, -x
    cross[:, 1, 0], cross[:, 2, 0], cross[:, 2, 1] = z, -y, x
    sin, cos = np.sin(angles_rad)[:, None, None], np.cos(angles_rad)[:, None, None]
    return np.asarray(np.eye(3) + sin * cross + (1.0 - cos) * (cross @ cross), dtype=np.float64)


def paused_at_top(pause_s: float) -> Variant:
    """A still pause of ``pause_s`` after every lockout of a one-sensor recording, as the
    detector finds them in the recording as recorded (None for two sensors)."""

    def apply(batch: SampleBatch) -> SampleBatch | None:
        """The batch with the pauses spliced in and everything after them later."""
        if batch.role != "lumbar":
            return None
        result = analyze_recording(Recording({batch.role: batch}), PipelineConfig())
        lockouts_s = [rep.lockout for lift_set in result.sets for rep in lift_set.reps]
        return with_pauses(batch, lockouts_s, pause_s)

    return apply


def with_pauses(batch: SampleBatch, lockouts_s: Sequence[float], pause_s: float) -> SampleBatch:
    """``batch`` with ``pause_s`` of standing still spliced in after each lockout: the
    stillest ``PAUSE_SOURCE_S`` of the ``PAUSE_SEARCH_S`` after it, repeated."""
    period_s = float(np.median(np.diff(batch.t_s)))
    width = max(round(PAUSE_SOURCE_S / period_s), 3)
    pieces: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    start, shift_s = 0, 0.0
    for lockout_s in lockouts_s:
        after = np.flatnonzero((batch.t_s >= lockout_s) & (batch.t_s < lockout_s + PAUSE_SEARCH_S))
        if after.size <= width:
            continue
        turning = np.convolve(np.linalg.norm(batch.gyro_rps[after], axis=1), np.ones(width))
        still = after[int(np.argmin(turning[width - 1 : after.size])) :][:width]
        cut = int(still[-1]) + 1
        kept = slice(start, cut)
        pieces.append((batch.t_s[kept] + shift_s, batch.accel_mps2[kept], batch.gyro_rps[kept]))
        repeat = np.resize(still, round(pause_s / period_s))
        t_s = batch.t_s[cut - 1] + shift_s + period_s * np.arange(1, repeat.size + 1)
        gyro_rps = batch.gyro_rps[repeat] - batch.gyro_rps[still].mean(axis=0)
        pieces.append((t_s, batch.accel_mps2[repeat], gyro_rps))
        start, shift_s = cut, shift_s + repeat.size * period_s
    pieces.append((batch.t_s[start:] + shift_s, batch.accel_mps2[start:], batch.gyro_rps[start:]))
    t_s, accel_mps2, gyro_rps = (np.concatenate(column) for column in zip(*pieces, strict=True))
    return replace(batch, t_s=t_s, accel_mps2=accel_mps2, gyro_rps=gyro_rps)


def worse_sensor(device: str, chip: str, unit: int) -> Variant:
    """What unit number ``unit`` of ``chip`` in ``device`` (sensor/sim/devices.py) would
    have read: that unit's datasheet errors added to the real sensor's readings."""

    def apply(batch: SampleBatch) -> SampleBatch:
        """The batch with the unit's errors (drawn from ``UNIT_SEED`` and ``unit``) added."""
        return read_by(batch, device, chip, np.random.default_rng([UNIT_SEED, unit]))

    return apply


VARIANTS: dict[str, Variant] = {
    "as recorded": lambda batch: batch,
    "spun 90 deg": spun(90.0),
    "spun 180 deg": spun(180.0),
    "spun 270 deg": spun(270.0),
    "face in": rotated(np.diag([1.0, -1.0, -1.0])),
    "25 Hz (SisFall)": decimated,
    "0.6x as long": stretched(0.6),
    "0.8x as long": stretched(0.8),
    "1.3x as long": stretched(1.3),
    "1.7x as long": stretched(1.7),
    "swinging 0.8x as far": smaller_swing(0.8),
    "swinging 0.7x as far": smaller_swing(0.7),
    "paused 3 s at the top": paused_at_top(3.0),
    "+ LSM6DS3 errors (Movesense)": worse_sensor("movesense", "LSM6DS3", 1),
    "+ MPU-6050 errors (WitMotion)": worse_sensor("witmotion", "MPU-6050", 2),
}


def varied(recording: Recording, variant: Variant) -> Recording | None:
    """The recording with every sensor's batch changed by ``variant`` (None: not applicable)."""
    sensors = {}
    for role, batch in recording.sensors.items():
        changed = variant(batch)
        if changed is None:
            return None
        sensors[role] = changed
    return replace(recording, sensors=sensors)


def score_variants(path: Path, root: Path) -> list[tuple[str, CountScore]]:
    """Every applicable variant of one recording under ``root``, analyzed and scored."""
    truth = read_truth(path)
    if truth is None or not is_count_only(truth):
        return []
    recording = read_recording(path)
    name = str(path.relative_to(root))
    scores = []
    for label, variant in VARIANTS.items():
        changed = varied(recording, variant)
        if changed is None:
            continue
        result = analyze_recording(changed, PipelineConfig())
        swing_deg = sensor_swing_deg(changed)
        scores.append((label, score_count(name, truth, result.to_json(), swing_deg)))
    return scores


def table(scores: Sequence[tuple[str, CountScore]]) -> Table:
    """One row per variant: each target's met/items."""
    labels = [label for label in VARIANTS if any(lab == label for lab, _ in scores)]
    out = Table(title="Real recordings, varied: targets met / items")
    out.add_column("variant")
    for target in real_targets([score for lab, score in scores if lab == labels[0]]):
        out.add_column(
            target.name + ("" if target.required else " (not required)"), justify="right"
        )
    for label in labels:
        targets = real_targets([score for lab, score in scores if lab == label])
        out.add_row(label, *(f"{len(t.met)}/{len(t.items)}" for t in targets))
    return out


def new_misses(scores: Sequence[tuple[str, CountScore]]) -> dict[str, list[str]]:
    """Per variant, what misses a required target (a recording, or a lifter for the form
    order) that meets it as recorded, with the reps found."""
    found = {(label, score.name): score.reps_found for label, score in scores}
    missed_as_recorded = set(missed_items([s for lab, s in scores if lab == "as recorded"]))
    misses: dict[str, list[str]] = {}
    for label in VARIANTS:
        items = missed_items([score for lab, score in scores if lab == label])
        for item in sorted(set(items) - missed_as_recorded):
            reps = found.get((label, item))
            suffix = "" if reps is None else f" ({reps})"
            misses.setdefault(label, []).append(Path(item).name + suffix)
    return misses


def missed_items(scores: Sequence[CountScore]) -> list[str]:
    """The items (recordings or lifters) that miss a required target."""
    return [
        item
        for target in real_targets(scores)
        if target.required
        for item in target.items
        if item not in target.met
    ]


def main(argv: Sequence[str]) -> int:
    """Score every variant of every real recording in ``argv[0]`` (default ``REAL``)."""
    root = Path(argv[0]) if argv else REAL
    if not root.is_dir():
        print(f"bench_real_variants: {root} is absent (it is never copied into the repository)")
        return 2
    paths = sorted(p for p in root.rglob("*") if p.name.endswith((".csv", ".csv.gz")))
    with Pool() as pool:
        per_file = pool.starmap(score_variants, [(path, root) for path in paths])
    scores = [score for scored in per_file for score in scored]
    console = Console(width=160)
    console.print(table(scores))
    for label, names in new_misses(scores).items():
        console.print(f"{label}: wrong where right as recorded: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
