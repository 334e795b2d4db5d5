"""The forward axis: each rep votes once, from its own lockout to its deepest posture, so a
false rep cannot turn "forward" round; one sensor's peaks do not depend on it. Expected axes
are the ones the postures were built on."""

from __future__ import annotations

import numpy as np
import pytest

from processing.detect.history import TickHistory
from processing.detect.measure import RepMeasurer
from processing.detect.motion import HORIZONTAL, N_FEATURES
from processing.detect.posture import PostureSettings, SensorPosture
from processing.detect.reps import RepTicks
from processing.detect.walking_forward import WalkingForward


def tipped(deg: float, towards: np.ndarray) -> np.ndarray:
    """An up vector tipped ``deg`` degrees from the sensor's z axis towards ``towards``."""
    angle = np.radians(deg)
    return np.cos(angle) * np.array([0.0, 0.0, 1.0]) + np.sin(angle) * towards


FORWARD = np.array([1.0, 0.0, 0.0])
UPRIGHT = np.array([0.0, 0.0, 1.0])


def test_reps_teach_forward_and_a_false_rep_cannot_turn_it_round() -> None:
    posture = SensorPosture(PostureSettings())
    posture.set_upright(UPRIGHT)
    for depth_deg in (45.0, 50.0, 40.0):
        posture.learn_forward(tipped(depth_deg, FORWARD), UPRIGHT)
    # A false rep counted at the bottom: its "lockout" is bent over, its "deepest" upright;
    # seen from that lockout, and with a far bigger tilt, it votes backwards.
    posture.learn_forward(UPRIGHT, tipped(80.0, FORWARD))
    assert posture.forward is not None
    assert float(posture.forward @ FORWARD) > 0.9
    assert posture.angle_deg(tipped(30.0, FORWARD)[None, :])[0] > 0.0


def test_votes_cast_the_wrong_way_round_give_the_axis_and_the_counting_side_turns_it() -> None:
    # A sensor flat on the back: upright lies in the plane of its face (z), and a forward
    # bend turns "up" towards the face. Until the counter reads the hinge angle the right
    # way round, it counts reps at the bottom: each votes from a bent "lockout" towards an
    # upright "deepest", away from the face.
    in_face, face = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])

    def bent(deg: float) -> np.ndarray:
        return np.cos(np.radians(deg)) * in_face + np.sin(np.radians(deg)) * face

    posture = SensorPosture(PostureSettings())
    posture.set_upright(in_face)
    for depth_deg in (40.0, 50.0, 45.0, 55.0):
        posture.learn_forward(in_face, bent(depth_deg))
    posture.learn_face_side(-1.0)
    assert posture.forward is not None and float(posture.forward @ face) < -0.9
    posture.learn_forward(bent(35.0), in_face)  # the first rep read the right way round
    posture.learn_face_side(1.0)
    assert float(posture.forward @ face) > 0.9
    assert posture.angle_deg(bent(30.0)[None, :])[0] == pytest.approx(30.0, abs=1.0)


def test_small_tilts_do_not_vote() -> None:
    posture = SensorPosture(PostureSettings())
    posture.set_upright(UPRIGHT)
    posture.learn_forward(tipped(10.0, FORWARD), UPRIGHT)
    assert posture.forward is None


def features(upper_mps2: np.ndarray, lower_mps2: np.ndarray) -> dict[str, np.ndarray]:
    """Feature tables of two sensors that carry only their horizontal accelerations."""
    tables = {}
    for role, horizontal in (("upper", upper_mps2), ("lower", lower_mps2)):
        tables[role] = np.zeros((horizontal.shape[0], N_FEATURES))
        tables[role][:, HORIZONTAL] = horizontal
    return tables


def test_walking_beside_the_l1_sensor_tells_which_way_a_sacrum_tilting_back_faces() -> None:
    # The sacrum sensor is strapped on turned 120 deg about its face; the lifter tucks the
    # pelvis under at the bar, so every rep's vote points backwards. While walking, both
    # sensors swing forward and back together at every step (plus sideways, at the stride).
    turn = np.radians(120.0)
    lower_from_upper = np.array(
        [[np.cos(turn), -np.sin(turn), 0.0], [np.sin(turn), np.cos(turn), 0.0], [0.0, 0.0, 1.0]]
    )
    t_s = np.arange(0.0, 5.0, 0.02)
    forward_mps2 = 2.0 * np.sin(2 * np.pi * 1.8 * t_s)
    sideways_mps2 = 0.8 * np.sin(2 * np.pi * 0.9 * t_s + 1.0)
    upper = np.outer(forward_mps2, FORWARD) + np.outer(sideways_mps2, [0.0, 1.0, 0.0])
    lower = upper @ lower_from_upper.T
    together = WalkingForward(min_walk_ticks=100, keep_ticks=3000)
    together.add(np.arange(t_s.size), features(upper, lower), np.ones(t_s.size, dtype=bool))
    assert together.lower_forward(FORWARD) is None  # nothing asked for up to a rep's end yet
    posture = SensorPosture(PostureSettings())
    posture.set_upright(UPRIGHT)
    lower_forward = lower_from_upper @ FORWARD
    posture.learn_forward(tipped(-25.0, lower_forward), UPRIGHT)
    assert posture.forward is not None and float(posture.forward @ lower_forward) < -0.9
    upper_posture = SensorPosture(PostureSettings())
    upper_posture.forward = FORWARD
    together.orient({"upper": upper_posture, "lower": posture}, until_tick=t_s.size)
    walked = together.lower_forward(FORWARD)
    assert walked is not None
    assert float(posture.forward @ lower_forward) > 0.99
    assert posture.angle_deg(tipped(-25.0, lower_forward)[None, :])[0] < -20.0


def test_too_little_walking_tells_nothing() -> None:
    together = WalkingForward(min_walk_ticks=100, keep_ticks=3000)
    steps = np.outer(np.sin(np.arange(50.0)), FORWARD)
    together.add(np.arange(50), features(steps, steps), np.ones(50, dtype=bool))
    upper, lower = SensorPosture(PostureSettings()), SensorPosture(PostureSettings())
    upper.forward = FORWARD
    together.orient({"upper": upper, "lower": lower}, until_tick=50)
    assert lower.forward is None


def test_one_sensor_measures_a_rep_by_its_own_bend_whichever_way_forward_was_read() -> None:
    # A sensor strapped upside down can have "forward" read the wrong way round for a while:
    # along that axis a 50 deg bend reads -50 deg and the rep's peak came out near 0. One
    # sensor's peak is how far it tilted from the rep's own upright.
    depths_deg = np.concatenate([np.linspace(0.0, 50.0, 50), np.linspace(50.0, 0.0, 50)])
    up = np.array([tipped(deg, FORWARD) for deg in depths_deg])
    history = TickHistory(("lumbar",), N_FEATURES, capacity=200)
    nan = np.full(up.shape[0], np.nan)
    history.store(
        np.arange(up.shape[0]),
        {"lumbar": up},
        {"lumbar": np.zeros((100, N_FEATURES))},
        (depths_deg, nan, nan),
    )
    posture = SensorPosture(PostureSettings())
    posture.set_upright(UPRIGHT)
    posture.forward = -FORWARD
    measurer = RepMeasurer(history, {"lumbar": posture}, "single", 50.0, max_missing_in_rep=0.5)
    rep = measurer.measure(RepTicks(50, 99, 99, 50, 99, 1.0), 30.0, {"lumbar": UPRIGHT})
    assert rep.peak_flexion_deg == pytest.approx(50.0, abs=0.5)
    assert rep.flexion_alert


def test_a_rep_is_measured_along_a_forward_axis_made_for_its_own_upright() -> None:
    # A lifter still at the bar, bent 28 deg, passes for a calibration stance; the first
    # rep, from a true lockout, bends 28 deg forward and votes "forward". An axis made
    # perpendicular to the bent stance, used with the rep's own upright, read that bend
    # as 0 deg. The sacrum sensor does not move.
    depths_deg = np.concatenate([np.linspace(28.0, 0.0, 50), np.linspace(0.0, 28.0, 50)])
    upper_up = np.array([tipped(deg, FORWARD) for deg in depths_deg])
    lower_up = np.tile(UPRIGHT, (depths_deg.size, 1))
    history = TickHistory(("upper", "lower"), N_FEATURES, capacity=200)
    nan = np.full(depths_deg.size, np.nan)
    history.store(
        np.arange(depths_deg.size),
        {"upper": upper_up, "lower": lower_up},
        {role: np.zeros((depths_deg.size, N_FEATURES)) for role in ("upper", "lower")},
        (depths_deg, nan, nan),
    )
    stance = tipped(28.0, FORWARD)
    postures = {
        "upper": SensorPosture(PostureSettings()),
        "lower": SensorPosture(PostureSettings()),
    }
    postures["upper"].set_upright(stance)
    postures["upper"].learn_forward(upper_up[0], UPRIGHT)
    postures["lower"].set_upright(UPRIGHT)
    measurer = RepMeasurer(history, postures, "dual", 50.0, max_missing_in_rep=0.5)
    own_lockouts = {"upper": UPRIGHT, "lower": UPRIGHT}
    rep = measurer.measure(RepTicks(0, 50, 99, 0, 50, 1.0), 30.0, own_lockouts)
    assert rep.peak_flexion_deg == pytest.approx(28.0, abs=0.5)
