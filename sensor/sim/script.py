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
from sensor.sim.moves import calibration_stance, plates, rest, sit, walk_to
from sensor.sim.spec import SessionSpec


def build_script(
    spec: SessionSpec, lifter: Lifter, rule: AngleRule, rng: np.random.Generator
) -> Script:
    """Lay out the whole session: stance, walking, plates, sets, rests, sitting."""
    k = Keyframer(spec, lifter, rule, rng)
    bar = (0.0, 0.0)
    k.advance(k.uniform(0.3, 1.0))
    if spec.include_calibration:
        calibration_stance(k, spec.calibration_s)
    for index, set_spec in enumerate(spec.sets):
        rest_end = k.now + (k.uniform(*spec.rest_s) if index > 0 else 0.0)
        if index > 0:
            rest(k, k.uniform(2.0, 6.0))
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
    rest(k, k.uniform(2.0, 4.0))
    walk_to(k, k.bench)
    k.advance(k.now + 0.5)
    k.script.duration_s = k.now
    return k.script
