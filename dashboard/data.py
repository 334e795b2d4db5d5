"""What the review pages read from the session store, shaped into rows for tables and charts.

The dashboard never computes reps or angles: every number here is read from the store, which
the service filled with the pipeline's events. Only presentation happens here (which rep was
the worst, which rep first passed the threshold, how much slower a rep's concentric was).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

import streamlit as st

from processing.events import AngleTrace
from processing.store.location import parse_location
from processing.store.reader import SessionDetail, SessionStore, SessionSummary, StoredRep

#: How many sensors a session's mode means.
SENSOR_COUNT = {"dual": "two", "single": "one"}


@dataclass(frozen=True)
class RepStats:
    """Per-session figures over its reps that the store's summary does not carry."""

    worst_set: int
    worst_rep: int
    worst_peak_deg: float
    reps_over_threshold: int


def angle_label(mode: str | None) -> str:
    """What the angle measures: lumbar flexion with two sensors, trunk inclination with one."""
    return "Trunk inclination" if mode == "single" else "Lumbar flexion"


def stored_events(store: SessionStore, session_id: str) -> list[dict[str, Any]]:
    """A session's events as published (empty while the store has not seen the session)."""
    try:
        return [event.payload for event in store.get_session(session_id).events]
    except KeyError:
        return []


def rep_stats(store: SessionStore, session_ids: Iterable[str]) -> dict[str, RepStats]:
    """Worst rep and reps over the threshold per session, in one query."""
    stats: dict[str, RepStats] = {}
    for session_id, reps in store.reps_by_session(list(session_ids)).items():
        for rep in reps:
            stats[session_id] = _fold_rep(stats.get(session_id), rep)
    return stats


def _fold_rep(stats: RepStats | None, rep: StoredRep) -> RepStats:
    """``stats`` updated with one rep (reps without a measured peak never count as worst)."""
    over = (stats.reps_over_threshold if stats else 0) + int(rep.flexion_alert)
    peak = -math.inf if rep.peak_flexion_deg is None else float(rep.peak_flexion_deg)
    if stats is not None and stats.worst_peak_deg >= peak:
        return RepStats(stats.worst_set, stats.worst_rep, stats.worst_peak_deg, over)
    return RepStats(rep.set_number, rep.number, peak, over)


def local_time(moment: datetime, zone: tzinfo | None) -> datetime:
    """``moment`` in the browser's time zone (UTC when unknown)."""
    return moment if zone is None else moment.astimezone(zone)


def worst_rep_text(stats: RepStats | None) -> str:
    """``set 2 rep 1: 38.4°``, or a dash when no rep has a peak."""
    if stats is None or not math.isfinite(stats.worst_peak_deg):
        return "—"
    return f"set {stats.worst_set} rep {stats.worst_rep}: {stats.worst_peak_deg:.1f}°"


def session_rows(
    sessions: Sequence[SessionSummary], stats: dict[str, RepStats], zone: tzinfo | None
) -> list[dict[str, Any]]:
    """One row per session for the sessions table."""
    return [
        {
            "Date": local_time(s.started_at, zone).replace(tzinfo=None),
            "Lifter": s.lifter,
            "Sensors": SENSOR_COUNT.get(s.mode or "", "—"),
            "Sets": s.sets,
            "Reps": s.reps,
            "Alerts": s.alerts,
            "Worst rep": worst_rep_text(stats.get(s.id)),
        }
        for s in sessions
    ]


def all_reps(detail: SessionDetail) -> list[StoredRep]:
    """Every rep of a session in order."""
    return [rep for lift_set in detail.sets for rep in lift_set.reps]


def rep_rows(detail: SessionDetail) -> list[dict[str, Any]]:
    """One row per rep for the per-rep table (units in the headers)."""
    label = angle_label(detail.summary.mode)
    return [
        {
            "Set": rep.set_number,
            "Rep": rep.number,
            f"Peak {label.lower()} (°)": _rounded(rep.peak_flexion_deg, 1),
            "Concentric (s)": round(rep.concentric_s, 2),
            "Eccentric (s)": round(rep.eccentric_s, 2),
            "Above threshold (s)": round(rep.seconds_above_threshold, 2),
            "Alert": "ALERT" if rep.flexion_alert else "",
        }
        for rep in all_reps(detail)
    ]


def _rounded(value: float | None, digits: int) -> float | None:
    """``value`` rounded, keeping None (no valid angle during the rep)."""
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class SetFatigue:
    """Did the back round as the set went on, and did the concentric slow down with it."""

    set_number: int
    reps: int
    #: The first rep whose peak passed the threshold (None: none did).
    first_over_rep: int | None
    first_concentric_s: float
    #: Concentric time of the first rep over the threshold, or of the last rep if none.
    compared_rep: int
    compared_concentric_s: float

    @property
    def slowing_pct(self) -> float:
        """How much slower the compared rep's concentric was than the first rep's, in %."""
        return 100.0 * (self.compared_concentric_s / self.first_concentric_s - 1.0)


def set_fatigue(detail: SessionDetail) -> list[SetFatigue]:
    """One :class:`SetFatigue` per set that has reps."""
    result = []
    for lift_set in detail.sets:
        if not lift_set.reps:
            continue
        reps = lift_set.reps
        first_over = next((r for r in reps if r.flexion_alert), None)
        compared = first_over or reps[-1]
        result.append(
            SetFatigue(
                lift_set.number,
                len(reps),
                None if first_over is None else first_over.number,
                reps[0].concentric_s,
                compared.number,
                compared.concentric_s,
            )
        )
    return result


def fatigue_rows(fatigue: Sequence[SetFatigue]) -> list[dict[str, Any]]:
    """The fatigue table: first rep over the threshold beside the concentric slowing.

    Every column holds one type (text here), since a column mixing ``"none"`` and numbers
    cannot be sent to the browser as an Arrow table.
    """
    return [
        {
            "Set": f.set_number,
            "Reps": f.reps,
            "First rep over threshold": "none"
            if f.first_over_rep is None
            else f"rep {f.first_over_rep}",
            "Rep 1 concentric (s)": f"{f.first_concentric_s:.2f}",
            "Compared with": f"rep {f.compared_rep}"
            + (" (last)" if f.first_over_rep is None else ""),
            "Its concentric (s)": f"{f.compared_concentric_s:.2f}",
            "Concentric": tempo_change(f.slowing_pct),
        }
        for f in fatigue
    ]


def tempo_change(slowing_pct: float) -> str:
    """``slower by 36%``, ``faster by 3%`` or ``the same`` (within 0.5%)."""
    if round(slowing_pct) == 0:
        return "the same"
    return f"{'slower' if slowing_pct > 0 else 'faster'} by {abs(slowing_pct):.0f}%"


def worst_of_set(reps: Sequence[StoredRep]) -> StoredRep | None:
    """The rep of a set whose peak was highest (None when no rep has a peak)."""
    measured = [r for r in reps if r.peak_flexion_deg is not None]
    return max(measured, key=lambda r: r.peak_flexion_deg or 0.0) if measured else None


def reps_csv(detail: SessionDetail) -> str:
    """Every rep of a session as CSV, all stored fields, times in recording seconds.

    With one sensor the peak column is named ``peak_inclination_deg``: the file is read
    without the dashboard around it, so its header says what the angle is.
    """
    fields = list(StoredRep.__dataclass_fields__)
    peak_field = "peak_inclination_deg" if detail.summary.mode == "single" else "peak_flexion_deg"
    header = [peak_field if f == "peak_flexion_deg" else f for f in fields]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([asdict(rep)[f] for f in fields] for rep in all_reps(detail))
    return out.getvalue()


def session_json(detail: SessionDetail, trace: AngleTrace) -> str:
    """The whole session (summary, sets and reps, events, angle trace) as JSON; ``angle`` says
    what every angle in it measures (lumbar flexion or trunk inclination)."""
    summary = asdict(detail.summary)
    summary["started_at"] = detail.summary.started_at.isoformat()
    ended = detail.summary.ended_at
    summary["ended_at"] = None if ended is None else ended.isoformat()
    document = {
        "angle": angle_label(detail.summary.mode).lower(),
        "session": summary,
        "sets": [
            {
                "number": s.number,
                "start": s.start,
                "end": s.end,
                "reps": [asdict(r) for r in s.reps],
            }
            for s in detail.sets
        ],
        "events": [event.payload for event in detail.events],
        "trace": {"t_s": trace.t_s.tolist(), "angle_deg": trace.angle_deg.tolist()},
    }
    return json.dumps(document, indent=1)


@dataclass(frozen=True)
class ProgressPoint:
    """One session on the progress chart."""

    session_id: str
    #: Local wall time without zone (Plotly would otherwise show UTC).
    started_at: datetime
    peak_flexion_deg: float | None
    reps: int
    reps_over_threshold: int
    threshold_deg: float | None


def progress_points(
    sessions: Sequence[SessionSummary], stats: dict[str, RepStats], zone: tzinfo | None
) -> list[ProgressPoint]:
    """The sessions, oldest first, with the figures the progress chart plots (local times)."""
    return [
        ProgressPoint(
            s.id,
            local_time(s.started_at, zone).replace(tzinfo=None),
            s.peak_flexion_deg,
            s.reps,
            stats[s.id].reps_over_threshold if s.id in stats else 0,
            s.threshold_deg,
        )
        for s in sorted(sessions, key=lambda s: s.started_at)
    ]


@st.cache_resource(show_spinner=False, on_release=SessionStore.close)
def shared_store(db: str) -> SessionStore:
    """The server's one store connection (thread-safe); creates an empty store if none."""
    return SessionStore(parse_location(db))
