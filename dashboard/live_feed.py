"""One MQTT subscriber per dashboard server, shared by every browser session.

It subscribes to every lifter's topics and keeps the latest state of each (see
:mod:`dashboard.live_state`). paho's network thread reconnects by itself when the broker
restarts, and the subscription is renewed on every connection. Events published while the
feed was not listening (it started mid-session, or the broker was down) are read back from the
session store: when a session is first seen, on every status message and reconnection, and
(at most once a second) while events are still missing, since the store commits a moment after
MQTT delivers.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as paho
import streamlit as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from dashboard.data import shared_store, stored_events
from dashboard.live_state import LifterState, LiveView, newer_session
from processing.store.reader import SessionStore
from processing.wire.mqtt_url import BrokerURL

log = logging.getLogger(__name__)

#: Every lifter's status, events and live angles.
TOPIC_FILTER = "backspotter/v1/+/#"
_KEEPALIVE_S = 15
_RECONNECT_MIN_S = 1
_RECONNECT_MAX_S = 2
#: While a session misses events, the store is read again at most this often.
CATCH_UP_INTERVAL_S = 1.0

#: Reads a session's stored events (contract-3 envelopes); empty when the store has none.
History = Callable[[str], Sequence[dict[str, Any]]]


class LiveFeed:
    """Subscribes in the background and answers with snapshots per lifter."""

    def __init__(self, url: BrokerURL, history: History | None = None) -> None:
        """Start connecting to ``url``; ``history`` fills in events missed while away."""
        self.url = url
        self._history = history
        self._lock = threading.Lock()
        self._lifters: dict[str, LifterState] = {}
        self._last_heard_s: dict[str, float] = {}
        self._caught_up_s: dict[str, float] = {}
        self._connected = False
        self._client = _make_client(url)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.connect_async(url.host, url.port, _KEEPALIVE_S)
        self._client.loop_start()

    @property
    def connected(self) -> bool:
        """True while subscribed to the broker."""
        return self._connected

    def lifters(self) -> list[str]:
        """Every lifter heard of, the most recently heard first."""
        with self._lock:
            return sorted(self._last_heard_s, key=lambda name: -self._last_heard_s[name])

    def view(self, lifter: str) -> LiveView | None:
        """A snapshot of ``lifter`` now, or None if nothing was heard of them."""
        with self._lock:
            state = self._lifters.get(lifter)
            if state is None:
                return None
            now_s = time.monotonic()
            if (
                state.incomplete()
                and now_s - self._caught_up_s.get(lifter, 0.0) > CATCH_UP_INTERVAL_S
            ):
                self._catch_up(state)
            return state.view(now_s, time.time())

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        """Subscribe on every connection and catch up on what was missed meanwhile."""
        if reason.is_failure:
            log.warning("MQTT broker %s refused the dashboard: %s", self.url, reason)
            return
        client.subscribe(TOPIC_FILTER, qos=1)
        self._connected = True
        with self._lock:
            for state in self._lifters.values():
                self._catch_up(state)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        """Note the outage; paho's thread keeps reconnecting."""
        self._connected = False

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """Fold one message into its lifter's state; malformed messages are logged and dropped."""
        parts = message.topic.split("/")
        if len(parts) < 4:
            return
        try:
            payload = json.loads(message.payload)
            with self._lock:
                self._apply(parts[2], parts[3], payload)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            log.warning("dropped a malformed message on %s: %s", message.topic, error)

    def _apply(self, lifter: str, kind: str, payload: dict[str, Any]) -> None:
        """Route a decoded message; a session seen for the first time is read back."""
        if kind not in ("status", "events", "live"):
            return  # e.g. a store consumer's confirmation: not the lifter's state
        now_s = time.monotonic()
        state = self._lifters.setdefault(lifter, LifterState(lifter))
        self._last_heard_s[lifter] = now_s
        is_new = newer_session(payload.get("session_id"), state.session_id)
        if kind == "status":
            state.apply_status(payload)
        elif kind == "events":
            state.apply_event(payload)
        elif kind == "live":
            state.apply_live(payload, now_s)
        if is_new or kind == "status":
            self._catch_up(state)

    def _catch_up(self, state: LifterState) -> None:
        """Merge the stored events of the lifter's current session (under the lock)."""
        if self._history is None or state.session_id is None:
            return
        self._caught_up_s[state.lifter] = time.monotonic()
        for event in self._history(state.session_id):
            state.apply_event(dict(event))


def _make_client(url: BrokerURL) -> paho.Client:
    """A paho client (MQTT 3.1.1, which Mosquitto and the embedded amqtt both speak)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"backspotter-dashboard-{secrets.token_hex(4)}",
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=True,
    )
    client.reconnect_delay_set(_RECONNECT_MIN_S, _RECONNECT_MAX_S)
    url.log_in(client)
    return client


@st.cache_resource(show_spinner=False, on_release=LiveFeed.close)
def shared_feed(mqtt_url: str, db: str) -> LiveFeed:
    """The server's one subscriber, reading missed events back from the store ``db``."""
    store: SessionStore = shared_store(db)
    return LiveFeed(BrokerURL.parse(mqtt_url), lambda session_id: stored_events(store, session_id))
