"""Session review: did the back round, on which rep, and did it come with fatigue?

The angle trace with the threshold band and a marker per rep; a table per set (peak, concentric
time, alert); per set the first rep over the threshold beside the slowing of the concentric;
downloads. ``?session=ID`` picks the session (the Sessions page links here that way).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard.charts import concentric_figure, trace_figure
from dashboard.config import settings_from_env
from dashboard.data import (
    SetFatigue,
    angle_label,
    fatigue_rows,
    rep_rows,
    rep_stats,
    reps_csv,
    session_json,
    set_fatigue,
    shared_store,
    tempo_change,
    worst_of_set,
    worst_rep_text,
)
from dashboard.widgets import big_number, browser_zone, pick_session
from processing.events import AngleTrace
from processing.store.reader import SessionDetail, StoredRep

_ALERT_STYLE = "background-color: #ffebee; color: #b71c1c; font-weight: 700"


def render() -> None:
    """Pick a session, then show it."""
    settings = settings_from_env()
    store = shared_store(str(settings.db))
    zone = browser_zone()
    st.title("Session review")
    chosen = pick_session(store.list_sessions(), st.query_params.get("session"), zone, "review")
    if chosen is None:
        st.info("No sessions stored yet.")
        return
    st.query_params["session"] = chosen.id
    detail = store.get_session(chosen.id)
    stats = rep_stats(store, [chosen.id]).get(chosen.id)
    _headline(detail, worst_rep_text(stats))
    trace = store.get_trace(chosen.id)
    _trace(trace, detail)
    _rep_tables(detail)
    _fatigue(detail)
    _downloads(trace, detail)


def _headline(detail: SessionDetail, worst: str) -> None:
    """What was measured and the session's totals."""
    summary = detail.summary
    threshold = "—" if summary.threshold_deg is None else f"{summary.threshold_deg:.0f}°"
    sensors = "two sensors" if summary.mode == "dual" else "one sensor"
    # A gym's store consumer knows the session from its events alone: no source URLs.
    sources = f" Sources: {', '.join(summary.sources)}" if summary.sources else ""
    st.caption(f"{angle_label(summary.mode)} ({sensors}), alert threshold {threshold}.{sources}")
    for column, (label, value, key) in zip(
        st.columns([1, 1, 1, 3]),
        [
            ("Sets", str(summary.sets), "review-sets"),
            ("Reps", str(summary.reps), "review-reps"),
            ("Alerts", str(summary.alerts), "review-alerts"),
            ("Worst rep", worst, "review-worst"),
        ],
        strict=True,
    ):
        with column:
            big_number(label, value, key=key, size="medium")


def _trace(trace: AngleTrace, detail: SessionDetail) -> None:
    """The angle over the whole session."""
    st.subheader(f"{angle_label(detail.summary.mode)} over the session")
    if not len(trace):
        st.info("No angle trace was stored for this session.")
    figure = trace_figure(trace, detail.sets, detail.summary.threshold_deg, detail.summary.mode)
    st.plotly_chart(figure, key="review-trace")


def _rep_tables(detail: SessionDetail) -> None:
    """One table per set: every rep with its peak, tempo and alert."""
    st.subheader("Every rep")
    rows = pd.DataFrame(rep_rows(detail))
    if rows.empty:
        st.info("No reps in this session.")
        return
    quantity = angle_label(detail.summary.mode).lower()
    worst = {s.number: worst_of_set(s.reps) for s in detail.sets}
    for set_number, table in rows.groupby("Set", sort=True):
        st.markdown(f"**Set {set_number}**{_worst_note(worst.get(int(set_number)), quantity)}")
        with st.container(key=f"review-set-{set_number}"):
            st.table(_styled(table.drop(columns="Set")), hide_index=True)


def _worst_note(rep: StoredRep | None, quantity: str) -> str:
    """`` · worst: rep 3, peak lumbar flexion 41.2° (over the threshold)`` beside a set's title."""
    if rep is None or rep.peak_flexion_deg is None:
        return ""
    over = " (over the threshold)" if rep.flexion_alert else ""
    return f" · worst: rep {rep.number}, peak {quantity} {rep.peak_flexion_deg:.1f}°{over}"


def _styled(table: pd.DataFrame) -> object:
    """Rows over the threshold in red; peaks to 0.1°, times to 0.01 s."""
    styled = table.style.apply(
        lambda row: [_ALERT_STYLE if row["Alert"] else "" for _ in row], axis=1
    )
    formats = {c: "{:.1f}" if c.startswith("Peak") else "{:.2f}" for c in table.columns}
    del formats["Rep"], formats["Alert"]
    return styled.format(formats, na_rep="—").hide(axis="index")


def _fatigue(detail: SessionDetail) -> None:
    """First rep over the threshold in each set, beside how much the concentric slowed."""
    fatigue = set_fatigue(detail)
    if not fatigue:
        return
    st.subheader("Rounding and fatigue, set by set")
    table_col, chart_col = st.columns([1, 1])
    with table_col:
        with st.container(key="review-fatigue"):
            st.table(fatigue_rows(fatigue), hide_index=True)
        st.markdown(_fatigue_sentence(fatigue))
    with chart_col:
        st.plotly_chart(concentric_figure(detail.sets), key="review-concentric")


def _fatigue_sentence(fatigue: Sequence[SetFatigue]) -> str:
    """The table in words, one line per set."""
    lines = []
    for f in fatigue:
        change = tempo_change(f.slowing_pct)
        if f.first_over_rep is None:
            lines.append(
                f"- Set {f.set_number}: no rep passed the threshold; against rep 1, the last "
                f"rep's concentric was {change}."
            )
        else:
            lines.append(
                f"- Set {f.set_number}: rep {f.first_over_rep} first passed the threshold; "
                f"against rep 1, its concentric was {change}."
            )
    return "\n".join(lines)


def _downloads(trace: AngleTrace, detail: SessionDetail) -> None:
    """The session as CSV (reps) and JSON (everything, angle trace included), made on click."""
    st.subheader("Download")
    name = f"backspotter-{detail.summary.id}"
    csv_col, json_col, _ = st.columns([1, 1, 2])
    with csv_col:
        st.download_button(
            "Reps (CSV)",
            lambda: reps_csv(detail),
            f"{name}-reps.csv",
            "text/csv",
            key="download-csv",
        )
    with json_col:
        st.download_button(
            "Whole session (JSON)",
            lambda: session_json(detail, trace),
            f"{name}.json",
            "application/json",
            key="download-json",
        )


render()
