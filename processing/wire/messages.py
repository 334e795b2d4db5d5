"""Contract 3 on the wire: topics and JSON payloads of events, status and live angles.

Every output (MQTT, session store, console) sees the same stamped event dictionaries, so a
``seq`` in the store is the ``seq`` a subscriber received.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from processing.events import AngleTrace, Event
from processing.wire.json_text import to_json_text

#: Version of the payloads, sent as ``v`` in every message.
PAYLOAD_VERSION = 1
#: Shortest time between two ``live`` messages of a lifter, in s.
LIVE_INTERVAL_S = 0.2
#: Keys every event carries; pipeline payloads may not use them.
ENVELOPE_KEYS = frozenset({"v", "type", "session_id", "seq", "ts", "t"})
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def validate_lifter(name: str) -> str:
    """Return ``name`` if it can be one MQTT topic level, else raise ``ValueError``."""
    if not _TOPIC_LEVEL.match(name):
        raise ValueError(
            f"lifter name {name!r} must be 1-64 letters, digits, '_', '-' or '.'"
            " (it becomes an MQTT topic level)"
        )
    return name


def topic_root(lifter: str) -> str:
    """``backspotter/v1/<lifter>``: every topic of one lifter lives under it."""
    return f"backspotter/v1/{lifter}"


def event_topic(lifter: str, event_type: str) -> str:
    """Topic of one event type, published at QoS 1 and never retained."""
    return f"{topic_root(lifter)}/events/{event_type}"


def status_topic(lifter: str) -> str:
    """Retained status topic, also the last will."""
    return f"{topic_root(lifter)}/status"


def live_topic(lifter: str) -> str:
    """QoS 0 topic of the downsampled live angle."""
    return f"{topic_root(lifter)}/live"


def stored_topic(lifter: str) -> str:
    """Where store consumers confirm what of a lifter's sessions they have stored (QoS 1)."""
    return f"{topic_root(lifter)}/stored"


#: Where a store consumer says it has (re)subscribed (QoS 1): hubs that wait for the store
#: send again whatever it has not confirmed, which a broker restart may have lost.
STORE_READY_TOPIC = "backspotter/store/v1/ready"


def stored_payload(session_id: str, seq: int) -> dict[str, Any]:
    """A ``stored`` confirmation: every event ``1..seq`` of the session is committed."""
    return {"v": PAYLOAD_VERSION, "session_id": session_id, "seq": seq, "ts": now_ms()}


def store_ready_payload(group: str, client_id: str, subscribed_ms: int) -> dict[str, Any]:
    """A store consumer's announcement that it is subscribed (since ``subscribed_ms``)."""
    return {
        "v": PAYLOAD_VERSION,
        "group": group,
        "client_id": client_id,
        "subscribed_ms": subscribed_ms,
        "ts": now_ms(),
    }


def now_ms() -> int:
    """Wall-clock time as epoch milliseconds (UTC)."""
    return time.time_ns() // 1_000_000


def new_session_id() -> str:
    """A sortable, unique session id: UTC start time plus random hex."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


class EventStamper:
    """Adds the contract-3 envelope to a session's events; ``seq`` counts from 1."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.last_seq = 0

    def stamp(self, events: Iterable[Event], ts_ms: int) -> list[dict[str, Any]]:
        """Envelope dictionaries for ``events``, in order, each with the next ``seq``."""
        return [self._stamp_one(event, ts_ms) for event in events]

    def _stamp_one(self, event: Event, ts_ms: int) -> dict[str, Any]:
        """One event with its envelope; payload keys that clash with it are a bug upstream."""
        clash = ENVELOPE_KEYS.intersection(event.data)
        if clash:
            raise ValueError(f"{event.type} payload uses reserved keys {sorted(clash)}")
        self.last_seq += 1
        envelope = {
            "v": PAYLOAD_VERSION,
            "type": event.type,
            "session_id": self.session_id,
            "seq": self.last_seq,
            "ts": ts_ms,
            "t": round(float(event.t), 3),
        }
        return {**envelope, **event.data}


def live_payload(session_id: str, angles: AngleTrace, ts_ms: int) -> dict[str, Any] | None:
    """The ``live`` message for one update (latest angle plus its points), or None if empty.

    Points without a finite angle (orientation not settled yet) are left out.
    """
    finite = np.isfinite(angles.angle_deg)
    if not finite.any():
        return None
    t_s = np.round(angles.t_s[finite], 3).tolist()
    angle_deg = np.round(angles.angle_deg[finite], 2).tolist()
    return {
        "v": PAYLOAD_VERSION,
        "session_id": session_id,
        "ts": ts_ms,
        "t": t_s[-1],
        "angle_deg": angle_deg[-1],
        "samples": [list(pair) for pair in zip(t_s, angle_deg, strict=True)],
    }


class LiveBuffer:
    """Collects live angle points so that at most one ``live`` message goes out per interval.

    Sources deliver small batches (a BLE notification may carry one sample); bundling keeps the
    message rate, and the broker's load, independent of that.
    """

    def __init__(self, session_id: str, interval_s: float = LIVE_INTERVAL_S) -> None:
        self.session_id = session_id
        self.interval_s = interval_s
        self._parts: list[AngleTrace] = []
        self._last_s = -math.inf

    def add(self, angles: AngleTrace, now_s: float) -> dict[str, Any] | None:
        """Keep ``angles``; return the next message when ``interval_s`` has passed, else None."""
        if len(angles):
            self._parts.append(angles)
        if not self._parts or now_s - self._last_s < self.interval_s:
            return None
        parts, self._parts = self._parts, []
        t_s = np.concatenate([p.t_s for p in parts])
        angle_deg = np.concatenate([p.angle_deg for p in parts])
        payload = live_payload(self.session_id, AngleTrace(t_s, angle_deg), now_ms())
        if payload is not None:
            self._last_s = now_s
        return payload


def status_payload(
    state: str,
    session_id: str | None,
    sensors: Mapping[str, bool],
    ts_ms: int | None,
    dropped_samples: int = 0,
) -> dict[str, Any]:
    """The retained ``status`` message: ``online``, ``ended`` or ``offline``, sensor links and
    the samples dropped as physically impossible so far."""
    return {
        "v": PAYLOAD_VERSION,
        "state": state,
        "session_id": session_id,
        "sensors": dict(sensors),
        "ts": ts_ms,
        "dropped_samples": dropped_samples,
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a payload; NaN and infinities become ``null`` (JSON has none)."""
    return to_json_text(payload).encode()
