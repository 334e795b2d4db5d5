"""Ground truth (``imu-truth/1``, the shape of contract 2) computed from the body model.

Angles are evaluated on a 1 kHz grid from the body model itself, never from the synthetic
sensor data, so the truth carries no sensor or filter error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sensor.samples import FloatArray
from sensor.sim.body import Body
from sensor.sim.keyframes import RepEvents, Script
from sensor.sim.spec import ROLE_PLACEMENT, ROUNDED_LUMBAR_DEG, SensorSpec, SessionSpec

#: Resolution of the truth angle traces, s.
TRUTH_STEP_S = 1e-3


def _grid(start_s: float, end_s: float) -> FloatArray:
    """Times from start to end inclusive at the truth resolution."""
    n = max(round((end_s - start_s) / TRUTH_STEP_S), 1)
    return np.linspace(start_s, end_s, n + 1)


def truth_angle_deg(body: Body, t_s: FloatArray, level: float | None) -> FloatArray:
    """Reported angle: lumbar flexion (dual, ``level`` None) or segment inclination."""
    if level is None:
        return np.degrees(body.angles(t_s).lumbar)
    return body.truth_angle_deg(t_s, level)


def _rep_truth(
    rep: RepEvents, body: Body, level: float | None, threshold_deg: float
) -> dict[str, Any]:
    """One truth rep with its peak angle, alert flag and how it was lifted."""
    t = _grid(rep.start_s, rep.end_s)
    peak = float(truth_angle_deg(body, t, level).max())
    lumbar_peak = float(np.degrees(body.angles(t).lumbar).max())
    return {
        "start": round(rep.start_s, 3),
        "lockout": round(rep.lockout_s, 3),
        "end": round(rep.end_s, 3),
        "peak_flexion_deg": round(peak, 2),
        "flexion_alert": peak > threshold_deg,
        "style": rep.style,
        "rounded": lumbar_peak >= ROUNDED_LUMBAR_DEG,
        "touch_and_go": rep.touch_and_go,
        "dropped": rep.dropped,
        "grinding": rep.grinding,
        "concentric_s": round(rep.concentric_s, 3),
        "eccentric_s": None if rep.eccentric_s is None else round(rep.eccentric_s, 3),
        "peak_lumbar_flexion_deg": round(lumbar_peak, 2),
    }


def _flexion_events(
    script: Script, body: Body, level: float | None, threshold_deg: float
) -> list[dict[str, float]]:
    """Intervals inside reps (touch-and-go reps join up) where the angle is above threshold."""
    spans: list[list[float]] = []
    for reps in script.sets:
        for rep in reps:
            if spans and rep.start_s <= spans[-1][1] + 1e-9:
                spans[-1][1] = rep.end_s
            else:
                spans.append([rep.start_s, rep.end_s])
    events = []
    for start_s, end_s in spans:
        t = _grid(start_s, end_s)
        angle = truth_angle_deg(body, t, level)
        above = np.concatenate(([False], angle > threshold_deg, [False]))
        edges = np.flatnonzero(np.diff(above.astype(np.int8)))
        for first, stop in zip(edges[::2], edges[1::2], strict=True):
            events.append(
                {
                    "start": round(float(t[first]), 3),
                    "end": round(float(t[stop - 1]), 3),
                    "peak_deg": round(float(angle[first:stop].max()), 2),
                }
            )
    return events


def build_truth(
    spec: SessionSpec, script: Script, body: Body, threshold_deg: float
) -> dict[str, Any]:
    """The whole truth document for one simulated session."""
    level = spec.truth_level
    sets = []
    for reps in script.sets:
        truth_reps = [_rep_truth(rep, body, level, threshold_deg) for rep in reps]
        sets.append(
            {"start": truth_reps[0]["start"], "end": truth_reps[-1]["end"], "reps": truth_reps}
        )
    calibration = (
        None
        if script.calibration is None
        else {"start": round(script.calibration[0], 3), "end": round(script.calibration[1], 3)}
    )
    return {
        "format": "imu-truth/1",
        "mode": spec.mode,
        "threshold_deg": threshold_deg,
        "sets": sets,
        "flexion_events": _flexion_events(script, body, level, threshold_deg),
        "calibration": calibration,
        "activities": [
            {"kind": a.kind, "start": round(a.start_s, 3), "end": round(a.end_s, 3)}
            for a in script.activities
        ],
        "sensors": {role: _sensor_truth(role, sensor) for role, sensor in spec.sensors.items()},
        "simulator": _simulator_truth(spec, script),
    }


def _sensor_truth(role: str, sensor: SensorSpec) -> dict[str, Any]:
    """Where and how a sensor was worn; which device it stands for, when it is one."""
    out: dict[str, Any] = {
        "placement": ROLE_PLACEMENT[role],
        "mount": sensor.mount.describe(),
        "rate_hz": sensor.rate_hz,
    }
    if sensor.device:
        out |= {"device": sensor.device, "imu": sensor.imu}
    return out


def _simulator_truth(spec: SessionSpec, script: Script) -> dict[str, Any]:
    """Seed and length; the population and recording start when not the classic ones."""
    out: dict[str, Any] = {"seed": spec.seed, "duration_s": round(script.duration_s, 3)}
    if spec.population != "classic":
        out |= {"population": spec.population, "recording_start": spec.recording_start}
    return out


def trimmed_truth(truth: dict[str, Any], from_s: float) -> dict[str, Any]:
    """The truth of a recording that begins at ``from_s``: reps that started earlier are not
    in it, nor is anything that ended before it; intervals it cuts start at ``from_s``."""
    if from_s <= 0.0:
        return truth
    sets = []
    for lift_set in truth["sets"]:
        reps = [rep for rep in lift_set["reps"] if rep["start"] >= from_s]
        if reps:
            sets.append({"start": reps[0]["start"], "end": reps[-1]["end"], "reps": reps})
    return truth | {
        "sets": sets,
        "flexion_events": [e for e in truth["flexion_events"] if e["start"] >= from_s],
        "calibration": None
        if truth["calibration"] is None or truth["calibration"]["start"] < from_s
        else truth["calibration"],
        "activities": [
            a | {"start": max(a["start"], round(from_s, 3))}
            for a in truth["activities"]
            if a["end"] > from_s
        ],
    }
