"""The ``evaluate`` command's real-recordings section: counts per set or activity, and targets."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from processing.offline.count_evaluation import CountGroup, CountScore, group_counts
from processing.offline.real_targets import TargetResult

#: Wrong recordings named in a group's row before the rest are only counted.
MAX_NAMED_WRONG = 3
_COLUMNS = (
    "recording", "exercise", "files", "expected", "right", "reps found",
    "median peak deg", "swing deg", "wrong (reps found)",
)  # fmt: skip


def print_real(
    console: Console, scores: Sequence[CountScore], targets: Sequence[TargetResult]
) -> None:
    """The count table (a row per lifter's set or per activity), then the targets table."""
    table = Table(title="Real recordings (count-only truth)")
    table.add_column(_COLUMNS[0], overflow="fold")
    for name in _COLUMNS[1:]:
        numeric = name in ("files", "right", "reps found") or "deg" in name
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for group in group_counts(scores):
        table.add_row(*_group_cells(group))
    table.add_section()
    scored = [s for s in scores if s.scored]
    right = sum(bool(s.right) for s in scored)
    table.add_row(
        "total", "", str(len(scores)), "", f"{right}/{len(scored)}", "", "", "", "", style="bold"
    )
    console.print(table)
    console.print(_targets_table(targets))


def _group_cells(group: CountGroup) -> list[str]:
    """One row: a single recording shows its own peak and swing, a group its spread."""
    first = group.members[0]
    scored = group.scored
    right = f"{group.right}/{len(scored)}" if scored else "-"
    if len(group.members) == 1:
        peak, swing = _degrees(first.median_peak_deg), _degrees(first.swing_deg)
    else:
        peak, swing = "", _spread([m.swing_deg for m in group.members])
    names = _short_names(group)
    wrong = ", ".join(f"{names[m.name]} ({m.reps_found})" for m in group.wrong[:MAX_NAMED_WRONG])
    if len(group.wrong) > MAX_NAMED_WRONG:
        wrong += f" and {len(group.wrong) - MAX_NAMED_WRONG} more"
    exercise = first.exercise
    if first.person:
        exercise += f" ({first.person}, {first.form})" if first.form else f" ({first.person})"
    expected = first.expected_text
    return [
        group.label,
        exercise,
        str(len(group.members)),
        expected,
        right,
        str(group.reps_found),
        peak,
        swing,
        wrong,
    ]


def _short_names(group: CountGroup) -> dict[str, str]:
    """Members' names without what they share (``SA04_R01`` for a SisFall activity's files)."""
    stems = [
        m.name.rsplit("/", 1)[-1].removesuffix(".gz").removesuffix(".csv") for m in group.members
    ]
    if len(stems) == 1:
        return {group.members[0].name: stems[0]}
    # cut the shared prefix back to a word boundary, so SA04 is not shortened to 04
    shared = min(stems)[: _shared_length(min(stems), max(stems))]
    cut = shared.rfind("_") + 1 if "_" in shared else 0
    return {m.name: stem[cut:] for m, stem in zip(group.members, stems, strict=True)}


def _shared_length(first: str, last: str) -> int:
    """Characters the two strings share from their start (of sorted names: all of them share)."""
    return next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )


def _targets_table(targets: Sequence[TargetResult]) -> Table:
    """Target, met / items, and which items missed (or were not compared)."""
    table = Table(title="Targets on real recordings")
    for name in ("target", "required", "met", "missed"):
        table.add_column(name, justify="right" if name == "met" else "left", overflow="fold")
    for target in targets:
        notes = list(target.missed) + [f"not compared: {n}" for n in target.not_compared]
        table.add_row(
            target.name,
            "yes" if target.required else "no",
            f"{len(target.met)}/{len(target.items)}",
            "; ".join(notes) or "-",
        )
    return table


def _spread(values_deg: Sequence[float | None]) -> str:
    """``min-max`` of the defined values, in degrees, or a dash."""
    defined = [v for v in values_deg if v is not None]
    return f"{min(defined):.0f}-{max(defined):.0f}" if defined else "-"


def _degrees(value: float | None) -> str:
    """An angle in degrees to one decimal, or a dash when undefined."""
    return "-" if value is None else f"{value:.1f}"
