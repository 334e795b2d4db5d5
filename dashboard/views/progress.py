"""Progress and soreness: log how the back feels the day after a session (0-10 and a note), and
see each session's worst rep and reps over the threshold beside the soreness over the weeks."""

from __future__ import annotations

from datetime import tzinfo

import streamlit as st

from dashboard.charts import progress_figure
from dashboard.config import settings_from_env
from dashboard.data import angle_label, local_time, progress_points, rep_stats, shared_store
from dashboard.widgets import browser_zone, pick_session
from processing.store.reader import SessionStore, SessionSummary, SorenessEntry

MODE_NAMES = {"dual": "Two sensors", "single": "One sensor"}


def render() -> None:
    """Lifter, soreness form, chart, log."""
    settings = settings_from_env()
    store = shared_store(str(settings.db))
    zone = browser_zone()
    st.title("Progress and soreness")
    lifters = store.lifters()
    if not lifters:
        st.info("No sessions stored yet.")
        return
    lifter = str(st.selectbox("Lifter", lifters, key="progress-lifter"))
    sessions = store.list_sessions(lifter)
    _soreness_form(store, sessions, zone)
    soreness = store.soreness_for(lifter=lifter)
    st.subheader("Over the weeks")
    mode = _choose_mode(sessions)
    charted = [s for s in sessions if s.mode == mode]
    points = progress_points(charted, rep_stats(store, [s.id for s in charted]), zone)
    st.plotly_chart(progress_figure(points, soreness, mode), key="progress-chart")
    _soreness_log(soreness, {s.id: s for s in sessions}, zone)


def _choose_mode(sessions: list[SessionSummary]) -> str | None:
    """One sensor setup at a time: inclination and lumbar flexion are different quantities."""
    # Newest session first, so the default is the setup the lifter uses now.
    modes = list(dict.fromkeys(s.mode for s in sessions if s.mode is not None))
    if len(modes) < 2:
        return modes[0] if modes else None
    choice = st.radio(
        "Sensors",
        modes,
        format_func=lambda m: f"{MODE_NAMES.get(m, m)}: {angle_label(m).lower()}",
        horizontal=True,
        key="progress-mode",
    )
    return str(choice)


def _soreness_form(
    store: SessionStore, sessions: list[SessionSummary], zone: tzinfo | None
) -> None:
    """How sore is the back after a session? (Stored with the time it was logged.)"""
    st.subheader("How does your back feel today?")
    with st.form("soreness", clear_on_submit=True):
        chosen = pick_session(sessions, st.query_params.get("session"), zone, "soreness-session")
        score = st.slider("Soreness (0 = none, 10 = worst imaginable)", 0, 10, 0, key="score")
        note = st.text_input("Note (optional)", key="note", placeholder="e.g. tight left side")
        submitted = st.form_submit_button("Log soreness")
    if submitted and chosen is not None:
        store.log_soreness(chosen.id, int(score), note.strip())
        day = local_time(chosen.started_at, zone)
        st.success(f"Logged soreness {score}/10 for the session of {day:%a %d %b}.")


def _soreness_log(
    entries: list[SorenessEntry], sessions: dict[str, SessionSummary], zone: tzinfo | None
) -> None:
    """Every soreness note of the lifter, newest first."""
    st.subheader("Soreness log")
    if not entries:
        st.caption("Nothing logged yet.")
        return
    rows = [
        {
            "Logged": f"{local_time(e.logged_at, zone):%a %d %b %Y %H:%M}",
            "Session": f"{local_time(sessions[e.session_id].started_at, zone):%a %d %b %Y %H:%M}",
            "Soreness (0–10)": e.score,
            "Note": e.note,
        }
        for e in reversed(entries)
        if e.session_id in sessions
    ]
    with st.container(key="progress-log"):
        st.table(rows)


render()
