"""Sessions page: every stored session with date, sets, reps, alerts and worst rep, filtered
by lifter and date; selecting a row opens its review."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

import streamlit as st

from dashboard.config import settings_from_env
from dashboard.data import local_time, rep_stats, session_rows, shared_store
from dashboard.widgets import browser_zone
from processing.store.reader import SessionStore

SESSION_PAGE = Path(__file__).parent / "session.py"
ALL_LIFTERS = "All lifters"


def render() -> None:
    """Filters, then the table."""
    settings = settings_from_env()
    store = shared_store(str(settings.db))
    zone = browser_zone()
    st.title("Sessions")
    lifter, since, until = _filters(store, zone)
    sessions = store.list_sessions(lifter, since, until)
    if not sessions:
        st.info("No sessions match. Record one with `backspotter run` or `backspotter demo`.")
        return
    rows = session_rows(sessions, rep_stats(store, [s.id for s in sessions]), zone)
    count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}"
    st.caption(f"{count}, newest first. Select a row to review the session.")
    picked = st.dataframe(
        rows,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="sessions-table",
        column_config={
            "Date": st.column_config.DatetimeColumn("Date", format="ddd D MMM YYYY, HH:mm")
        },
    )
    if picked.selection.rows:
        chosen = sessions[picked.selection.rows[0]]
        st.switch_page(SESSION_PAGE, query_params={"session": chosen.id})


def _filters(store: SessionStore, zone: tzinfo | None) -> tuple[str | None, datetime, datetime]:
    """Lifter and date range chosen by the viewer (the range covers every session at first)."""
    oldest = store.list_sessions()[-1:]
    first_day = local_time(oldest[0].started_at, zone).date() if oldest else date.today()
    today = max(datetime.now(zone or UTC).date(), first_day)
    lifter_col, dates_col = st.columns(2)
    with lifter_col:
        lifter = st.selectbox("Lifter", [ALL_LIFTERS, *store.lifters()], key="sessions-lifter")
    with dates_col:
        picked = st.date_input("Dates", value=(first_day, today), key="sessions-dates")
    days = picked if isinstance(picked, tuple) else (picked,)
    start = days[0] if days else first_day
    end = days[-1] if days else today
    return (
        None if lifter == ALL_LIFTERS else str(lifter),
        _day_start(start, zone),
        _day_start(end + timedelta(days=1), zone),
    )


def _day_start(day: date, zone: tzinfo | None) -> datetime:
    """Midnight at the start of ``day`` in the viewer's time zone."""
    return datetime.combine(day, time.min, tzinfo=zone or UTC)


render()
