"""The forward axis: each rep votes once, from its own lockout to its deepest posture, so a
false rep cannot turn "forward" round. Expected axes are the ones the postures were built on."""

from __future__ import annotations

import numpy as np

from processing.detect.posture import PostureSettings, SensorPosture


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


def test_small_tilts_do_not_vote() -> None:
    posture = SensorPosture(PostureSettings())
    posture.set_upright(UPRIGHT)
    posture.learn_forward(tipped(10.0, FORWARD), UPRIGHT)
    assert posture.forward is None
