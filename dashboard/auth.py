"""Who may open the dashboard: anyone on this machine, a password for anyone else.

``backspotter dashboard`` binds to localhost unless ``--address`` says otherwise, and refuses a
non-local address unless a password is configured (``BACKSPOTTER_DASHBOARD_PASSWORD`` or
``--password-file``); the app then asks for it once per browser session.
"""

from __future__ import annotations

import hmac
import ipaddress

_SESSION_KEY = "backspotter_signed_in"


def is_local_address(address: str) -> bool:
    """True when binding ``address`` serves this machine only."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def binding_error(address: str, password: str | None) -> str | None:
    """Why the dashboard may not bind ``address`` with this password, or None when it may."""
    if is_local_address(address) or password:
        return None
    return (
        f"binding to {address} lets other machines open the dashboard: set a password first "
        "(BACKSPOTTER_DASHBOARD_PASSWORD or --password-file; see docs/dashboard.md)"
    )


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak the password."""
    return hmac.compare_digest(given.encode(), expected.encode())


def signed_in(password: str | None) -> bool:
    """Draw the sign-in form unless no password is set or this session already signed in."""
    import streamlit as st

    if password is None or st.session_state.get(_SESSION_KEY):
        return True
    with st.form("sign_in"):
        st.markdown("### Backspotter")
        given = st.text_input("Dashboard password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted and password_matches(given, password):
        st.session_state[_SESSION_KEY] = True
        st.rerun()
    if submitted:
        st.error("Wrong password.")
    return False
