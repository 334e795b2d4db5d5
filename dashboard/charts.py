"""Plotly figures: the live gauge, a session's angle trace, concentric slowing, progress.

Every axis names its quantity and unit, and every angle chart shows the threshold, so a chart
read alone still says what is good and what is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.data import ProgressPoint, angle_label
from processing.events import AngleTrace
from processing.store.reader import SorenessEntry, StoredRep, StoredSet

GREEN = "#2e7d32"
AMBER = "#ef8f00"
RED = "#c62828"
LINE = "#1f3b73"
GREY = "#9e9e9e"
#: One colour per set, none of them red or near it: red means "over the threshold".
SET_COLOURS = ("#1f3b73", "#00897b", "#7b1fa2", "#0288d1", "#9e9d24", "#558b2f", "#455a64")
#: Two trace points further apart than this (and than a few sampling steps) are a data gap.
GAP_S = 0.5
#: Below this fraction of the threshold the angle is comfortably safe (green).
CAUTION_FRACTION = 0.8
_FONT = {"size": 16}
#: Narrowest date range of the progress chart.
_MIN_SPAN = timedelta(days=7)
#: Widest bar of a session on the date axis: half a day, in ms.
_MAX_BAR_MS = 12 * 3600 * 1000
#: Narrowest bar, as a fraction of the date axis (about 8 px on a laptop screen).
_MIN_BAR_FRACTION = 0.01
#: Progress axes reach this far above their highest value.
_HEADROOM = 1.3


def zone_colour(angle_deg: float | None, threshold_deg: float) -> str:
    """Green well below the threshold, amber close to it, red at or above it."""
    if angle_deg is None:
        return GREY
    if angle_deg >= threshold_deg:
        return RED
    return AMBER if angle_deg >= CAUTION_FRACTION * threshold_deg else GREEN


def gauge_top_deg(threshold_deg: float) -> float:
    """Upper end of the gauge: the threshold sits about two thirds of the way round."""
    return 10.0 * math.ceil(1.5 * threshold_deg / 10.0)


def gauge(angle_deg: float | None, threshold_deg: float, mode: str | None) -> go.Figure:
    """The current angle as a gauge arc coloured against the threshold.

    The number itself is not drawn by Plotly: its font size is fixed in pixels, so on a
    phone-width screen it overlapped the arc. The page writes it below the arc in text that
    scales with the screen (see ``dashboard.views.live``).
    """
    top = gauge_top_deg(threshold_deg)
    caution = CAUTION_FRACTION * threshold_deg
    colour = zone_colour(angle_deg, threshold_deg)
    indicator = go.Indicator(
        mode="gauge",
        value=angle_deg,
        title={"text": f"{angle_label(mode)} now", "font": {"size": 22}},
        gauge={
            "axis": {"range": [-10, top], "ticksuffix": "°", "tickfont": {"size": 16}},
            "bar": {"color": colour, "thickness": 0.45},
            "steps": [
                {"range": [-10, caution], "color": "#e8f5e9"},
                {"range": [caution, threshold_deg], "color": "#fff3e0"},
                {"range": [threshold_deg, top], "color": "#ffebee"},
            ],
            "threshold": {
                "line": {"color": RED, "width": 6},
                "thickness": 1.0,
                "value": threshold_deg,
            },
        },
    )
    figure = go.Figure(indicator)
    figure.update_layout(height=260, margin={"l": 40, "r": 40, "t": 60, "b": 10}, font=_FONT)
    return figure


def with_gaps(t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``t_s``/``values`` with a NaN point inside every data gap, so Plotly breaks the line
    there instead of drawing a straight segment across data that was never measured."""
    if len(t_s) < 2:
        return t_s, values
    steps = np.diff(t_s)
    gap_s = max(GAP_S, 5.0 * float(np.median(steps)))
    at = np.flatnonzero(steps > gap_s) + 1
    middle = (t_s[at - 1] + t_s[at]) / 2.0
    return np.insert(t_s, at, middle), np.insert(values.astype(float), at, np.nan)


def _peak_times(trace: AngleTrace, reps: Sequence[StoredRep]) -> list[float]:
    """When each rep reached its peak on the stored trace (its lockout if the trace is empty)."""
    times = []
    for rep in reps:
        inside = (trace.t_s >= rep.start) & (trace.t_s <= rep.end)
        if inside.any():
            times.append(float(trace.t_s[inside][np.argmax(trace.angle_deg[inside])]))
        else:
            times.append(rep.lockout)
    return times


def trace_figure(
    trace: AngleTrace, sets: Sequence[StoredSet], threshold_deg: float | None, mode: str | None
) -> go.Figure:
    """The session's angle over time, sets shaded, one marker per rep, the alert zone banded."""
    label = angle_label(mode)
    figure = go.Figure()
    gap_t_s, gap_deg = with_gaps(trace.t_s, trace.angle_deg)
    figure.add_trace(
        go.Scatter(x=gap_t_s, y=gap_deg, mode="lines", name=label, line={"color": LINE})
    )
    for lift_set in sets:
        end = lift_set.end if lift_set.end is not None else lift_set.start
        figure.add_vrect(
            x0=lift_set.start, x1=end, fillcolor=GREY, opacity=0.15, line_width=0,
            annotation_text=f"Set {lift_set.number}", annotation_position="top left",
        )  # fmt: skip
    reps = [rep for lift_set in sets for rep in lift_set.reps]
    _add_rep_markers(figure, trace, reps, threshold_deg)
    if threshold_deg is not None:
        bottom_deg, top_deg = _y_range(trace, reps, threshold_deg)
        _add_threshold_band(figure, threshold_deg, top_deg)
        figure.update_yaxes(range=[bottom_deg, top_deg])
    figure.update_layout(
        height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font=_FONT,
        legend={"orientation": "h", "y": -0.18}, hovermode="closest",
    )  # fmt: skip
    figure.update_xaxes(title_text="Session time (s)")
    figure.update_yaxes(title_text=f"{label} (°)", ticksuffix="°")
    return figure


def _y_range(
    trace: AngleTrace, reps: Sequence[StoredRep], threshold_deg: float
) -> tuple[float, float]:
    """The y axis: from below the lowest angle (or -10°) to above the highest and the threshold."""
    peaks = [r.peak_flexion_deg for r in reps if r.peak_flexion_deg is not None]
    angles = trace.angle_deg.tolist()
    lowest = min([-10.0, *angles])
    highest = max([threshold_deg, *peaks, *angles])
    return lowest - 2.0, highest + 10.0


def _add_threshold_band(figure: go.Figure, threshold_deg: float, top_deg: float) -> None:
    """Shade everything above the threshold and draw the threshold line."""
    figure.add_hrect(y0=threshold_deg, y1=top_deg, fillcolor=RED, opacity=0.08, line_width=0)
    figure.add_hline(
        y=threshold_deg, line={"color": RED, "dash": "dash", "width": 2},
        annotation_text=f"threshold {threshold_deg:.0f}°", annotation_position="bottom right",
        annotation_font={"color": RED},
    )  # fmt: skip


def _add_rep_markers(
    figure: go.Figure, trace: AngleTrace, reps: Sequence[StoredRep], threshold_deg: float | None
) -> None:
    """A marker at each rep's peak, red when it passed the threshold, labelled with its number.

    A rep whose data a gap hid has no peak; it still gets its numbered marker (hollow, grey,
    on the highest angle measured in it, else at 0°), so the numbers along a set never skip.
    """
    if not reps:
        return
    times = _peak_times(trace, reps)
    measured = [i for i, rep in enumerate(reps) if rep.peak_flexion_deg is not None]
    lost = [i for i, rep in enumerate(reps) if rep.peak_flexion_deg is None]
    figure.add_trace(
        go.Scatter(
            x=[times[i] for i in measured],
            y=[reps[i].peak_flexion_deg for i in measured],
            mode="markers+text",
            name="rep peak (red: over threshold)",
            text=[str(reps[i].number) for i in measured],
            textposition="top center",
            marker={
                "size": 11,
                "color": [RED if reps[i].flexion_alert else GREEN for i in measured],
                "line": {"width": 1},
            },
            customdata=[[reps[i].set_number, reps[i].concentric_s] for i in measured],
            hovertemplate="set %{customdata[0]} rep %{text}: %{y:.1f}°"
            "<br>concentric %{customdata[1]:.2f} s<extra></extra>",
        )
    )
    if lost:
        figure.add_trace(
            go.Scatter(
                x=[times[i] for i in lost],
                y=[_highest_in(trace, reps[i]) for i in lost],
                mode="markers+text",
                name="rep without a peak (data lost)",
                text=[str(reps[i].number) for i in lost],
                textposition="top center",
                marker={"size": 11, "color": "white", "line": {"width": 2, "color": GREY}},
                customdata=[[reps[i].set_number, reps[i].concentric_s] for i in lost],
                hovertemplate="set %{customdata[0]} rep %{text}: no peak, data lost in the rep"
                "<br>concentric %{customdata[1]:.2f} s<extra></extra>",
            )
        )


def _highest_in(trace: AngleTrace, rep: StoredRep) -> float:
    """The highest angle stored during ``rep``, or 0° when the gap hid all of it."""
    inside = (trace.t_s >= rep.start) & (trace.t_s <= rep.end)
    return float(np.max(trace.angle_deg[inside])) if inside.any() else 0.0


def concentric_figure(sets: Sequence[StoredSet]) -> go.Figure:
    """Concentric time per rep, one line per set; reps over the threshold ringed in red."""
    figure = go.Figure()
    for index, lift_set in enumerate(s for s in sets if s.reps):
        colour = SET_COLOURS[index % len(SET_COLOURS)]
        figure.add_trace(
            go.Scatter(
                x=[r.number for r in lift_set.reps],
                y=[r.concentric_s for r in lift_set.reps],
                mode="lines+markers",
                name=f"Set {lift_set.number}",
                line={"color": colour},
                marker={"size": 10, "color": colour},
            )
        )
    over = [r for lift_set in sets for r in lift_set.reps if r.flexion_alert]
    figure.add_trace(
        go.Scatter(
            x=[r.number for r in over],
            y=[r.concentric_s for r in over],
            mode="markers",
            name="over the threshold",
            marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"color": RED, "width": 3}},
        )
    )
    figure.update_layout(
        height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=_FONT,
        legend={"orientation": "h", "y": -0.3},
    )  # fmt: skip
    figure.update_xaxes(title_text="Rep in set", dtick=1)
    figure.update_yaxes(title_text="Concentric time (s)", rangemode="tozero")
    return figure


def progress_figure(
    points: Sequence[ProgressPoint], soreness: Sequence[SorenessEntry], mode: str | None
) -> go.Figure:
    """Worst rep, reps over the threshold and next-day soreness per session, over the weeks."""
    figure = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.11,
        subplot_titles=(
            f"Worst rep per session: peak {angle_label(mode).lower()}",
            "Reps per session (red: over the threshold)",
            "Soreness the next day",
        ),
    )  # fmt: skip
    when = [p.started_at for p in points]
    bar_ms = _bar_width_ms(when, _date_range(when))
    figure.add_trace(
        go.Scatter(
            x=when, y=[p.peak_flexion_deg for p in points], mode="lines+markers",
            name="worst rep", line={"color": LINE}, marker={"size": 10},
        ),
        row=1, col=1,
    )  # fmt: skip
    for threshold_deg in sorted({p.threshold_deg for p in points if p.threshold_deg is not None}):
        figure.add_hline(
            y=threshold_deg, line={"color": RED, "dash": "dash", "width": 2}, row=1, col=1,
            annotation_text=f"threshold {threshold_deg:.0f}°", annotation_font={"color": RED},
            annotation_position="bottom right",
        )  # fmt: skip
    figure.add_trace(
        go.Bar(x=when, y=[p.reps for p in points], name="reps", marker_color=GREY, width=bar_ms),
        row=2, col=1,
    )  # fmt: skip
    figure.add_trace(
        go.Bar(
            x=when, y=[p.reps_over_threshold for p in points], name="over threshold",
            marker_color=RED, width=bar_ms,
        ),
        row=2, col=1,
    )  # fmt: skip
    _add_soreness(figure, points, soreness)
    figure.update_layout(
        height=720, barmode="overlay", font=_FONT, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.08},
    )  # fmt: skip
    # Headroom above the highest point keeps markers and bars clear of the subplot titles.
    peaks = [p.peak_flexion_deg for p in points if p.peak_flexion_deg is not None]
    thresholds = [p.threshold_deg for p in points if p.threshold_deg is not None]
    top_deg = max([10.0, *peaks, *thresholds]) * _HEADROOM
    top_reps = max([1, *(p.reps for p in points)]) * _HEADROOM
    figure.update_yaxes(title_text="peak (°)", ticksuffix="°", range=[0, top_deg], row=1, col=1)
    figure.update_yaxes(title_text="reps", range=[0, top_reps], row=2, col=1)
    figure.update_yaxes(title_text="0–10", range=[-0.5, 10.5], dtick=2, row=3, col=1)
    # Without a type, an empty soreness row makes the shared axis numeric.
    figure.update_xaxes(type="date", range=_date_range(when))
    figure.update_xaxes(title_text="Session date", row=3, col=1)
    return figure


def _date_range(when: Sequence[datetime]) -> list[datetime] | None:
    """At least a week wide, so a few sessions read as points in time, not a wall of bars."""
    if not when:
        return None
    first, last = min(when), max(when)
    margin = max(_MIN_SPAN - (last - first), timedelta(0)) / 2 + timedelta(hours=12)
    return [first - margin, last + margin]


def _bar_width_ms(when: Sequence[datetime], shown: Sequence[datetime] | None) -> float:
    """Bars narrower than the closest two sessions, so they do not overlap, but never thinner
    than ``_MIN_BAR_FRACTION`` of the axis: sessions minutes apart on a week-wide axis were
    1 px hairlines."""
    gaps_ms = [(b - a).total_seconds() * 1000 for a, b in pairwise(when)]
    closest_ms = min([g for g in gaps_ms if g > 0], default=_MAX_BAR_MS)
    span_ms = 0.0 if not shown else (shown[-1] - shown[0]).total_seconds() * 1000
    return min(_MAX_BAR_MS, max(0.6 * closest_ms, _MIN_BAR_FRACTION * span_ms))


def _add_soreness(
    figure: go.Figure, points: Sequence[ProgressPoint], soreness: Sequence[SorenessEntry]
) -> None:
    """Soreness scores plotted at the date of the session they follow, notes on hover."""
    started = {p.session_id: p.started_at for p in points}
    entries = [e for e in soreness if e.session_id in started]
    figure.add_trace(
        go.Scatter(
            x=[started[e.session_id] for e in entries],
            y=[e.score for e in entries],
            mode="markers",
            name="soreness",
            marker={"size": 14, "color": AMBER, "symbol": "diamond"},
            text=[e.note or "(no note)" for e in entries],
            hovertemplate="%{y}/10: %{text}<extra></extra>",
        ),
        row=3,
        col=1,
    )
