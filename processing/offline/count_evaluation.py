"""Score an analysis against count-only truth: real recordings with a rep count and no times.

A count-only ``NAME.truth.json`` has no ``sets``; it says how many reps Backspotter should
count (``expected_reps``, ``0`` for a recording that must yield none, ``null`` for one that is
listed but not scored) and how far off the count may be (``tolerance``). The count is the
number of reps found in all sets; it is right when ``|found - expected_reps| <= tolerance``.
``exercise``, ``person``, ``form`` and ``activity`` say what the recording is, and decide
which real-data target it counts for (:mod:`processing.offline.real_targets`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


def is_count_only(truth: Json) -> bool:
    """True when the truth gives a rep count only (no ``sets`` with times)."""
    return "sets" not in truth and "expected_reps" in truth


@dataclass(frozen=True, slots=True)
class CountScore:
    """One recording with count-only truth: what it is, what was expected, what was found."""

    name: str
    mode: str
    exercise: str
    expected_reps: int | None
    tolerance: int
    reps_found: int
    #: Median of the reps' peak angles, in degrees (None without a rep that has a peak).
    median_peak_deg: float | None
    #: How far the sensor tilts over the recording (processing.offline.swing), in degrees.
    swing_deg: float | None = None
    person: str | None = None
    form: str | None = None
    activity: str | None = None

    @property
    def scored(self) -> bool:
        """False for recordings whose truth says ``expected_reps: null``."""
        return self.expected_reps is not None

    @property
    def right(self) -> bool | None:
        """Count within the tolerance; None when not scored."""
        if self.expected_reps is None:
            return None
        return abs(self.reps_found - self.expected_reps) <= self.tolerance

    @property
    def expected_text(self) -> str:
        """``10 +-1``, ``0`` or ``not scored``."""
        if self.expected_reps is None:
            return "not scored"
        return f"{self.expected_reps} +-{self.tolerance}" if self.tolerance else "0"

    def to_json(self) -> Json:
        """Figures of this recording."""
        return {
            "file": self.name,
            "mode": self.mode,
            "exercise": self.exercise,
            "activity": self.activity,
            "person": self.person,
            "form": self.form,
            "expected_reps": self.expected_reps,
            "tolerance": self.tolerance,
            "reps_found": self.reps_found,
            "right": self.right,
            "median_peak_deg": self.median_peak_deg,
            "swing_deg": self.swing_deg,
        }


def score_count(name: str, truth: Json, detected: Json, swing_deg: float | None) -> CountScore:
    """Compare one analysis (contract 2) with count-only truth."""
    reps = [rep for lift_set in detected["sets"] for rep in lift_set["reps"]]
    peaks_deg = [rep["peak_flexion_deg"] for rep in reps if rep["peak_flexion_deg"] is not None]
    expected = truth["expected_reps"]
    return CountScore(
        name=name,
        mode=str(truth.get("mode", detected.get("mode"))),
        exercise=str(truth.get("exercise", "")),
        expected_reps=None if expected is None else int(expected),
        tolerance=int(truth.get("tolerance") or 0),
        reps_found=len(reps),
        median_peak_deg=statistics.median(peaks_deg) if peaks_deg else None,
        swing_deg=swing_deg,
        person=truth.get("person"),
        form=truth.get("form"),
        activity=truth.get("activity"),
    )


@dataclass(frozen=True, slots=True)
class CountGroup:
    """Recordings shown as one row: a lifter's set alone, everyday recordings by activity."""

    label: str
    members: tuple[CountScore, ...]

    @property
    def scored(self) -> list[CountScore]:
        """Members with a count to check."""
        return [m for m in self.members if m.scored]

    @property
    def right(self) -> int:
        """Scored members counted right."""
        return sum(bool(m.right) for m in self.members)

    @property
    def wrong(self) -> list[CountScore]:
        """Scored members counted wrong."""
        return [m for m in self.members if m.right is False]

    @property
    def reps_found(self) -> int:
        """Reps found in all members."""
        return sum(m.reps_found for m in self.members)

    def to_json(self) -> Json:
        """Figures of this group."""
        return {
            "group": self.label,
            "files": [m.name for m in self.members],
            "scored": len(self.scored),
            "right": self.right,
            "wrong": [m.name for m in self.wrong],
            "reps_found": self.reps_found,
        }


def group_counts(scores: Iterable[CountScore]) -> list[CountGroup]:
    """A row per lifter's set (it has a ``person``), else one per activity (or exercise)."""
    groups: dict[str, list[CountScore]] = {}
    for score in scores:
        label = score.name if score.person else (score.activity or score.exercise)
        groups.setdefault(label, []).append(score)
    return [CountGroup(label, tuple(members)) for label, members in groups.items()]


def real_json(scores: Sequence[CountScore], targets_json: list[Json]) -> Json:
    """The real-recordings part of ``evaluate --json``: files, groups and targets."""
    return {
        "files": [s.to_json() for s in scores],
        "groups": [g.to_json() for g in group_counts(scores)],
        "scored": sum(s.scored for s in scores),
        "right": sum(bool(s.right) for s in scores),
        "targets": targets_json,
    }
