"""Physical simulator of whole deadlift sessions with ground truth (``sim://?seed=7``).

A sagittal body model (:mod:`sensor.sim.body`) follows a session script
(:mod:`sensor.sim.script`): calibration stance, walking, sitting, plate handling, set-up
bends, touch-and-go and dead-stop reps, grinders, dropped bars and unloaded stand-ups. IMUs
on the back at the roles of docs/measurement.md (``upper`` at L1 and ``lower`` at S1, or
``lumbar`` at L3) measure it in whatever orientation they are strapped on
(:mod:`sensor.sim.imu`), and their samples reach the host through a drifting clock and a
lossy link (:mod:`sensor.sim.link`).
The truth (:mod:`sensor.sim.truth`) comes from the body model, never from the sensor data.

Use ``simulate_session(7)`` for a varied session drawn from a seed, or a
:class:`SessionSpec` for a chosen one; ``session.recording`` is what ``read_recording`` would
return for it and ``session.truth`` the ``imu-truth/1`` document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sensor.recording import Recording, iter_batches
from sensor.samples import FloatArray, SampleBatch
from sensor.sim.body import PLACEMENT_LEVEL, Body, Sway
from sensor.sim.imu import Mount, SensorErrors, apply_errors, ideal_readings
from sensor.sim.keyframes import AngleRule, Script
from sensor.sim.link import delivered_rows, sample_clock
from sensor.sim.script import build_script, recording_start_s
from sensor.sim.spec import (
    ROLE_PLACEMENT,
    Gap,
    SensorSpec,
    SessionSpec,
    SetSpec,
    random_spec,
    resolved_lifter,
    resolved_threshold_deg,
)
from sensor.sim.truth import build_truth, trimmed_truth, truth_angle_deg

__all__ = [
    "Gap",
    "Mount",
    "SensorSpec",
    "SessionSpec",
    "SetSpec",
    "SimulatedSession",
    "random_spec",
    "simulate_session",
    "stream_session",
]

#: Name of the simulator in recording metadata.
DEVICE_NAME = "backspotter simulator"
#: A sensor sends its first row this long after it starts streaming, in s (drawn uniformly
#: between the two).
FIRST_ROW_S = (0.02, 0.3)


@dataclass(frozen=True)
class SimulatedSession:
    """A simulated session: the recording a host would store, and what really happened."""

    spec: SessionSpec
    #: Per role, every row as the link delivered it, duplicated rows included.
    delivered: dict[str, SampleBatch]
    #: The same data as a reader returns it: duplicated rows dropped.
    recording: Recording
    #: The ``imu-truth/1`` document (see ``fixtures/README.md``).
    truth: dict[str, Any]
    #: The body model the sensors measured, for checks and plots.
    body: Body

    def truth_angle_deg(self, t_s: FloatArray) -> FloatArray:
        """The reported angle the truth is made of, at any times: lumbar flexion (dual) or the
        sensor segment's inclination (single), relative to the upright neutral stance."""
        return truth_angle_deg(self.body, t_s, self.spec.truth_level)


def simulate_session(spec_or_seed: SessionSpec | int) -> SimulatedSession:
    """Simulate a whole session; an integer seed draws a varied one with :func:`random_spec`."""
    spec = random_spec(spec_or_seed) if isinstance(spec_or_seed, int) else spec_or_seed
    lifter = resolved_lifter(spec)
    threshold_deg = resolved_threshold_deg(spec, lifter)
    level = spec.truth_level
    rule = AngleRule(
        pelvis_weight=0.0 if level is None else 1.0,
        lumbar_weight=1.0 if level is None else level,
        threshold_deg=threshold_deg,
        margin_deg=spec.threshold_margin_deg,
    )
    script = build_script(spec, lifter, rule, np.random.default_rng([spec.seed, 3]))
    body = Body(lifter, script.posture, Sway.random(np.random.default_rng([spec.seed, 4])))
    outages = _outages(spec, script)
    from_s = recording_start_s(spec.recording_start, script, np.random.default_rng([spec.seed, 6]))
    if from_s > 0.0:
        # Every sensor is already streaming at the moment the scenario names (the bar on
        # the floor mid-set, the lifter gripping it); otherwise a first row arriving after
        # the next pull began would cut from the truth a rep the sensors saw most of.
        latest_start_s = max(sensor.start_delay_s for sensor in spec.sensors.values())
        from_s = max(from_s - latest_start_s - FIRST_ROW_S[1], 0.0)
    delivered = {}
    for index, (role, sensor) in enumerate(spec.sensors.items()):
        rng = np.random.default_rng([spec.seed, 5, index])
        delivered[role] = _sensor_rows(
            body, role, sensor, (from_s, script.duration_s), outages[role], rng
        )
    if from_s > 0.0:
        # The truth counts a rep only when every sensor was already streaming at its start.
        from_s = max([from_s, *(float(b.t_s[0]) for b in delivered.values() if len(b))])
    meta = _meta(spec)
    return SimulatedSession(
        spec=spec,
        delivered=delivered,
        recording=Recording(
            {role: _drop_repeats(batch) for role, batch in delivered.items()},
            meta,
            dropped_duplicates=sum(_repeat_count(batch) for batch in delivered.values()),
        ),
        truth=trimmed_truth(build_truth(spec, script, body, threshold_deg), from_s),
        body=body,
    )


def stream_session(spec_or_seed: SessionSpec | int, batch_s: float = 0.1) -> Iterator[SampleBatch]:
    """The session as a live source delivers it: ``batch_s`` windows, sensors interleaved in
    time order, gaps and irregular timing in, duplicated rows out.

    Duplicates are dropped because every real source drops them before the pipeline sees
    them (the BLE time base by sequence number or content, ``read_recording`` by ``t``), so a
    simulated source that passed them on would test a pipeline input no sensor produces.
    """
    yield from iter_batches(simulate_session(spec_or_seed).recording, batch_s)


def _sensor_rows(
    body: Body,
    role: str,
    sensor: SensorSpec,
    span_s: tuple[float, float],
    outages: list[tuple[float, float]],
    rng: np.random.Generator,
) -> SampleBatch:
    """Everything one sensor delivers while the session is recorded (``span_s``)."""
    level = PLACEMENT_LEVEL[ROLE_PLACEMENT[role]]
    start_s = span_s[0] + sensor.start_delay_s + rng.uniform(*FIRST_ROW_S)
    end_s = span_s[1] - rng.uniform(0.0, 0.3)
    clock = sample_clock(sensor, start_s, end_s, rng)
    readings = ideal_readings(body, level, sensor.mount, clock.true_s)
    if not sensor.ideal:
        errors = SensorErrors.random(rng) if sensor.errors is None else sensor.errors
        readings = apply_errors(readings, clock.true_s, errors, rng)
    rows = delivered_rows(sensor, clock.true_s, outages, rng)
    return SampleBatch(
        role, clock.recorded_s[rows], readings.accel_mps2[rows], readings.gyro_rps[rows]
    )


def _outages(spec: SessionSpec, script: Script) -> dict[str, list[tuple[float, float]]]:
    """The spec's gaps as (start, end) session times per role."""
    outages: dict[str, list[tuple[float, float]]] = {role: [] for role in spec.sensors}
    for gap in spec.gaps:
        if gap.in_set is not None:
            if gap.in_set >= len(script.sets):
                continue
            reps = script.sets[gap.in_set]
            middle = reps[len(reps) // 2]
            start = middle.start_s + 0.3 * middle.concentric_s
        else:
            start = gap.at_s if gap.at_s is not None else 0.0
        for role in outages if gap.role is None else [gap.role]:
            if role in outages:
                outages[role].append((start, start + gap.duration_s))
    return outages


def _repeated(batch: SampleBatch) -> np.ndarray:
    """Mask of rows that repeat the previous row's time (a duplicated delivery)."""
    return np.concatenate(([False], np.diff(batch.t_s) == 0))


def _repeat_count(batch: SampleBatch) -> int:
    """How many duplicated rows a reader drops from ``batch``."""
    return int(_repeated(batch).sum())


def _drop_repeats(batch: SampleBatch) -> SampleBatch:
    """``batch`` without duplicated rows, as :func:`~sensor.recording.read_recording` gives."""
    keep = ~_repeated(batch)
    return SampleBatch(batch.role, batch.t_s[keep], batch.accel_mps2[keep], batch.gyro_rps[keep])


def _meta(spec: SessionSpec) -> dict[str, Any]:
    """Recording metadata: rate, placements and where the data came from."""
    rates = {sensor.rate_hz for sensor in spec.sensors.values()}
    first_rate = next(iter(spec.sensors.values())).rate_hz
    return {
        "format": "imu-recording/1",
        "sample_rate_hz": first_rate if len(rates) == 1 else max(rates),
        "sensors": {
            role: {"placement": ROLE_PLACEMENT[role], "sample_rate_hz": sensor.rate_hz}
            for role, sensor in spec.sensors.items()
        },
        "device": DEVICE_NAME,
        "simulator": {"seed": spec.seed},
    }
