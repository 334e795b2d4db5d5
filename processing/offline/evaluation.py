"""Score an analysis against ground truth: sets, reps, peak flexion and flexion alerts.

Pure functions on dicts: the detected side is shaped like contract 2 (what
``AnalysisResult.to_json()`` returns), the truth side like ``NAME.truth.json``, which mirrors
it. The rules:

- A detected set and a truth set match when their time intervals overlap. A truth set has
  the exact count when exactly one detected set overlaps it, that set overlaps no other
  truth set (two sets merged into one are not counted right) and has as many reps.
  A truth set no detected set overlaps is missed; a detected set overlapping no truth set is
  spurious, and the truth ``activities`` it overlaps (walk, sit, setup, plates...) say what
  fooled the detector.
- A detected rep matches a truth rep when their lockouts are within
  :data:`LOCKOUT_TOLERANCE_S`, one to one, closest pairs first.
- Peak-flexion error is detected minus truth over matched reps, kept apart for dual and
  single files because they measure different angles.
- Alerts are scored per rep: a rep is positive when its ``flexion_alert`` is true; an
  unmatched detected rep with an alert is a false positive, a missed truth rep with an
  alert a false negative.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: A detected rep matches a truth rep when their lockouts are at most this far apart, in s.
LOCKOUT_TOLERANCE_S = 0.75
#: Activity name for the part of a spurious set that overlaps no truth activity.
NO_ACTIVITY = "none"

Json = dict[str, Any]
#: How a truth set was counted (see :func:`set_outcome`).
SetOutcome = Literal["exact", "missed", "merged", "split", "under", "over"]


@dataclass(frozen=True, slots=True)
class Counts:
    """Hits (true positives), false alarms (false positives) and misses (false negatives)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        """Share of detections that were right; None with no detections."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Share of truth that was detected; None with nothing to detect."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_json(self) -> Json:
        """Counts with precision and recall."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass(frozen=True, slots=True)
class SetScore:
    """How the detected sets compare with the truth sets."""

    truth: int = 0
    exact: int = 0
    missed: int = 0
    spurious: int = 0
    #: Spurious sets per truth activity kind they overlap (one set may count for several).
    spurious_during: Mapping[str, int] = field(default_factory=dict)

    @property
    def exact_rate(self) -> float | None:
        """Share of truth sets with the exact rep count; None without truth sets."""
        return self.exact / self.truth if self.truth else None

    def __add__(self, other: SetScore) -> SetScore:
        during = Counter(self.spurious_during) + Counter(other.spurious_during)
        return SetScore(
            self.truth + other.truth,
            self.exact + other.exact,
            self.missed + other.missed,
            self.spurious + other.spurious,
            dict(sorted(during.items())),
        )

    def to_json(self) -> Json:
        """Counts with the exact-count rate."""
        return {
            "truth": self.truth,
            "exact": self.exact,
            "exact_rate": self.exact_rate,
            "missed": self.missed,
            "spurious": self.spurious,
            "spurious_during": dict(self.spurious_during),
        }


@dataclass(frozen=True, slots=True)
class ErrorStats:
    """Root-mean-square error and bias (mean of detected minus truth) of some values."""

    n: int
    rmse: float | None
    bias: float | None

    @classmethod
    def of(cls, errors: Sequence[float]) -> ErrorStats:
        """Statistics of ``errors``; RMSE and bias are None when there are none."""
        if not errors:
            return cls(0, None, None)
        rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
        return cls(len(errors), rmse, sum(errors) / len(errors))

    def to_json(self) -> Json:
        """Statistics in degrees."""
        return {"reps": self.n, "rmse_deg": self.rmse, "bias_deg": self.bias}


@dataclass(frozen=True, slots=True)
class FileScore:
    """Every figure of one recording."""

    name: str
    mode: str
    sets: SetScore
    reps: Counts
    alerts: Counts
    #: Detected minus truth peak flexion of each matched rep, in degrees.
    flexion_errors_deg: tuple[float, ...]

    def to_json(self) -> Json:
        """Figures of this file."""
        return {
            "file": self.name,
            "mode": self.mode,
            "sets": self.sets.to_json(),
            "reps": self.reps.to_json(),
            "alerts": self.alerts.to_json(),
            "flexion": ErrorStats.of(self.flexion_errors_deg).to_json(),
        }


@dataclass(frozen=True, slots=True)
class TotalScore:
    """Figures summed over files; flexion errors pooled per mode."""

    files: int
    sets: SetScore
    reps: Counts
    alerts: Counts
    flexion_errors_deg: Mapping[str, tuple[float, ...]]

    def to_json(self) -> Json:
        """Totals, flexion statistics per mode."""
        return {
            "files": self.files,
            "sets": self.sets.to_json(),
            "reps": self.reps.to_json(),
            "alerts": self.alerts.to_json(),
            "flexion": {
                mode: ErrorStats.of(errors).to_json()
                for mode, errors in self.flexion_errors_deg.items()
            },
        }


def score_file(name: str, truth: Json, detected: Json) -> FileScore:
    """Compare one analysis (contract 2) with its truth."""
    truth_reps = all_reps(truth)
    detected_reps = all_reps(detected)
    pairs = match_reps(truth_reps, detected_reps)
    errors = tuple(
        detected_reps[d]["peak_flexion_deg"] - truth_reps[t]["peak_flexion_deg"]
        for t, d in pairs
        if detected_reps[d]["peak_flexion_deg"] is not None
    )
    return FileScore(
        name,
        str(truth.get("mode", detected.get("mode"))),
        score_sets(truth["sets"], detected["sets"], truth.get("activities", [])),
        Counts(len(pairs), len(detected_reps) - len(pairs), len(truth_reps) - len(pairs)),
        score_alerts(truth_reps, detected_reps, pairs),
        errors,
    )


def all_reps(analysis: Json) -> list[Json]:
    """Every rep of every set, in order."""
    return [rep for lift_set in analysis["sets"] for rep in lift_set["reps"]]


def overlaps(a: Json, b: Json) -> bool:
    """True when the intervals ``start``..``end`` of ``a`` and ``b`` share some time."""
    return bool(a["start"] < b["end"] and b["start"] < a["end"])


def score_sets(
    truth_sets: Sequence[Json], detected_sets: Sequence[Json], activities: Iterable[Json]
) -> SetScore:
    """Exact, missed and spurious sets, and the activities spurious sets overlap."""
    outcomes = [set_outcome(t, detected_sets, truth_sets) for t in truth_sets]
    spurious = [d for d in detected_sets if not any(overlaps(t, d) for t in truth_sets)]
    during = _kinds_overlapped(spurious, list(activities))
    return SetScore(
        len(truth_sets), outcomes.count("exact"), outcomes.count("missed"), len(spurious), during
    )


def set_outcome(
    truth_set: Json, detected_sets: Sequence[Json], truth_sets: Sequence[Json]
) -> SetOutcome:
    """How the detected sets counted one truth set: ``exact`` (one detected set overlaps it,
    overlaps no other truth set and has its reps), ``missed`` (none overlaps it),
    ``merged`` (the one overlapping it also overlaps another truth set), ``split`` (several
    overlap it), ``under`` or ``over`` (one, with fewer or more reps)."""
    found = [d for d in detected_sets if overlaps(truth_set, d)]
    if not found:
        return "missed"
    if len(found) > 1:
        return "split"
    if any(t is not truth_set and overlaps(t, found[0]) for t in truth_sets):
        return "merged"
    difference = len(found[0]["reps"]) - len(truth_set["reps"])
    return "exact" if difference == 0 else ("under" if difference < 0 else "over")


def _kinds_overlapped(detected_sets: Sequence[Json], activities: Sequence[Json]) -> dict[str, int]:
    """For each activity kind, how many of ``detected_sets`` overlap it."""
    during: Counter[str] = Counter()
    for detected in detected_sets:
        kinds = {a["kind"] for a in activities if overlaps(a, detected)}
        during.update(kinds or {NO_ACTIVITY})
    return dict(sorted(during.items()))


def match_reps(
    truth_reps: Sequence[Json],
    detected_reps: Sequence[Json],
    tolerance_s: float = LOCKOUT_TOLERANCE_S,
) -> list[tuple[int, int]]:
    """Pairs (truth index, detected index) with lockouts within tolerance, closest first."""
    candidates = sorted(
        (abs(d["lockout"] - t["lockout"]), ti, di)
        for ti, t in enumerate(truth_reps)
        for di, d in enumerate(detected_reps)
        if abs(d["lockout"] - t["lockout"]) <= tolerance_s
    )
    pairs: list[tuple[int, int]] = []
    used_truth: set[int] = set()
    used_detected: set[int] = set()
    for _, ti, di in candidates:
        if ti not in used_truth and di not in used_detected:
            pairs.append((ti, di))
            used_truth.add(ti)
            used_detected.add(di)
    return sorted(pairs)


def score_alerts(
    truth_reps: Sequence[Json], detected_reps: Sequence[Json], pairs: Iterable[tuple[int, int]]
) -> Counts:
    """Per-rep alert counts; unmatched reps count against the side that has them."""
    truth_alert = [bool(rep["flexion_alert"]) for rep in truth_reps]
    detected_alert = [bool(rep["flexion_alert"]) for rep in detected_reps]
    matched = list(pairs)
    tp = sum(truth_alert[t] and detected_alert[d] for t, d in matched)
    matched_truth = {t for t, _ in matched}
    matched_detected = {d for _, d in matched}
    fp = sum(detected_alert[d] and not truth_alert[t] for t, d in matched)
    fp += sum(alert for d, alert in enumerate(detected_alert) if d not in matched_detected)
    fn = sum(truth_alert[t] and not detected_alert[d] for t, d in matched)
    fn += sum(alert for t, alert in enumerate(truth_alert) if t not in matched_truth)
    return Counts(tp, fp, fn)


def total_score(scores: Iterable[FileScore]) -> TotalScore:
    """Sum of the figures of ``scores``; flexion errors pooled per mode."""
    scores = list(scores)
    errors: dict[str, tuple[float, ...]] = {}
    for score in scores:
        errors[score.mode] = errors.get(score.mode, ()) + score.flexion_errors_deg
    return TotalScore(
        len(scores),
        sum((s.sets for s in scores), SetScore()),
        sum((s.reps for s in scores), Counts()),
        sum((s.alerts for s in scores), Counts()),
        dict(sorted(errors.items())),
    )


def with_threshold(truth: Json, threshold_deg: float) -> Json:
    """The truth with rep alerts for another threshold (as is when the threshold is its own)."""
    if truth.get("threshold_deg") == threshold_deg:
        return truth
    sets = [
        {
            **lift_set,
            "reps": [
                {**rep, "flexion_alert": rep["peak_flexion_deg"] > threshold_deg}
                for rep in lift_set["reps"]
            ],
        }
        for lift_set in truth["sets"]
    ]
    return {**truth, "threshold_deg": threshold_deg, "sets": sets}
