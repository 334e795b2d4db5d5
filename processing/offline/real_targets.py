"""The real-recording targets of issue 10, and which recordings count for each.

Recordings are assigned from their truth fields (``exercise``, ``expected_reps``, ``person``,
``form``) and, for the deadlift count, from how far the sensor swings
(:mod:`processing.offline.swing`), never from what the detector found:

- **deadlift count**: every scored ``deadlift`` set whose sensor swings through at least
  :data:`MIN_DEADLIFT_SWING_DEG` is counted within its tolerance.
- **deadlift count, small swing** (reported, not required): the scored deadlift sets below
  that swing (a lifter whose sensor moves only about +-5 deg per rep).
- **bad form, larger peak**: for each ``person`` with a ``good`` and a ``bad`` deadlift set,
  the bad set's median peak angle is larger; a lifter is compared only when both sets have
  reps with a peak.
- **no reps in other exercises**: 0 reps in every ``ohp``, ``pushup`` and ``row`` set.
- **no reps in everyday movement**: 0 reps in every ``walking``, ``stairs``,
  ``sit_to_stand`` and ``sit_lie_sit`` recording.

Recordings with ``expected_reps: null`` (squat sets, single bends) count for no target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from processing.offline.count_evaluation import CountScore

#: A deadlift set must be counted when its sensor swings through at least this, in degrees.
MIN_DEADLIFT_SWING_DEG = 20.0
#: Exercises whose sets contain no hinge rep.
OTHER_EXERCISES = frozenset({"ohp", "pushup", "row"})
#: Everyday movement that must yield no rep.
EVERYDAY_MOVEMENT = frozenset({"walking", "stairs", "sit_to_stand", "sit_lie_sit"})


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One target: the items (recordings or lifters) it covers, those met and those missed."""

    name: str
    required: bool
    items: tuple[str, ...]
    met: tuple[str, ...]
    #: Missed items with what was found, e.g. ``deadlift_Tom_bad.csv: 0 rep(s), expected 10 +-1``.
    missed: tuple[str, ...]
    #: Items left out, with why (a lifter without reps in one of the two sets).
    not_compared: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The target's figures."""
        return {
            "target": self.name,
            "required": self.required,
            "items": list(self.items),
            "met": list(self.met),
            "missed": list(self.missed),
            "not_compared": list(self.not_compared),
        }


def real_targets(scores: Sequence[CountScore]) -> list[TargetResult]:
    """Every target, in the order of the module docstring."""
    deadlifts = [s for s in scores if s.exercise == "deadlift" and s.scored]
    wide = [s for s in deadlifts if _swings_enough(s)]
    small = [s for s in deadlifts if not _swings_enough(s)]
    return [
        _per_file(
            f"deadlift sets swinging >= {MIN_DEADLIFT_SWING_DEG:.0f} deg: count within tolerance",
            True,
            wide,
            lambda s: bool(s.right),
        ),
        _per_file(
            f"deadlift sets swinging < {MIN_DEADLIFT_SWING_DEG:.0f} deg: count (not required)",
            False,
            small,
            lambda s: bool(s.right),
        ),
        _form_order(deadlifts),
        _per_file(
            "ohp, pushup, row sets: 0 reps",
            True,
            [s for s in scores if s.exercise in OTHER_EXERCISES],
            lambda s: s.reps_found == 0,
        ),
        _per_file(
            "walking, stairs, sit-to-stand, sit-lie-sit: 0 reps",
            True,
            [s for s in scores if s.exercise in EVERYDAY_MOVEMENT],
            lambda s: s.reps_found == 0,
        ),
    ]


def _swings_enough(score: CountScore) -> bool:
    """True when the sensor swings through at least the deadlift target's minimum."""
    return score.swing_deg is not None and score.swing_deg >= MIN_DEADLIFT_SWING_DEG


def _per_file(
    name: str, required: bool, scores: Sequence[CountScore], met: Callable[[CountScore], bool]
) -> TargetResult:
    """A target met file by file."""
    return TargetResult(
        name,
        required,
        tuple(s.name for s in scores),
        tuple(s.name for s in scores if met(s)),
        tuple(
            f"{s.name}: {s.reps_found} rep(s), expected {s.expected_text}"
            for s in scores
            if not met(s)
        ),
    )


def _form_order(deadlifts: Sequence[CountScore]) -> TargetResult:
    """Each lifter's bad-form set has a larger median peak than their good-form set."""
    by_person: dict[str, dict[str, CountScore]] = {}
    for score in deadlifts:
        if score.person and score.form in ("good", "bad"):
            by_person.setdefault(score.person, {})[score.form] = score
    items: list[str] = []
    met: list[str] = []
    missed: list[str] = []
    not_compared: list[str] = []
    for person, sets in sorted(by_person.items()):
        if len(sets) < 2:
            continue
        good, bad = sets["good"].median_peak_deg, sets["bad"].median_peak_deg
        if good is None or bad is None:
            without = ", ".join(f for f in ("good", "bad") if sets[f].median_peak_deg is None)
            not_compared.append(f"{person}: no reps with a peak in {without}")
            continue
        items.append(person)
        if bad > good:
            met.append(person)
        else:
            missed.append(f"{person}: bad {bad:.1f} deg <= good {good:.1f} deg")
    return TargetResult(
        "bad form: larger median peak than the same lifter's good form",
        True,
        tuple(items),
        tuple(met),
        tuple(missed),
        tuple(not_compared),
    )
