"""Thresholds of the rep detector (:class:`RepSettings`).

Its own module because the rep detector (:mod:`processing.detect.reps`) and the climb meter
it asks (:mod:`processing.detect.climb`) both read them, and the climb meter cannot take them
from the rep detector, which imports it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RepSettings:
    """Thresholds of the rep detector; angles are hinge (trunk) inclination from upright."""

    #: Above this inclination, in degrees, the lifter is bent over (at or near the bar).
    down_deg: float = 25.0
    #: Below this inclination, in degrees, the lifter is upright again.
    up_deg: float = 15.0
    #: A trunk that comes no closer to upright than this, in degrees, stopped short of a
    #: lockout (a set-up abandoned halfway up); lockouts reach within a few degrees of 0.
    lockout_max_deg: float = 8.0
    #: ...or than this fraction of the deepest bend before it, if more (a lockout comes back
    #: at least three quarters of the way; an abandoned set-up about half).
    lockout_max_fraction: float = 0.25
    #: Inclination speed, in degrees per second, below which the trunk counts as not moving
    #: (start of the concentric, lockout, bottom of the eccentric).
    still_speed_dps: float = 10.0
    #: Longest lockout hold before the next rep, in s; staying up longer ends the rep there.
    max_lockout_hold_s: float = 4.0
    #: A rise is a lift only if the sensor climbs at least this far, in m, from its lowest
    #: point to lockout (sitting down straightens the trunk while the sensor sinks).
    min_lift_rise_m: float = 0.15
    #: ...and at some moment faster than this, in m/s (grinders included), ...
    min_pull_speed_mps: float = 0.15
    #: ...or this, in m/s, with a sacrum sensor, whose posture tells sitting apart anyway,
    #: or mid-set (the slowest grinders).
    min_watched_pull_speed_mps: float = 0.10
    #: Pelvis tilt, in degrees (negative: tilted back), below which a trunk that comes up
    #: with the lumbar spine flexed by more than ``seated_lumbar_deg`` ends slumped on a
    #: bench rather than standing at lockout (two sensors only).
    seated_pelvis_deg: float = -5.0
    #: Lumbar flexion, in degrees, of a trunk that came up slumped (see above; when a gap
    #: leaves it unknown, the pelvis alone decides).
    seated_lumbar_deg: float = 10.0
    #: Mid-set, a rise followed straight by the next bend needs only this climb, in m
    #: (sitting down sinks the sensor; a real rep climbs, however badly it is measured).
    min_mid_set_rise_m: float = 0.05
    #: A loaded pull extends the knees first (the bar has to clear them), so when the
    #: sensor has made this fraction of its climb the trunk still keeps most of its bend;
    #: standing up without the bar straightens hips and knees together.
    knees_first_climb_fraction: float = 0.3
    #: A final rise (no eccentric after it) is a dropped rep when the trunk kept at least
    #: this fraction of its bend at that point of the climb...
    min_trunk_kept: float = 0.8
    #: ...and its peak upward speed is at most this multiple of the median of the set's
    #: reps, or the allowance for its climb time below if more (alone: at most
    #: ``lone_rep_max_speed_mps``, or that allowance of it). When the climb does not show
    #: the trunk's part, the pace rules below decide alone.
    max_final_speed_ratio: float = 1.25
    #: Seconds the middle 80% of the sensor's climb takes when standing up without the bar.
    #: A final rise (no eccentric after it) is a dropped rep when its peak upward speed, as
    #: a multiple of the median of the set's reps, is at most its own middle-80% climb time
    #: divided by this, raised to ``climb_time_exponent``: quick and fast is standing up, a
    #: slow climb may peak a little faster.
    unloaded_climb_s: float = 0.6
    #: How strongly the climb time loosens or tightens that limit (dimensionless; 0 would
    #: compare peak speeds alone).
    climb_time_exponent: float = 0.5
    #: A lone final rise (no other rep in the set) is a rep only when the sensor climbs no
    #: faster than this, in m/s, scaled down by its middle-80% climb time over
    #: ``unloaded_climb_s`` when shorter: standing up unloaded is quicker than a loaded pull.
    lone_rep_max_speed_mps: float = 1.0
    #: A rise that came up in a data gap (its climb unmeasured) was standing up when, as the
    #: gap began, the sensor accelerated upward harder than this multiple of the hardest of
    #: the set's pulls (dimensionless), ...
    standing_up_accel_ratio: float = 1.5
    #: ...within this long before the gap, in s.
    gap_lead_s: float = 0.3
    #: Reps whose start follows the previous rep's end within this many s share a set.
    max_rest_in_set_s: float = 10.0
    #: Typical loaded concentric, in s, for placing a lockout hidden by a data gap.
    typical_concentric_s: float = 1.0
    #: Shortest data gap, in s, a whole rep can hide in: the rest of a pull and the lowering
    #: after it (the quickest light touch-and-go reps take about that).
    min_hidden_rep_s: float = 1.5
    #: A bend with a data gap in it that lasts this many times the set's usual bend between
    #: reps hid a whole rep (up to lockout and back down) in the gap.
    hidden_rep_bend_ratio: float = 1.75
    #: ...unless it was a slow pull the gap cut in two, which comes out of it at least this
    #: much less bent, in degrees, than it went in (a new pull comes up from the bottom).
    cut_pull_rise_deg: float = 10.0
    #: How far back, in s, the deepest bend of a concentric is searched for before the
    #: trunk comes up (grinders stall for seconds).
    max_concentric_s: float = 5.0
    #: The bar leaves the floor at most this long, in s, before the deepest bend: the trunk
    #: keeps leaning while the knees extend.
    max_lean_s: float = 1.0
    #: The climb is integrated back from the first moment the sensor is still after lockout,
    #: or from this long after lockout, in s, whichever comes first.
    rest_wait_s: float = 0.3
    #: The sensor is at rest (not moving at all) when its gyroscope reads below this, in
    #: degrees per second, ...
    rest_gyro_dps: float = 5.0
    #: ...and its vertical acceleration is within this of zero, in m/s^2, ...
    rest_accel_mps2: float = 0.15
    #: ...for at least this long, in s (at its peak speed a pull stops accelerating too).
    min_rest_s: float = 0.2
    #: Less gap-free data than this before lockout, in s, leaves the climb unmeasured.
    min_measured_pull_s: float = 0.3
    #: Walking is told apart from standing by the accelerometer's mean deviation from
    #: gravity above this, in m/s^2 (footfalls), ...
    walking_accel_mps2: float = 0.6
    #: ...within this long after a lockout, in s: a lifter walking away put nothing down.
    walking_window_s: float = 2.0
    #: The first moments after lockout shake the sensor without any walking, in s.
    lockout_settle_s: float = 0.2
    #: Walking is judged only over at least this long, in s (a step or two).
    min_walk_s: float = 1.0
    #: The bar is lowered this long, in s, before the trunk passes ``down_deg``; that
    #: movement shakes the sensor too and is not walking.
    lowering_s: float = 0.5
