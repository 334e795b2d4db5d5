"""The Backspotter dashboard (``backspotter dashboard`` runs ``streamlit run`` on this file).

Pages: Live (MQTT, for the lifter between sets), Sessions, Session (review of one), Progress
(soreness log and progress over the weeks). Settings come from the environment
(:mod:`dashboard.config`); a configured password is asked for before any page shows.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.auth import signed_in
from dashboard.config import settings_from_env
from dashboard.widgets import inject_css

#: Not "pages": Streamlit treats a pages/ folder beside the entry script as its legacy
#: multipage mode and then never runs this script's st.navigation.
PAGES = Path(__file__).parent / "views"


def main() -> None:
    """Configure the app, ask for the password if one is set, and run the chosen page."""
    st.set_page_config(
        page_title="Backspotter", page_icon=":material/fitness_center:", layout="wide"
    )
    inject_css()
    if not signed_in(settings_from_env().password):
        st.stop()
    pages = [
        st.Page(
            PAGES / "live.py",
            title="Live",
            icon=":material/monitor_heart:",
            url_path="live",
            default=True,
        ),
        st.Page(
            PAGES / "sessions.py", title="Sessions", icon=":material/list:", url_path="sessions"
        ),
        st.Page(
            PAGES / "session.py",
            title="Session review",
            icon=":material/show_chart:",
            url_path="session",
        ),
        st.Page(
            PAGES / "progress.py",
            title="Progress",
            icon=":material/trending_down:",
            url_path="progress",
        ),
    ]
    st.navigation(pages, position="top").run()


main()
