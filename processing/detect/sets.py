"""Sets and their events: filing measured reps, closing sets, announcing alerts and thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np

from processing.detect.alerts import AlertChange, ReferenceSettings
from processing.events import Event, FlexionEvent, LiftSet, Rep


class SetBook:
    """The session's sets, the alert threshold in force, and the events they make."""

    def __init__(
        self, threshold_deg: float, reference: ReferenceSettings, max_rest_in_set_s: float
    ) -> None:
        """Start with no set and the lifter's absolute threshold."""
        self.threshold_deg = threshold_deg
        self.sets: list[LiftSet] = []
        self.flexion_events: list[FlexionEvent] = []
        self._reference = reference
        self._reference_peak_deg: float | None = None
        self._max_rest_s = max_rest_in_set_s
        self._open = False

    def add_rep(self, rep: Rep) -> list[Event]:
        """File a measured rep in its set (opening one if needed) and announce it."""
        events: list[Event] = []
        if self._open and rep.start - self.sets[-1].end > self._max_rest_s:
            events.extend(self.close())
        if not self._open:
            self.sets.append(LiftSet())
            self._open = True
            events.append(Event("set_start", rep.start, {"set": len(self.sets)}))
        current = self.sets[-1]
        current.reps.append(rep)
        data = {"set": len(self.sets), "rep": len(current.reps), **rep.to_dict()}
        events.append(Event("rep", rep.end, data))
        return events

    def close(self) -> list[Event]:
        """Announce the end of the open set, if any."""
        if not self._open:
            return []
        self._open = False
        last = self.sets[-1]
        return [Event("set_end", last.end, {"set": len(self.sets), "reps": len(last.reps)})]

    def adopt_reference_threshold(self, t_s: float) -> list[Event]:
        """Once the reference reps are in, alert relative to their usual peak angle."""
        reference = self._reference
        if reference.above_deg is None or self._reference_peak_deg is not None:
            return []
        peaks = [r.peak_flexion_deg for s in self.sets for r in s.reps]
        measured = [p for p in peaks if p == p][: reference.reps]
        if len(measured) < reference.reps:
            return []
        self._reference_peak_deg = float(np.median(measured))
        self.threshold_deg = self._reference_peak_deg + reference.above_deg
        data = {
            "threshold_deg": round(self.threshold_deg, 2),
            "reference_peak_deg": round(self._reference_peak_deg, 2),
            "reference_reps": reference.reps,
        }
        return [Event("threshold", t_s, data)]

    def alert_event(self, change: AlertChange, rep_under_way: int | None) -> Event:
        """A ``flexion_alert`` when the alert goes on, ``flexion_clear`` when it goes off.

        The alert names the rep it happened in (``rep_under_way``: how many reps of the set
        are still to be filed, counting the one in progress), or no rep (``set`` and ``rep``
        null) when the lifter was not in one: setting up, handling plates.
        """
        if change.ended is None:
            set_no: int | None = None
            rep_no: int | None = None
            if rep_under_way is not None:
                set_no = len(self.sets) + (0 if self._open else 1)
                rep_no = (len(self.sets[-1].reps) if self._open else 0) + rep_under_way
            data: dict[str, Any] = {
                "angle_deg": round(change.angle_deg, 2),
                "threshold_deg": self.threshold_deg,
                "set": set_no,
                "rep": rep_no,
            }
            return Event("flexion_alert", change.t_s, data)
        self.flexion_events.append(change.ended)
        return Event("flexion_clear", change.t_s, change.ended.to_dict())
