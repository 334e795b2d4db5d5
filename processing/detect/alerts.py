"""Flexion alerts: the moment the measured angle passes the lifter's threshold, and when it clears.

The alert path is deliberately unfiltered beyond the orientation filter itself: a warning that
arrives after the rep is over is useless (feedback changes a movement only within ~100 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from processing.events import FlexionEvent


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Threshold and hysteresis of the flexion alert."""

    #: Alert when the angle rises above this, in degrees (lumbar flexion with two sensors,
    #: trunk inclination with one).
    threshold_deg: float
    #: The alert clears only once the angle is this far below the threshold, in degrees, so
    #: sensor noise around the threshold does not make it chatter.
    hysteresis_deg: float = 3.0


#: Reference reps by default: enough for a median, few enough to be the first set's.
REFERENCE_REPS = 3


@dataclass(frozen=True, slots=True)
class ReferenceSettings:
    """An alert threshold relative to the lifter's own reference reps.

    One sensor cannot tell a neutral hip hinge from a rounded back, but it can tell this rep
    from the lifter's usual one: the first reps of a session, lifted with the form the lifter
    trusts, set the reference.
    """

    #: Alert this many degrees above the median peak angle of the reference reps; None keeps
    #: the absolute threshold all session.
    above_deg: float | None = None
    #: How many of the session's first reps (with a measured peak) are the reference.
    reps: int = REFERENCE_REPS


@dataclass(frozen=True, slots=True)
class AlertChange:
    """The alert went on (``started``) or off (``ended`` carries the whole interval)."""

    t_s: float
    angle_deg: float
    ended: FlexionEvent | None = None


class FlexionAlerter:
    """Hysteresis comparator over the angle stream."""

    def __init__(self, settings: AlertSettings) -> None:
        """Start with the alert off."""
        self.settings = settings
        self.active = False
        self._start_s = 0.0
        self._peak_deg = 0.0

    def set_threshold(self, threshold_deg: float) -> None:
        """Alert at a new threshold from the next tick on (hysteresis unchanged)."""
        self.settings = replace(self.settings, threshold_deg=threshold_deg)

    def step(self, t_s: float, angle_deg: float, allowed: bool) -> AlertChange | None:
        """Advance one tick; ``allowed`` is False where an alert would be meaningless."""
        if angle_deg != angle_deg:  # NaN: no measurement, keep the state as it is
            return None
        if self.active:
            self._peak_deg = max(self._peak_deg, angle_deg)
            if angle_deg < self.settings.threshold_deg - self.settings.hysteresis_deg:
                self.active = False
                ended = FlexionEvent(self._start_s, t_s, self._peak_deg)
                return AlertChange(t_s, angle_deg, ended)
            return None
        if allowed and angle_deg > self.settings.threshold_deg:
            self.active = True
            self._start_s, self._peak_deg = t_s, angle_deg
            return AlertChange(t_s, angle_deg)
        return None
