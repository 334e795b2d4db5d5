"""The session script: the order of moves from the first second to the last.

A session starts away from the bar (at the bench or the plates), optionally stands still for
the calibration stance, then for every set: rests (standing, walking to a bench and sitting),
fetches plates if the load changes, walks to the bar, sets up and lifts; it ends walking away.
"""

from __future__ import annotations

import numpy as np

from sensor.sim.body import Lifter
from sensor.sim.keyframes import AngleRule, Keyframer, Script
from sensor.sim.lifting import deadlift_set
from sensor.sim.moves import calibration_stance, pick_up, plates, rest, sit, walk_to
from sensor.sim.spec import RecordingStart, SessionSpec, SetSpec


def build_script(
    spec: SessionSpec, lifter: Lifter, rule: AngleRule, rng: np.random.Generator
) -> Script:
    """Lay out the whole session: stance, walking, plates, sets, rests, sitting."""
    k = Keyframer(spec, lifter, rule, rng)
    bar = (0.0, 0.0)
    k.advance(k.uniform(0.3, 1.0))
    if spec.include_calibration:
        calibration_stance(k, spec.calibration_s)
    habits = lifter.habits
    for index, set_spec in enumerate(spec.sets):
        rest_end = k.now + (k.uniform(*spec.rest_s) if index > 0 else 0.0)
        if index > 0:
            rest(k, _linger_s(k, spec.sets[index - 1]))
            if habits is not None and k.rng.random() < habits.pickup_p:
                pick_up(k)
            if set_spec.sit_before:
                walk_to(k, k.bench, face_deg=k.uniform(0.0, 360.0))
                # Leave time in the rest for walking back (and fetching plates).
                plates_s = 15.0 if set_spec.plates_before else 0.0
                sit(k, max(rest_end - k.now - 12.0 - plates_s, 8.0))
        if set_spec.plates_before:
            plates(k, bar)
        walk_to(k, bar, face_deg=0.0)
        rest(k, max(rest_end - k.now, k.uniform(1.0, 3.0)))
        deadlift_set(k, set_spec)
    if habits is None:
        rest(k, k.uniform(2.0, 4.0))
    else:
        rest(k, _linger_s(k, spec.sets[-1]))
    walk_to(k, k.bench)
    k.advance(k.now + 0.5)
    k.script.duration_s = k.now
    return k.script


def _linger_s(k: Keyframer, last_set: SetSpec) -> float:
    """How long the lifter stands about after a set; some walk off as soon as they drop it."""
    habits = k.lifter.habits
    if habits is None:
        return k.uniform(2.0, 6.0)
    if last_set.ending == "drop" and k.rng.random() < habits.walk_off_p:
        return k.uniform(0.3, 1.0)
    return k.uniform(1.0, 6.0)


def recording_start_s(start: RecordingStart, script: Script, rng: np.random.Generator) -> float:
    """Session time at which the recording begins (0 = the whole script is recorded)."""
    if start == "before" or not script.sets:
        return 0.0
    setup = next((a for a in script.activities if a.kind == "setup"), None)
    first_rep = script.sets[0][0]
    setup_start = setup.start_s if setup is not None else first_rep.start_s - 3.0
    if start == "at_bar":
        return max(setup_start - float(rng.uniform(0.0, 1.0)), 0.0)
    reps = script.sets[0]
    if start == "mid_set" and len(reps) >= 3:
        # With the bar on the floor after a rep: the recording starts bent over, mid-set.
        rep = reps[int(rng.integers(0, len(reps) - 2))]
        return rep.end_s - float(rng.uniform(0.0, 0.3))
    return max(first_rep.start_s - float(rng.uniform(0.3, 1.5)), setup_start)
