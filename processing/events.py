"""What the pipeline tells the world: session events and results, independent of transport.

The MQTT publisher adds ``v``, ``session_id``, ``seq`` and ``ts`` (contract 3); the session
store and the ``analyze`` command read the same objects, so every output agrees.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

EventType = Literal[
    "session_start",
    "calibrated",
    "threshold",
    "set_start",
    "rep",
    "flexion_alert",
    "flexion_clear",
    "set_end",
    "session_end",
    "sensor_connected",
    "sensor_lost",
]

Mode = Literal["single", "dual"]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, at recording time ``t`` seconds, with a JSON-ready payload."""

    type: EventType
    t: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Rep:
    """One deadlift rep: floor to lockout (concentric) and back (eccentric)."""

    start: float
    lockout: float
    end: float
    peak_flexion_deg: float
    flexion_alert: bool
    seconds_above_threshold: float = 0.0

    @property
    def concentric_s(self) -> float:
        """Seconds from the bar leaving the floor to lockout."""
        return self.lockout - self.start

    @property
    def eccentric_s(self) -> float:
        """Seconds from lockout back to the bottom."""
        return self.end - self.lockout

    def to_dict(self) -> dict[str, Any]:
        """Contract 2 fields plus the derived durations, rounded; an unmeasured peak is None."""
        out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        if math.isnan(self.peak_flexion_deg):  # a data gap hid the whole rep from one sensor
            out["peak_flexion_deg"] = None
        out["concentric_s"] = round(self.concentric_s, 3)
        out["eccentric_s"] = round(self.eccentric_s, 3)
        return out


@dataclass(slots=True)
class LiftSet:
    """A run of reps with no long rest between them."""

    reps: list[Rep] = field(default_factory=list)

    @property
    def start(self) -> float:
        """Start of the first rep."""
        return self.reps[0].start

    @property
    def end(self) -> float:
        """End of the last rep."""
        return self.reps[-1].end

    def to_dict(self) -> dict[str, Any]:
        """Contract 2 shape of one set."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "reps": [r.to_dict() for r in self.reps],
        }


@dataclass(frozen=True, slots=True)
class FlexionEvent:
    """An interval in which the measured angle stayed above the alert threshold."""

    start: float
    end: float
    peak_deg: float

    def to_dict(self) -> dict[str, Any]:
        """Contract 2 shape of one flexion event."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "peak_deg": round(self.peak_deg, 2),
        }


@dataclass(frozen=True, slots=True)
class AngleTrace:
    """Downsampled live angle (flexion in dual mode, inclination in single) for display."""

    t_s: NDArray[np.float64]
    angle_deg: NDArray[np.float64]

    def __len__(self) -> int:
        """Number of points."""
        return int(self.t_s.shape[0])
