"""How one lifter of the wide population sets up, pulls, rests and leaves the bar.

The classic population has no habits (``Lifter.habits is None``) and keeps the behaviour the
committed fixtures were generated with; the ranges each habit is drawn from are in
:mod:`sensor.sim.population` and docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiftHabits:
    """A lifter's own way of lifting and moving about (units in the names)."""

    hip_bottom_fraction: float  # hip height at the floor over standing hip height
    hips_back_m: float  # hips behind the standing spot when at the floor
    peak_fraction: float  # share of the concentric after which the back angle peaks
    lockout_forward_m: float  # hips pushed through at lockout
    pull_lean_deg: float  # sideways lean at the hardest point of a rep (uneven pull)
    pull_twist_deg: float  # axial twist at the same point
    concentric_base_s: float  # concentric at 50% of one-repetition maximum
    grind_max_s: float  # slowest grinding concentric
    eccentric_s: float  # typical lowering
    lockout_hold_max_s: float  # longest stand at lockout (short = no still lockout)
    pause_max_s: float  # longest dead-stop pause on the floor
    fidget: float  # scales how much the lifter moves while standing around
    sit_lean_deg: float  # pelvis tilt forward to stand up from the bench
    stand_up_s: float  # time to stand up from the bench
    walk_off_p: float  # chance of walking off straight after dropping the bar
    pickup_p: float  # chance per rest of bending down to pick something up
