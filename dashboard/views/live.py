"""Live page: what the lifter glances at between sets, from two metres away.

Redrawn four times a second from the shared MQTT feed: the current angle as a gauge coloured
against the threshold, set and rep in large numbers, the last alerts, sensor links and how fast
angle data is arriving. ``?lifter=NAME`` preselects a lifter (for a bookmark on the phone).
"""

from __future__ import annotations

import html

import streamlit as st

from dashboard.charts import RED, gauge, zone_colour
from dashboard.config import settings_from_env
from dashboard.data import angle_label
from dashboard.live_feed import LiveFeed, shared_feed
from dashboard.live_state import Alert, LiveView
from dashboard.widgets import banner, big_number, gauge_number

#: Redraw period: at least four updates a second.
REFRESH_S = 0.25
#: Without an angle for this long the gauge greys out: the data stopped.
STALE_AFTER_S = 3.0
#: Threshold shown before the session announced its own (the service's default with two sensors).
FALLBACK_THRESHOLD_DEG = 30.0
#: A gauge is read, not explored: no toolbar, no hover.
_STATIC = {"displayModeBar": False, "staticPlot": True}


def render() -> None:
    """The page: the feed's panel, or how to switch the feed on."""
    settings = settings_from_env()
    if settings.mqtt_url is None:
        st.info(
            "The live feed is off (no MQTT broker configured). Start the dashboard with --mqtt URL."
        )
        return
    live_panel(shared_feed(settings.mqtt_url, str(settings.db)))


@st.fragment(run_every=REFRESH_S)
def live_panel(feed: LiveFeed) -> None:
    """Everything that changes, redrawn on its own timer.

    The layout keeps the same elements in the same places on every redraw (the banner has a
    slot even when empty): a moved element is rebuilt, and a rebuilt chart flickers.
    """
    lifter = _choose_lifter(feed)
    view = None if lifter is None else feed.view(lifter)
    _status_line(feed, view)
    banner_slot = st.empty()
    if view is None:
        st.markdown(
            f"### Waiting for {lifter or 'a lifter'}…\nStart `backspotter run --source …` "
            "(or `backspotter demo`) and this page follows it."
        )
        return
    with banner_slot:
        _alert_banner(view)
    _numbers(view)
    _alerts(view)


def _choose_lifter(feed: LiveFeed) -> str | None:
    """The lifter in ``?lifter=`` (even before they appear), else the one heard last.

    The choice lives in the URL rather than in widget state, so a bookmark keeps working and a
    lifter who appears later is not hidden by whoever was on the broker first.
    """
    heard = feed.lifters()
    wanted = st.query_params.get("lifter") or (heard[0] if heard else None)
    if wanted is None:
        return None
    options = sorted({*heard, wanted})
    if len(options) > 1:
        chosen = str(st.selectbox("Lifter", options, index=options.index(wanted)))
        if chosen != wanted:
            st.query_params["lifter"] = chosen
        return chosen
    return wanted


def _status_line(feed: LiveFeed, view: LiveView | None) -> None:
    """One line: broker, the lifter's service, sensor links, data rate."""
    state = "connected" if feed.connected else _bad("connecting…")
    parts = [f"Broker {html.escape(str(feed.url))}: {state}"]
    if view is not None:
        parts.append(f"{view.lifter}: {_service_state(view)}")
        if view.online:
            parts.append(f"sensors: {_links(view.sensors)}")
        parts.append(f"angle data {view.points_per_s:.0f}/s")
    with st.container(key="live-status"):
        st.markdown(f'<div class="bs-status">{" · ".join(parts)}</div>', unsafe_allow_html=True)


def _links(sensors: dict[str, bool]) -> str:
    """``lower ok, upper LOST`` (links are only known while the service is online)."""
    links = [f"{role} {'ok' if up else _bad('LOST')}" for role, up in sorted(sensors.items())]
    return ", ".join(links) if links else "none yet"


def _service_state(view: LiveView) -> str:
    """Online; finished after a clean end; OFFLINE in red when it stopped mid-session."""
    return _bad(view.service) if view.service == "OFFLINE" else view.service


def _bad(text: str) -> str:
    """``text`` in bold red."""
    return f'<b style="color:{RED}">{html.escape(text)}</b>'


def _alert_banner(view: LiveView) -> None:
    """Red while the angle is over the threshold in a rep, and for a few seconds after; once
    the angle is back below the threshold it says how far it went (the peak)."""
    if view.ended or not (view.alert_active or view.alert_recent) or not view.alerts:
        return
    alert = view.alerts[0]
    quantity = angle_label(view.mode).upper()
    if view.alert_active or alert.peak_deg is None:
        text = f"{quantity} {alert.angle_deg:.0f}°: OVER {alert.threshold_deg:.0f}°"
    else:
        text = f"{quantity} PEAKED AT {alert.peak_deg:.0f}° (over {alert.threshold_deg:.0f}°)"
    banner(text, key="live-alert")


def _numbers(view: LiveView) -> None:
    """Gauge on the left; set, rep and session totals in large numbers on the right."""
    threshold = view.threshold_deg or FALLBACK_THRESHOLD_DEG
    fresh = view.angle_age_s is not None and view.angle_age_s < STALE_AFTER_S and not view.ended
    left, right = st.columns([5, 4], vertical_alignment="center")
    with left:
        angle = view.angle_deg if fresh else None
        st.plotly_chart(gauge(angle, threshold, view.mode), key="live-gauge", config=_STATIC)
        gauge_number(_degrees(angle), zone_colour(angle, threshold), key="live-angle")
        st.caption(_angle_note(view, fresh))
    with right:
        set_col, rep_col = st.columns(2)
        with set_col:
            big_number("Set", str(view.set_number or "–"), key="live-set")
        with rep_col:
            big_number("Rep", str(view.rep_in_set or "–"), key="live-rep")
        big_number("Reps this session", str(view.total_reps), key="live-total-reps", size="medium")
        peak_col, worst_col = st.columns(2)
        with peak_col:
            big_number(
                "Last rep peak", _degrees(view.last_peak_deg), key="live-last-peak", size="medium"
            )
        with worst_col:
            big_number("Worst this set", _worst(view), key="live-worst", size="medium")
        st.markdown(
            f'<div class="bs-status">{_phase(view)} · {angle_label(view.mode)}, '
            f"alert above {threshold:.0f}°</div>",
            unsafe_allow_html=True,
        )


def _angle_note(view: LiveView, fresh: bool) -> str:
    """Why the gauge shows no number, or what it shows (an empty caption keeps its place)."""
    if view.ended:
        return " "  # the phase line beside the numbers already says the session ended
    if view.angle_age_s is None and not view.calibrated:
        # The service measures angles from the upright reference, so it has none before it.
        return (
            "Waiting for the first upright reference: stand still and upright for 3 s "
            "(otherwise your first lockouts set it)."
        )
    return " " if fresh else "No angle data in the last few seconds."


def _worst(view: LiveView) -> str:
    """``rep 3: 41°`` for the current set's worst rep, or a dash."""
    if view.worst_in_set is None:
        return "–"
    rep, peak = view.worst_in_set
    return f"rep {rep}: {peak:.0f}°"


def _degrees(value: float | None) -> str:
    """``23°`` or a dash."""
    return "–" if value is None else f"{value:.0f}°"


def _phase(view: LiveView) -> str:
    """Where the lifter is in the session."""
    if view.ended:
        return "Session ended"
    if view.set_number == 0:
        return "Waiting for the first rep"
    return "Resting" if view.resting else "In a set"


def _alerts(view: LiveView) -> None:
    """The last flexion alerts, newest first: how far the angle went and in which rep."""
    quantity = angle_label(view.mode).lower()
    with st.container(key="live-alerts"):
        st.markdown(f"#### Alerts this session: {view.alert_count}")
        for alert in view.alerts:
            st.markdown(
                f'<div class="bs-status">⚠ {_alert_angle(alert, quantity)} {alert.where}, '
                f"at {alert.t_s:.0f} s</div>",
                unsafe_allow_html=True,
            )


def _alert_angle(alert: Alert, quantity: str) -> str:
    """``lumbar flexion peaked at 41° (threshold 30°)``; the crossing until the peak is known."""
    if alert.peak_deg is None:
        return f"{quantity} passed {alert.threshold_deg:.0f}° (still over)"
    return f"{quantity} peaked at {alert.peak_deg:.0f}° (threshold {alert.threshold_deg:.0f}°)"


render()
