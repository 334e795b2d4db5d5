"""Messages from the broker, checked and grouped by session for one store transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import numpy as np

from processing.events import AngleTrace
from processing.wire.schemas import validate_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One received message, with the connection it came on (acks go back on that one)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int


@dataclass
class Batch:
    """Decoded messages of one transaction, by session."""

    #: Session -> (lifter, earliest ``ts`` of its messages here, epoch ms).
    sessions: dict[str, tuple[str, int]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    traces: dict[str, list[AngleTrace]] = field(default_factory=dict)
    trace_messages: int = 0
    malformed: int = 0

    def add_session(self, session_id: str, lifter: str, ts_ms: int) -> None:
        """Note a message of ``session_id`` sent at ``ts_ms``."""
        _, first_ms = self.sessions.get(session_id, (lifter, ts_ms))
        self.sessions[session_id] = (lifter, min(first_ms, ts_ms))


def _parse(message: Received) -> tuple[str, str, dict[str, Any]]:
    """``(lifter, "events" or "live", payload)`` of a valid message; ValueError otherwise.

    Events are checked against their JSON Schema; ``live`` messages, 20 times as many, only
    for what is stored of them (:func:`_live_trace`): the schema check of their points was
    40% of a consumer's time (bench_gym).
    """
    parts = message.topic.split("/")
    if len(parts) < 4 or parts[:2] != ["backspotter", "v1"]:
        raise ValueError("not a backspotter/v1 topic")
    lifter, kind = parts[2], parts[3]
    payload = json.loads(message.payload)
    if not isinstance(payload, dict):
        raise ValueError("the payload is not a JSON object")
    if kind != "live":
        validate_event(payload)
        if parts[4:] != [payload["type"]]:
            raise ValueError(f"a {payload['type']} event on the wrong topic")
    return lifter, kind, payload


def _live_trace(payload: Mapping[str, Any]) -> tuple[str, int, AngleTrace]:
    """Session, ``ts`` and points of a ``live`` message; ValueError when it is not one."""
    session_id, ts_ms = payload.get("session_id"), payload.get("ts")
    if not isinstance(session_id, str) or not isinstance(ts_ms, int):
        raise ValueError("a live message names its session_id and ts")
    try:
        points = np.asarray(payload["samples"], dtype=np.float64)
    except (KeyError, TypeError) as error:
        raise ValueError(f"no [t, angle_deg] samples: {error}") from None
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError("the samples are not [t, angle_deg] pairs")
    return session_id, ts_ms, AngleTrace(points[:, 0], points[:, 1])


def decode(messages: list[Received]) -> Batch:
    """Valid messages by session; malformed ones are logged, counted and left out."""
    batch = Batch()
    for message in messages:
        try:
            lifter, kind, payload = _parse(message)
            if kind == "live":
                session_id, ts_ms, trace = _live_trace(payload)
                batch.traces.setdefault(session_id, []).append(trace)
                batch.trace_messages += 1
            else:
                session_id, ts_ms = payload["session_id"], payload["ts"]
                batch.events.setdefault(session_id, []).append(payload)
        except (ValueError, jsonschema.ValidationError) as error:
            batch.malformed += 1
            reason = getattr(error, "message", error)
            log.warning("dropped a malformed message on %s: %s", message.topic, reason)
            continue
        batch.add_session(session_id, lifter, ts_ms)
    return batch
