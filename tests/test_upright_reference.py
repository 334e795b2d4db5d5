"""Where upright is: a calibration stance read off the accelerometer. Expected peaks come
from the simulator's body model, never from the detector."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from processing.detect.pipeline import AnalysisResult, PipelineConfig
from processing.offline.analysis import analyze_recording
from sensor.sim.imu import SensorErrors
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

THREE_SETS = tuple(SetSpec(reps=3, sit_before=False) for _ in range(3))


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
