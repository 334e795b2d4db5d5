"""Building blocks shared by the pages: large numbers readable from two metres, the browser's
time zone, a session picker."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from dashboard.data import local_time
from processing.store.reader import SessionSummary

_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
.bs-label { font-size: 1.5rem; font-weight: 600; letter-spacing: .06em;
            text-transform: uppercase; color: #555; margin-bottom: -.2rem; }
.bs-big { font-size: clamp(5rem, 13vw, 11rem); font-weight: 800; line-height: 1;
          font-variant-numeric: tabular-nums; }
.bs-medium { font-size: clamp(1.8rem, 3.2vw, 2.8rem); font-weight: 700;
             font-variant-numeric: tabular-nums; }
.bs-banner { background: #c62828; color: #fff; font-size: clamp(1.8rem, 4vw, 3rem);
             font-weight: 800; padding: .3em .6em; border-radius: .3em; text-align: center; }
.bs-status { font-size: 1.15rem; }
.bs-gauge-number { font-size: clamp(3.5rem, 9vw, 6rem); font-weight: 800; line-height: 1;
                   text-align: center; font-variant-numeric: tabular-nums; margin-top: -.5rem; }
</style>
"""


def inject_css() -> None:
    """The dashboard's styles (once per full run; fragments keep them)."""
    st.html(_CSS)


def big_number(label: str, value: str, key: str, size: str = "big") -> None:
    """A labelled number in a container whose key (``st-key-<key>``) tests and CSS can find."""
    with st.container(key=key):
        st.markdown(
            f'<div class="bs-label">{html.escape(label)}</div>'
            f'<div class="bs-{size} bs-value">{html.escape(value)}</div>',
            unsafe_allow_html=True,
        )


def gauge_number(text: str, colour: str, key: str) -> None:
    """The gauge's value below its arc, in text that scales with the screen width."""
    with st.container(key=key):
        st.markdown(
            f'<div class="bs-gauge-number bs-value" style="color:{colour}">'
            f"{html.escape(text)}</div>",
            unsafe_allow_html=True,
        )


def banner(text: str, key: str) -> None:
    """A red full-width banner (the back is rounding past the threshold right now)."""
    with st.container(key=key):
        st.markdown(f'<div class="bs-banner">{html.escape(text)}</div>', unsafe_allow_html=True)


def browser_zone() -> tzinfo | None:
    """The viewer's time zone as the browser reports it (None when unknown)."""
    name = st.context.timezone
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def session_label(summary: SessionSummary, zone: tzinfo | None) -> str:
    """``Mon 16 Jun 2025 08:15:02 · alice · 3 sets, 14 reps``: seconds, so two sessions
    started in the same minute (a restart after a false start) can be told apart."""
    started = local_time(summary.started_at, zone)
    return (
        f"{started:%a %d %b %Y %H:%M:%S} · {summary.lifter} · "
        f"{summary.sets} sets, {summary.reps} reps"
    )


def pick_session(
    sessions: Sequence[SessionSummary], wanted_id: str | None, zone: tzinfo | None, key: str
) -> SessionSummary | None:
    """A select box of ``sessions`` preselecting ``wanted_id`` (else the newest)."""
    if not sessions:
        return None
    ids = [s.id for s in sessions]
    index = ids.index(wanted_id) if wanted_id in ids else 0
    by_id = {s.id: s for s in sessions}
    chosen = st.selectbox(
        "Session",
        ids,
        index=index,
        format_func=lambda sid: session_label(by_id[sid], zone),
        key=key,
    )
    return by_id[str(chosen)]
