"""Physics and bookkeeping checks of the session simulator (sensor/simulate.py)."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sensor.recording import read_recording, read_truth, write_recording
from sensor.samples import GRAVITY_MPS2, SampleBatch
from sensor.sim.devices import DEVICES, IMUS, draw_errors
from sensor.sim.imu import ImuReadings, apply_errors
from sensor.sim.population import (
    HABIT_RANGES,
    LIFTER_RANGES,
    LINK_RANGES,
    MOUNT_RANGES,
    RECORDING_STARTS,
    wide_spec,
)
from sensor.simulate import (
    Gap,
    Mount,
    SensorSpec,
    SessionSpec,
    SetSpec,
    SimulatedSession,
    random_spec,
    simulate_session,
    stream_session,
)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

SHORT_REST_S = (20.0, 25.0)


FLAT = Mount()


def _ideal(rate_hz: float, mount: Mount = FLAT) -> SensorSpec:
    return SensorSpec(mount=mount, rate_hz=rate_hz, ideal=True)


def _dual_spec(seed: int, upper: Mount = FLAT, lower: Mount = FLAT, **kw: Any) -> SessionSpec:
    sets = kw.pop("sets", (SetSpec(reps=3, load=0.7), SetSpec(reps=3, back="rounded")))
    return SessionSpec(
        seed=seed,
        sensors={"upper": _ideal(200.0, upper), "lower": _ideal(200.0, lower)},
        sets=sets,
        rest_s=SHORT_REST_S,
        **kw,
    )


@pytest.fixture(scope="module")
def ideal_dual() -> SimulatedSession:
    return simulate_session(_dual_spec(3, upper=Mount(spin_deg=37.0), lower=Mount(face_out=False)))


@pytest.fixture(scope="module")
def random_sessions() -> list[SimulatedSession]:
    """Varied sessions from ``random_spec``, rests shortened to keep the tests fast."""
    return [simulate_session(random_spec(seed, rest_s=SHORT_REST_S)) for seed in range(12)]


def _window(batch: SampleBatch, start_s: float, end_s: float) -> slice:
    first, stop = np.searchsorted(batch.t_s, [start_s, end_s])
    return slice(int(first), int(stop))


def _rotation_about(axis_angle: FloatArray) -> FloatArray:
    """Rotation matrix of a rotation vector (Rodrigues), written here independently."""
    angle = float(np.linalg.norm(axis_angle))
    if angle < 1e-15:
        return np.eye(3)
    k = axis_angle / angle
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    rotation: FloatArray = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    return rotation


def _euler_zxy(yaw: float, roll: float, pitch: float) -> FloatArray:
    """Rz(yaw) Rx(roll) Ry(pitch): the segment's orientation from the body model's angles."""
    cz, sz, cx, sx = np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    cy, sy = np.cos(pitch), np.sin(pitch)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rotation: FloatArray = rz @ rx @ ry
    return rotation


def _sensor_to_world(session: SimulatedSession, role: str, t_s: float) -> FloatArray:
    level = {"upper": 1.0, "lower": 0.0, "lumbar": 0.5}[role]
    pose = session.body.segment(np.array([t_s]), level)
    segment = _euler_zxy(float(pose.yaw[0]), float(pose.roll[0]), float(pose.sagittal[0]))
    return segment @ session.spec.sensors[role].mount.matrix()


def test_accelerometer_reads_g_upwards_when_standing_still(ideal_dual: SimulatedSession) -> None:
    calibration = ideal_dual.truth["calibration"]
    for role, batch in ideal_dual.recording.sensors.items():
        still = _window(batch, calibration["start"], calibration["end"])
        norm = np.linalg.norm(batch.accel_mps2[still], axis=1)
        assert np.all(np.abs(norm - GRAVITY_MPS2) < 0.01), role
        assert np.all(np.abs(batch.gyro_rps[still]) < np.radians(1.0)), role
        # Gravity seen in the sensor frame is the world's up axis expressed in sensor axes.
        mid = (calibration["start"] + calibration["end"]) / 2
        up_in_sensor = _sensor_to_world(ideal_dual, role, mid).T @ np.array([0.0, 0.0, 1.0])
        index = int(np.searchsorted(batch.t_s, mid))
        measured = batch.accel_mps2[index] / np.linalg.norm(batch.accel_mps2[index])
        assert np.degrees(np.arccos(np.clip(measured @ up_in_sensor, -1, 1))) < 0.5, role


def test_upside_down_sensor_reads_minus_g_on_its_long_axis() -> None:
    session = simulate_session(
        _dual_spec(4, upper=Mount(), lower=Mount(spin_deg=180.0), sets=(SetSpec(reps=1),))
    )
    calibration = session.truth["calibration"]
    upper = session.recording.sensors["upper"]
    lower = session.recording.sensors["lower"]
    # x runs up the spine in the reference mount; L1 leans at most ~15 deg when upright.
    assert np.all(
        upper.accel_mps2[_window(upper, calibration["start"], calibration["end"]), 0] > 9.0
    )
    # Upside down on the sacrum (which leans forward up to ~35 deg): x points down.
    assert np.all(
        lower.accel_mps2[_window(lower, calibration["start"], calibration["end"]), 0] < -7.5
    )


def test_integrated_gyro_reproduces_the_body_models_rotation(ideal_dual: SimulatedSession) -> None:
    first_set = ideal_dual.truth["sets"][0]
    start, end = first_set["start"] - 3.0, first_set["end"]
    for role, batch in ideal_dual.recording.sensors.items():
        span = _window(batch, start, end)
        t = batch.t_s[span]
        gyro = batch.gyro_rps[span]
        rotation = np.eye(3)
        for k in range(t.size - 1):
            mean_rate = (gyro[k] + gyro[k + 1]) / 2
            rotation = rotation @ _rotation_about(mean_rate * (t[k + 1] - t[k]))
        expected = _sensor_to_world(ideal_dual, role, t[0]).T @ _sensor_to_world(
            ideal_dual, role, t[-1]
        )
        error = rotation.T @ expected
        error_deg = np.degrees(np.arccos(np.clip((np.trace(error) - 1) / 2, -1, 1)))
        total_deg = np.degrees(np.abs(gyro).sum(axis=0).max() * (t[1] - t[0]))
        assert total_deg > 60.0  # the window really contains lifting
        assert error_deg < 0.3, role


def _signed_tilt_deg(gravity_then: FloatArray, gravity_now: FloatArray, axis: FloatArray) -> float:
    """Signed angle about ``axis`` turning one gravity direction into the other."""
    a = gravity_then - axis * (gravity_then @ axis)
    b = gravity_now - axis * (gravity_now @ axis)
    return float(np.degrees(np.arctan2(axis @ np.cross(b, a), a @ b)))


def test_sensors_measure_the_truth_flexion_at_the_bottom_of_dead_stop_reps(
    ideal_dual: SimulatedSession,
) -> None:
    """Upper minus lower sagittal tilt, from gravity alone, equals the truth lumbar flexion."""
    calibration = ideal_dual.truth["calibration"]
    checked = 0
    for lift_set in ideal_dual.truth["sets"]:
        for rep in lift_set["reps"][:-1]:
            t_bottom = rep["end"] + 0.3  # dead-stop: the bar rests, the lifter holds still
            tilts = {}
            for role, batch in ideal_dual.recording.sensors.items():
                still = _window(batch, calibration["start"], calibration["end"])
                g_stance = batch.accel_mps2[still].mean(axis=0)
                g_bottom = batch.accel_mps2[int(np.searchsorted(batch.t_s, t_bottom))]
                # The sagittal axis (lifter's left) in sensor axes, from how it is mounted.
                left = ideal_dual.spec.sensors[role].mount.matrix().T @ np.array([0.0, 1.0, 0.0])
                tilts[role] = _signed_tilt_deg(g_stance, g_bottom, left)
            expected = float(ideal_dual.truth_angle_deg(np.array([t_bottom]))[0])
            assert tilts["upper"] - tilts["lower"] == pytest.approx(expected, abs=0.6)
            assert expected > 5.0
            checked += 1
    assert checked >= 2


def test_truth_times_are_ordered_and_inside_the_session(
    random_sessions: list[SimulatedSession],
) -> None:
    for session in random_sessions:
        truth = session.truth
        duration = truth["simulator"]["duration_s"]
        previous_end = 0.0
        for lift_set in truth["sets"]:
            assert lift_set["start"] == lift_set["reps"][0]["start"]
            assert lift_set["end"] == lift_set["reps"][-1]["end"]
            for rep in lift_set["reps"]:
                assert previous_end <= rep["start"] < rep["lockout"] < rep["end"] < duration
                assert 0.8 <= rep["concentric_s"] <= 5.0
                assert rep["flexion_alert"] == (rep["peak_flexion_deg"] > truth["threshold_deg"])
                previous_end = rep["end"]
        activities = truth["activities"]
        for before, after in itertools.pairwise(activities):
            assert before["start"] < before["end"] <= after["start"]
        for event in truth["flexion_events"]:
            assert event["start"] <= event["end"]
            assert event["peak_deg"] > truth["threshold_deg"]


def test_rep_peaks_keep_clear_of_the_threshold(random_sessions: list[SimulatedSession]) -> None:
    for session in random_sessions:
        truth = session.truth
        for lift_set in truth["sets"]:
            for rep in lift_set["reps"]:
                assert abs(rep["peak_flexion_deg"] - truth["threshold_deg"]) > 1.5


def test_a_rotated_mount_changes_the_axes_but_not_the_truth() -> None:
    plain = simulate_session(_dual_spec(5))
    turned_mount = Mount(face_out=False, spin_deg=120.0, tilt_deg=8.0, tilt_axis_deg=30.0)
    turned = simulate_session(_dual_spec(5, upper=turned_mount))
    for key in ("sets", "flexion_events", "activities", "calibration", "threshold_deg"):
        assert turned.truth[key] == plain.truth[key]
    a = plain.recording.sensors["upper"]
    b = turned.recording.sensors["upper"]
    np.testing.assert_array_equal(a.t_s, b.t_s)
    assert np.abs(a.accel_mps2 - b.accel_mps2).max() > 5.0
    # Same physical vectors in rotated axes: b = a M_plain^T M_turned (row vectors).
    change = Mount().matrix().T @ turned_mount.matrix()
    np.testing.assert_allclose(b.accel_mps2, a.accel_mps2 @ change, atol=1e-9)
    np.testing.assert_allclose(b.gyro_rps, a.gyro_rps @ change, atol=1e-9)


def test_a_seed_determines_the_session() -> None:
    first = simulate_session(random_spec(17, rest_s=SHORT_REST_S))
    again = simulate_session(random_spec(17, rest_s=SHORT_REST_S))
    other = simulate_session(random_spec(18, rest_s=SHORT_REST_S))
    assert first.truth == again.truth
    for role, batch in first.delivered.items():
        np.testing.assert_array_equal(batch.t_s, again.delivered[role].t_s)
        np.testing.assert_array_equal(batch.accel_mps2, again.delivered[role].accel_mps2)
        np.testing.assert_array_equal(batch.gyro_rps, again.delivered[role].gyro_rps)
    assert first.truth != other.truth


def test_gaps_losses_and_duplicates_appear_as_specified() -> None:
    link = SensorSpec(rate_hz=100.0, samples_per_packet=2, drop_rate=0.02, duplicate_rate=0.03)
    spec = SessionSpec(
        seed=6,
        sensors={"upper": link, "lower": replace(link, rate_hz=50.0)},
        sets=(SetSpec(reps=2), SetSpec(reps=5)),
        rest_s=SHORT_REST_S,
        gaps=(Gap(duration_s=3.0, in_set=1), Gap(duration_s=1.0, at_s=10.0, role="lower")),
    )
    session = simulate_session(spec)
    second_set = session.truth["sets"][1]
    for role, batch in session.delivered.items():
        rate = spec.sensors[role].rate_hz
        spacing = np.diff(batch.t_s)
        duplicates = int((spacing == 0).sum())
        # The reader's view drops exactly the duplicated rows.
        assert len(session.recording.sensors[role]) == len(batch) - duplicates
        assert duplicates == pytest.approx(0.03 * len(batch), rel=0.3)
        unique_t = session.recording.sensors[role].t_s
        holes = np.diff(unique_t)
        # 2% of 2-sample packets lost: about 2% of sample slots are skipped.
        lost_slots = int(np.round(holes[holes < 0.5] * rate).sum()) - int((holes < 0.5).sum())
        assert lost_slots == pytest.approx(0.02 * len(unique_t), rel=0.35)
        # The 3 s outage during set 2 (both sensors).
        long_holes = unique_t[:-1][holes > 2.5]
        assert any(second_set["start"] < t < second_set["end"] for t in long_holes), role
        assert np.all(holes[holes > 2.5] < 3.0 + 3.0 / rate)
    lower_holes = np.diff(session.recording.sensors["lower"].t_s)
    lower_gap_starts = session.recording.sensors["lower"].t_s[:-1][lower_holes > 0.9]
    assert np.any(np.abs(lower_gap_starts - 10.0) < 0.1)


def test_every_row_arrives_twice_for_a_while_after_a_reconnect() -> None:
    link = SensorSpec(rate_hz=50.0, reconnect_duplicates_s=2.0)
    spec = SessionSpec(
        seed=7,
        sensors={"lumbar": link},
        sets=(SetSpec(reps=2),),
        rest_s=SHORT_REST_S,
        gaps=(Gap(duration_s=1.5, at_s=12.0),),
    )
    delivered = simulate_session(spec).delivered["lumbar"]
    repeated = np.concatenate(([False], np.diff(delivered.t_s) == 0))
    after = (delivered.t_s >= 13.5) & (delivered.t_s < 15.5)
    assert 95 <= repeated[after].sum() <= 100  # 2 s at 50 Hz, every row once more
    assert not repeated[~after].any()
    assert not np.any((delivered.t_s > 12.0) & (delivered.t_s < 13.5))


def test_clock_drift_and_rate_show_in_the_timestamps() -> None:
    spec = SessionSpec(
        seed=8,
        sensors={"lumbar": SensorSpec(rate_hz=52.0, clock_ppm=50.0, jitter_ms=1.0)},
        sets=(SetSpec(reps=2),),
        rest_s=SHORT_REST_S,
    )
    batch = simulate_session(spec).recording.sensors["lumbar"]
    spacing = np.diff(batch.t_s)
    assert np.median(spacing) == pytest.approx(1 / 52.0, rel=0.01)
    assert spacing.min() > 0
    assert spacing.std() > 0.5e-3  # jitter


def test_stream_session_interleaves_sensors_in_time_order() -> None:
    spec = random_spec(2, rest_s=SHORT_REST_S)
    session = simulate_session(spec)
    batches = list(stream_session(spec, batch_s=0.25))
    for role, recorded in session.recording.sensors.items():
        mine = [b for b in batches if b.role == role]
        np.testing.assert_array_equal(np.concatenate([b.t_s for b in mine]), recorded.t_s)
    window_starts = [float(b.t_s[0]) for b in batches]
    origin = min(window_starts)
    windows = [int((t - origin) // 0.25) for t in window_starts]
    assert windows == sorted(windows)
    assert len({b.role for b in batches}) == len(spec.sensors)


def test_stream_session_delivers_what_a_reader_of_the_recording_gets(tmp_path: Path) -> None:
    """The live sim source drops link duplicates as the BLE time base and ``read_recording``
    do (issue 10 item 6: doubled rows after a reconnect doubled the integrated gyroscope)."""
    spec = replace(
        random_spec(1, rest_s=SHORT_REST_S),
        sensors={
            role: replace(sensor, duplicate_rate=0.05, reconnect_duplicates_s=2.0)
            for role, sensor in random_spec(1).sensors.items()
        },
    )
    session = simulate_session(spec)
    assert any(np.any(np.diff(b.t_s) == 0) for b in session.delivered.values())
    path = tmp_path / "session.csv"
    write_recording(path, session.delivered.values(), session.recording.meta)
    recording = read_recording(path)
    streamed = list(stream_session(spec))
    for role, batch in recording.sensors.items():
        mine = np.concatenate([b.t_s for b in streamed if b.role == role])
        assert np.all(np.diff(mine) > 0), role
        np.testing.assert_allclose(mine, batch.t_s, atol=1e-6)


def test_a_written_session_reads_back_with_its_truth(tmp_path: Path) -> None:
    session = simulate_session(random_spec(9, rest_s=SHORT_REST_S))
    path = tmp_path / "session.csv.gz"
    write_recording(path, session.delivered.values(), session.recording.meta)
    (tmp_path / "session.truth.json").write_text(json.dumps(session.truth))
    recording = read_recording(path)
    assert recording.roles == session.recording.roles
    assert recording.dropped_duplicates == session.recording.dropped_duplicates
    for role, batch in recording.sensors.items():
        np.testing.assert_allclose(batch.t_s, session.recording.sensors[role].t_s, atol=1e-6)
    assert read_truth(path) == session.truth


SITUATIONS = (
    "calibration",
    "walk",
    "sit",
    "setup",
    "stand_up",
    "plates",
    "rest",
    "set",
)


def test_random_sessions_cover_every_situation(random_sessions: list[SimulatedSession]) -> None:
    seen: set[str] = set()
    for session in random_sessions:
        spec = session.spec
        truth = session.truth
        seen |= {activity["kind"] for activity in truth["activities"]}
        seen.add(f"mode {truth['mode']}")
        seen.add("no calibration" if truth["calibration"] is None else "calibrated")
        for lift_set in truth["sets"]:
            for rep in lift_set["reps"]:
                seen.add(rep["style"])
                seen |= {flag for flag in ("touch_and_go", "dropped", "grinding") if rep[flag]}
                seen.add("rounded" if rep["rounded"] else "neutral")
                seen.add("alert" if rep["flexion_alert"] else "no alert")
            if not any(rep["touch_and_go"] for rep in lift_set["reps"][1:]):
                seen.add("dead stop" if len(lift_set["reps"]) > 1 else "single")
        for sensor in truth["sensors"].values():
            seen |= {w for w in ("upside down", "face in") if w in sensor["mount"]}
            seen.add("low rate" if sensor["rate_hz"] <= 30 else "")
            seen.add("high rate" if sensor["rate_hz"] >= 200 else "")
        if spec.gaps:
            seen.add("gap")
            if any(s.reconnect_duplicates_s > 0 for s in spec.sensors.values()):
                seen.add("duplicates after reconnect")
        if any(s.burst_ms > 0 for s in spec.sensors.values()):
            seen.add("bursts")
        if len({s.rate_hz for s in spec.sensors.values()}) > 1:
            seen.add("mixed rates")
    expected = set(SITUATIONS) | {
        "mode single",
        "mode dual",
        "no calibration",
        "calibrated",
        "conventional",
        "sumo",
        "touch_and_go",
        "dead stop",
        "dropped",
        "grinding",
        "rounded",
        "neutral",
        "alert",
        "no alert",
        "upside down",
        "face in",
        "low rate",
        "high rate",
        "gap",
        "duplicates after reconnect",
        "bursts",
        "mixed rates",
    }
    assert expected <= seen, expected - seen


# -- the wide population (issue 10 item 5) ---------------------------------------------------

WIDE_SEEDS = range(5000, 5030)


@pytest.fixture(scope="module")
def wide_specs() -> list[SessionSpec]:
    """Thirty wide-population specs (drawing a spec costs nothing; simulating does)."""
    return [wide_spec(seed) for seed in WIDE_SEEDS]


@pytest.fixture(scope="module")
def wide_sessions() -> list[SimulatedSession]:
    """A few simulated wide sessions with short rests."""
    return [simulate_session(wide_spec(seed, SHORT_REST_S)) for seed in range(6000, 6010)]


def _covered(values: list[float], low: float, high: float) -> float:
    """Share of [low, high] that the drawn values span."""
    return (max(values) - min(values)) / (high - low)


def test_wide_lifters_and_habits_span_their_documented_ranges(
    wide_specs: list[SessionSpec],
) -> None:
    lifters = [spec.lifter for spec in wide_specs]
    assert all(lifter is not None and lifter.habits is not None for lifter in lifters)
    for ranges, objects in (
        (LIFTER_RANGES, lifters),
        (HABIT_RANGES, [lifter.habits for lifter in lifters if lifter is not None]),
    ):
        for name, (low, high) in ranges.items():
            values = [float(getattr(o, name)) for o in objects]
            assert low <= min(values) and max(values) <= high, name
            assert _covered(values, low, high) > 0.7, name


def test_wide_sensors_cover_every_device_chip_rate_mount_and_start(
    wide_specs: list[SessionSpec],
) -> None:
    sensors = [s for spec in wide_specs for s in spec.sensors.values()]
    assert {s.device for s in sensors} == set(DEVICES)
    assert {s.imu for s in sensors} == set(IMUS)
    rates = {s.rate_hz for s in sensors}
    assert min(rates) <= 26.0 and 31.25 in rates and max(rates) >= 200.0
    assert {spec.recording_start for spec in wide_specs} == set(RECORDING_STARTS)
    assert {spec.mode for spec in wide_specs} == {"single", "dual"}
    for name, (low, high) in MOUNT_RANGES.items():
        values = [getattr(s.mount, name) for s in sensors]
        drawn = [v for v in values if v != 0.0]  # wobble only on loose straps
        assert len(drawn) / len(values) > 0.1 and _covered(drawn, low, high) > 0.6, name
    for s in sensors:
        imu = IMUS[s.imu]
        assert s.errors is not None
        offset_dps = np.degrees(np.abs(s.errors.gyro_bias_rps))
        assert np.all(offset_dps <= imu.gyro_offset_dps), s.imu
        gains = np.asarray(s.errors.gyro_scale)
        assert np.all(np.abs(gains - 1) <= imu.gyro_scale_error_pct / 100), s.imu
        coupling = np.asarray(s.errors.accel_cross).reshape(3, 3) - np.eye(3)
        assert np.all(np.abs(coupling) <= imu.cross_axis_pct / 100), s.imu


@pytest.mark.parametrize("imu_name", sorted(IMUS))
def test_a_still_sensor_shows_its_datasheet_noise_density(imu_name: str) -> None:
    rate_hz = 100.0
    rng = np.random.default_rng(1)
    device = next(d for d in DEVICES.values() if imu_name in d.imus)
    errors = replace(
        draw_errors(IMUS[imu_name], device, rate_hz, rng),
        gyro_walk_rps_per_sqrt_s=0.0,
        accel_range_g=0.0,
        gyro_range_dps=0.0,
    )
    n = 60 * round(rate_hz)
    t = np.arange(n) / rate_hz
    still = ImuReadings(np.zeros((n, 3)), np.zeros((n, 3)))
    out = apply_errors(still, t, errors, rng)
    imu = IMUS[imu_name]
    band_rthz = np.sqrt(rate_hz / 2)
    gyro_dps = np.degrees(out.gyro_rps - out.gyro_rps.mean(axis=0))
    accel_ug = (out.accel_mps2 - out.accel_mps2.mean(axis=0)) / GRAVITY_MPS2 * 1e6
    expected_gyro = imu.gyro_noise_density_dps_per_rthz * band_rthz
    expected_accel = imu.accel_noise_density_ug_per_rthz * band_rthz
    # Warm-up drift is slow; the sample-to-sample differences show the white noise alone.
    assert np.diff(gyro_dps, axis=0).std() / np.sqrt(2) == pytest.approx(expected_gyro, rel=0.05)
    assert np.diff(accel_ug, axis=0).std() / np.sqrt(2) == pytest.approx(expected_accel, rel=0.05)


def test_wide_truth_peaks_stay_within_body_limits(wide_sessions: list[SimulatedSession]) -> None:
    reps = 0
    for session in wide_sessions:
        truth = session.truth
        first_t = min(float(b.t_s[0]) for b in session.recording.sensors.values())
        for lift_set in truth["sets"]:
            for rep in lift_set["reps"]:
                reps += 1
                assert first_t <= rep["start"] < rep["lockout"] < rep["end"]
                assert 0.5 <= rep["concentric_s"] <= 6.5
                assert -5.0 < rep["peak_lumbar_flexion_deg"] <= 62.0
                limits = (-5.0, 62.0) if truth["mode"] == "dual" else (5.0, 100.0)
                assert limits[0] < rep["peak_flexion_deg"] < limits[1]
                assert abs(rep["peak_flexion_deg"] - truth["threshold_deg"]) > 1.5
        if truth["simulator"]["recording_start"] != "before":
            assert truth["calibration"] is None
    assert reps > 30


def test_wide_generation_is_deterministic_per_seed() -> None:
    first, again, other = (simulate_session(wide_spec(s, SHORT_REST_S)) for s in (6001, 6001, 6002))
    assert first.truth == again.truth
    assert first.truth != other.truth
    for role, batch in first.delivered.items():
        np.testing.assert_array_equal(batch.t_s, again.delivered[role].t_s)
        np.testing.assert_array_equal(batch.accel_mps2, again.delivered[role].accel_mps2)
        np.testing.assert_array_equal(batch.gyro_rps, again.delivered[role].gyro_rps)


def test_a_recording_that_starts_mid_set_has_only_the_reps_it_saw() -> None:
    base = _dual_spec(8, sets=(SetSpec(reps=6, load=0.7), SetSpec(reps=3)))
    whole = simulate_session(base)
    cut = simulate_session(replace(base, recording_start="mid_set"))
    first_t = min(float(b.t_s[0]) for b in cut.recording.sensors.values())
    whole_reps = [r for s in whole.truth["sets"] for r in s["reps"]]
    cut_reps = [r for s in cut.truth["sets"] for r in s["reps"]]
    assert cut_reps == [r for r in whole_reps if r["start"] >= first_t - 0.3]
    assert len(whole_reps) - 4 <= len(cut_reps) < len(whole_reps)
    assert cut.truth["calibration"] is None


@pytest.mark.parametrize("start", ["mid_set", "bent_over"])
@pytest.mark.parametrize("seed", [8, 9, 10])
def test_a_recording_begins_with_every_sensor_streaming_before_its_first_pull(
    start: str, seed: int
) -> None:
    # The sacrum sensor connects a second after the L1 one. The recording still begins where
    # its scenario says (the bar on the floor mid-set, the lifter gripping it) with both
    # streaming: no pull is cut in two, begun before a sensor's first row and locked out
    # after it, which the truth left out though the sensors saw most of it.
    late = replace(_ideal(200.0, FLAT), start_delay_s=1.0)
    base = replace(_dual_spec(seed, sets=(SetSpec(reps=6), SetSpec(reps=3))), recording_start=start)
    session = simulate_session(replace(base, sensors={**base.sensors, "lower": late}))
    streaming_s = max(float(b.t_s[0]) for b in session.recording.sensors.values())
    whole = simulate_session(replace(base, recording_start="before"))
    whole_reps = [r for s in whole.truth["sets"] for r in s["reps"]]
    assert not [r for r in whole_reps if r["start"] < streaming_s < r["lockout"]]
    kept = [r for s in session.truth["sets"] for r in s["reps"]]
    assert kept == [r for r in whole_reps if r["start"] >= streaming_s]


def test_a_loose_strap_rocks_the_sensor_but_not_the_truth() -> None:
    loose = Mount(wobble_hz=6.0, wobble_damping=0.2, wobble_deg_per_mps2=0.6)
    tight = simulate_session(_dual_spec(9))
    rocking = simulate_session(_dual_spec(9, upper=loose))
    assert rocking.truth["sets"] == tight.truth["sets"]
    a, b = tight.recording.sensors["upper"], rocking.recording.sensors["upper"]
    extra_dps = np.degrees(np.abs(b.gyro_rps - a.gyro_rps).max())
    assert 2.0 < extra_dps < 200.0


def test_docs_give_every_wide_range_with_its_source() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "simulator.md").read_text()
    for ranges in (LIFTER_RANGES, HABIT_RANGES, MOUNT_RANGES, LINK_RANGES):
        for name in ranges:
            assert f"`{name}`" in text, name
    for imu in IMUS:
        assert imu in text, imu
