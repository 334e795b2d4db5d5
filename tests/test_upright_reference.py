"""Where upright is: a calibration stance read off the accelerometer, and without one the
lifter's standing between sets rather than a lockout that leans. Expected peaks come from
the simulator's body model, never from the detector."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from processing.detect.motion import N_FEATURES, Feature
from processing.detect.pipeline import AnalysisResult, Pipeline, PipelineConfig
from processing.detect.standing import StandingPosture
from processing.offline.analysis import analyze_recording
from processing.wire.messages import EventStamper
from processing.wire.schemas import validate_event
from sensor.recording import iter_batches
from sensor.sim.body import random_lifter
from sensor.sim.imu import SensorErrors
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

THREE_SETS = tuple(SetSpec(reps=3, sit_before=False) for _ in range(3))
UPRIGHT = np.array([0.0, 0.0, 1.0])


def peak_errors_deg(spec: SessionSpec) -> tuple[AnalysisResult, list[list[float]]]:
    """The analysis of a simulated session and each set's rep peak errors against its truth."""
    session = simulate_session(spec)
    result = analyze_recording(session.recording, PipelineConfig(threshold_deg=30.0))
    assert [len(s.reps) for s in result.sets] == [len(s["reps"]) for s in session.truth["sets"]]
    errors = []
    for found, truth in zip(result.sets, session.truth["sets"], strict=True):
        pairs = zip(found.reps, truth["reps"], strict=True)
        errors.append([rep.peak_flexion_deg - t["peak_flexion_deg"] for rep, t in pairs])
    return result, errors


def leaning_lifter_session() -> SessionSpec:
    """Three sets, no stance, by a lifter who locks out 4 deg extended."""
    lifter = replace(
        random_lifter(np.random.default_rng(11)), lockout_lumbar_deg=-4.0, lockout_pelvis_deg=0.0
    )
    sensors = {"upper": SensorSpec(ideal=True), "lower": SensorSpec(ideal=True)}
    return SessionSpec(
        seed=11,
        sensors=sensors,
        sets=THREE_SETS,
        rest_s=(25.0, 30.0),
        include_calibration=False,
        lifter=lifter,
    )


def test_without_a_stance_reps_after_a_rest_count_from_standing_not_a_leaning_lockout() -> None:
    # This lifter locks out 4 deg extended: measured from their lockouts every peak reads
    # about 4 deg high. Standing around between sets is the upright the truth counts from.
    result, errors_deg = peak_errors_deg(leaning_lifter_session())
    assert result.calibration == "standing"
    after_a_rest = [e for set_errors in errors_deg[1:] for e in set_errors]
    assert np.max(np.abs(after_a_rest)) < 1.5, errors_deg


def test_every_event_of_a_session_that_finds_standing_matches_the_wire_schemas() -> None:
    recording = simulate_session(leaning_lifter_session()).recording
    pipeline = Pipeline(recording.roles, PipelineConfig(threshold_deg=30.0))
    events = [e for batch in iter_batches(recording, 1.0) for e in pipeline.feed(batch).events]
    events += pipeline.finish().events
    assert {"source": "standing"} in [e.data for e in events if e.type == "calibrated"]
    for payload in EventStamper("session").stamp(events, ts_ms=0):
        validate_event(payload)


def test_a_stance_is_read_off_the_accelerometer_before_the_gyroscope_bias_is_known() -> None:
    # 10 deg/s of gyroscope offset per axis: while its bias is still unknown, at power-on,
    # the orientation filter stood 5 deg off the stance, and every peak read 5-6 deg low.
    offset_rps = float(np.radians(10.0))
    errors = replace(SensorErrors.ideal(), gyro_bias_rps=(offset_rps, offset_rps, offset_rps))
    spec = SessionSpec(
        seed=11,
        sensors={"lumbar": SensorSpec(errors=errors)},
        sets=THREE_SETS[:1],
        include_calibration=True,
    )
    result, errors_deg = peak_errors_deg(spec)
    assert result.calibration == "stance"
    assert np.max(np.abs(errors_deg)) < 2.0, errors_deg


def standing() -> StandingPosture:
    """A standing tracker of one sensor at 50 Hz that keeps 10 s and knows it after 3 s."""
    return StandingPosture(
        ("lumbar",), 50.0, still_gyro_dps=8.0, near_deg=8.0, keep_s=10.0, enough_s=3.0
    )


def feed(tracker: StandingPosture, up: np.ndarray, gyro_dps: float, first_tick: int) -> int:
    """Give the tracker ``up`` (one row per tick) read at a constant angular speed; returns
    the tick after the last."""
    features = np.zeros((up.shape[0], N_FEATURES))
    features[:, Feature.GYRO_DPS] = gyro_dps
    index = np.arange(first_tick, first_tick + up.shape[0])
    tracker.add(index, {"lumbar": up}, {"lumbar": features})
    return first_tick + int(up.shape[0])


def tipped(deg: float) -> np.ndarray:
    """An up vector tipped ``deg`` degrees forward from UPRIGHT."""
    angle = np.radians(deg)
    return np.array([np.sin(angle), 0.0, np.cos(angle)])


def off_upright_deg(posture: dict[str, np.ndarray] | None, upright: np.ndarray) -> float:
    """How far the tracked standing posture lies from ``upright``, in degrees."""
    assert posture is not None
    return float(np.degrees(np.arccos(np.clip(posture["lumbar"] @ upright, -1.0, 1.0))))


def test_standing_is_known_once_enough_still_time_near_upright_has_passed() -> None:
    tracker = standing()
    tick = feed(tracker, np.tile(tipped(3.0), (100, 1)), gyro_dps=1.0, first_tick=0)  # 2 s
    assert tracker.posture(tick, {"lumbar": UPRIGHT}) is None
    tick = feed(tracker, np.tile(tipped(3.0), (100, 1)), gyro_dps=1.0, first_tick=tick)
    assert tracker.posture(tick - 80, {"lumbar": UPRIGHT}) is None  # 2.5 s passed
    assert off_upright_deg(tracker.posture(tick, {"lumbar": UPRIGHT}), tipped(3.0)) < 0.01


def test_walking_sitting_and_bending_are_not_standing() -> None:
    tracker = standing()
    tick = feed(tracker, np.tile(tipped(2.0), (500, 1)), gyro_dps=30.0, first_tick=0)  # walking
    tick = feed(tracker, np.tile(tipped(-15.0), (200, 1)), gyro_dps=1.0, first_tick=tick)  # sit
    tick = feed(tracker, np.tile(tipped(40.0), (200, 1)), gyro_dps=1.0, first_tick=tick)  # bar
    assert tracker.posture(tick, {"lumbar": UPRIGHT}) is None
    # Upright is where the lockouts say it is: a lifter whose lockouts stand 40 deg from
    # the sensor's own up (strapped on tilted) stands there.
    assert off_upright_deg(tracker.posture(tick, {"lumbar": tipped(40.0)}), tipped(40.0)) < 0.01


def test_standing_is_the_median_of_the_recent_still_moments() -> None:
    tracker = standing()
    tick = feed(tracker, np.tile(tipped(-6.0), (1000, 1)), gyro_dps=1.0, first_tick=0)  # gone
    fidgets = np.array([tipped(d) for d in np.resize([1.0, 0.0, -1.0, 7.0], 500)])
    tick = feed(tracker, fidgets, gyro_dps=1.0, first_tick=tick)  # the last 10 s
    assert off_upright_deg(tracker.posture(tick, {"lumbar": UPRIGHT}), UPRIGHT) < 1.1
