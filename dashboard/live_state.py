"""What the live page knows about one lifter, folded from MQTT messages (contract 3).

Everything shown is derived from the session's events kept by ``seq``, so a duplicate (the
publisher resends after reconnecting) or an event that arrives late changes nothing, and a
session's events read back from the store can be merged in at any time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

#: How many recent flexion alerts the live page lists.
RECENT_ALERTS = 5
#: Wall-clock window over which the live data rate is measured, in s.
RATE_WINDOW_S = 2.0
#: An alert stays "recent" this long, so a lifter glancing up after the rep still sees it.
RECENT_ALERT_S = 10.0


@dataclass(frozen=True)
class Alert:
    """One flexion alert: the angle crossed up through the threshold."""

    t_s: float
    angle_deg: float
    threshold_deg: float
    set_number: int | None
    rep: int | None
    #: When the service emitted it, epoch s.
    emitted_s: float
    #: How far the angle went before it fell back below the threshold; None until it did.
    peak_deg: float | None = None
    #: The alert is still in a rep that has not ended (so it has no number yet).
    pending: bool = False

    @property
    def where(self) -> str:
        """``in set 2 rep 3``, ``in the current rep``, or ``outside a rep``."""
        if self.rep is not None and self.set_number is not None:
            return f"in set {self.set_number} rep {self.rep}"
        return "in the current rep" if self.pending else "outside a rep"


@dataclass(frozen=True)
class LiveView:
    """A consistent snapshot of one lifter for the page to draw."""

    lifter: str
    #: True online, False offline, None before any status arrived.
    online: bool | None
    #: The service said ``offline`` itself (a clean stop), rather than the broker's last will.
    stopped_cleanly: bool
    sensors: dict[str, bool]
    session_id: str | None
    mode: str | None
    threshold_deg: float | None
    set_number: int
    rep_in_set: int
    total_reps: int
    resting: bool
    last_peak_deg: float | None
    #: The current set's rep with the highest peak and that peak, once a rep has one.
    worst_in_set: tuple[int, float] | None
    #: The latest alerts, newest first (at most ``RECENT_ALERTS``).
    alerts: tuple[Alert, ...]
    alert_count: int
    #: The angle is above the threshold in a rep right now.
    alert_active: bool
    #: The latest alert was emitted less than ``RECENT_ALERT_S`` ago.
    alert_recent: bool
    angle_deg: float | None
    #: Seconds since the latest angle arrived (None before any).
    angle_age_s: float | None
    #: Angle points received per wall-clock second, over the last ``RATE_WINDOW_S``.
    points_per_s: float
    #: The session ended: its ``session_end`` arrived, or the service stopped cleanly.
    ended: bool
    #: The upright reference exists (``calibrated``); until then the service has no angle.
    calibrated: bool

    @property
    def service(self) -> str:
        """``online``; ``finished`` after a clean end; ``OFFLINE`` when it stopped mid-session."""
        if self.online is None:
            return "no status yet"
        if self.online:
            return "online"
        return "finished" if self.ended else "OFFLINE"


def _finite(value: Any) -> float | None:
    """A JSON number as float, None for null or non-finite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def newer_session(candidate: str | None, current: str | None) -> bool:
    """True when ``candidate`` is a later session than ``current`` (ids sort by start time)."""
    return candidate is not None and (current is None or candidate > current)


@dataclass
class LifterState:
    """Mutable state of one lifter; the feed updates it under its lock."""

    lifter: str
    session_id: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    angle_deg: float | None = None
    angle_at_s: float | None = None
    _arrivals: deque[tuple[float, int]] = field(default_factory=deque)

    def follows(self, session_id: str | None) -> bool:
        """Switch to ``session_id`` if it is newer; True when messages of it should be kept."""
        if newer_session(session_id, self.session_id):
            self.session_id = session_id
            self.events = {}
            self.angle_deg = self.angle_at_s = None
        return session_id is not None and session_id == self.session_id

    def apply_status(self, payload: dict[str, Any]) -> None:
        """Take the retained status (online/offline, sensor links)."""
        self.status = payload
        self.follows(payload.get("session_id"))

    def apply_event(self, event: dict[str, Any]) -> None:
        """Keep one event of the current (or a newer) session; duplicates overwrite themselves."""
        if self.follows(event.get("session_id")):
            self.events[int(event["seq"])] = event

    def incomplete(self) -> bool:
        """Events are missing: a hole in ``seq``, or the service went offline without its
        ``session_end`` reaching us (the store commits a moment after MQTT delivers)."""
        if self.session_id is None:
            return False
        seqs = self.events.keys()
        holes = bool(seqs) and (min(seqs) != 1 or max(seqs) != len(seqs))
        ended = any(e["type"] == "session_end" for e in self.events.values())
        return holes or (self.status.get("state") == "offline" and not ended)

    def apply_live(self, payload: dict[str, Any], now_s: float) -> None:
        """Take the latest angle of a ``live`` message and count its points."""
        if not self.follows(payload.get("session_id")):
            return
        self.angle_deg = _finite(payload.get("angle_deg"))
        self.angle_at_s = now_s
        self._arrivals.append((now_s, len(payload.get("samples", ()))))
        while self._arrivals and self._arrivals[0][0] < now_s - RATE_WINDOW_S:
            self._arrivals.popleft()

    def view(self, now_s: float, now_epoch_s: float) -> LiveView:
        """The snapshot at monotonic time ``now_s`` (wall clock ``now_epoch_s``)."""
        ordered = [self.events[seq] for seq in sorted(self.events)]
        counts = _counts(ordered)
        recent = [n for at_s, n in self._arrivals if at_s >= now_s - RATE_WINDOW_S]
        alerts = _recent_alerts(ordered)
        clean_stop = _stopped_cleanly(self.status, self.session_id)
        return LiveView(
            lifter=self.lifter,
            online=_online(self.status),
            stopped_cleanly=clean_stop,
            sensors=_sensors(self.status, ordered),
            session_id=self.session_id,
            mode=_first(ordered, "session_start", "mode"),
            threshold_deg=_finite(_threshold_deg(ordered)),
            set_number=counts[0],
            rep_in_set=counts[1],
            total_reps=counts[2],
            resting=_last_of(ordered, ("set_start", "set_end")) == "set_end",
            last_peak_deg=_last_peak(ordered),
            worst_in_set=_worst_in_set(ordered, counts[0]),
            alerts=alerts,
            alert_count=sum(e["type"] == "flexion_alert" for e in ordered),
            alert_active=_last_of(ordered, ("flexion_alert", "flexion_clear")) == "flexion_alert",
            alert_recent=bool(alerts) and now_epoch_s - alerts[0].emitted_s < RECENT_ALERT_S,
            angle_deg=self.angle_deg,
            angle_age_s=None if self.angle_at_s is None else now_s - self.angle_at_s,
            points_per_s=sum(recent) / RATE_WINDOW_S,
            ended=clean_stop or any(e["type"] == "session_end" for e in ordered),
            calibrated=any(e["type"] == "calibrated" for e in ordered),
        )


def _online(status: dict[str, Any]) -> bool | None:
    """Whether the lifter's service is up, per the retained status."""
    state = status.get("state")
    return None if state is None else state == "online"


def _stopped_cleanly(status: dict[str, Any], session_id: str | None) -> bool:
    """The service published ``offline`` for this session itself (the last will has no ``ts``),
    so the session ended even when its ``session_end`` is in no store this dashboard reads."""
    return (
        status.get("state") == "offline"
        and status.get("ts") is not None
        and status.get("session_id") == session_id
    )


def _sensors(status: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, bool]:
    """Sensor links: the status's, updated by any later connect/lost event."""
    links = {str(role): bool(up) for role, up in status.get("sensors", {}).items()}
    status_ms = status.get("ts") or 0
    for event in events:
        if event["type"] in ("sensor_connected", "sensor_lost") and event["ts"] > status_ms:
            links[str(event["role"])] = event["type"] == "sensor_connected"
    return links


def _counts(events: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(current set, reps in it, reps in the session) from ``set_start`` and ``rep`` events."""
    reps = [e for e in events if e["type"] == "rep"]
    sets = [int(e["set"]) for e in events if e["type"] in ("set_start", "rep")]
    set_number = max(sets, default=0)
    in_set = [int(e["rep"]) for e in reps if int(e["set"]) == set_number]
    return set_number, max(in_set, default=0), len(reps)


def _threshold_deg(events: list[dict[str, Any]]) -> Any:
    """The threshold in force: the reference reps' once set, else the session's."""
    kinds = ("session_start", "threshold")
    return next((e["threshold_deg"] for e in reversed(events) if e["type"] in kinds), None)


def _first(events: list[dict[str, Any]], kind: str, key: str) -> Any:
    """``key`` of the first event of type ``kind``, or None."""
    return next((e.get(key) for e in events if e["type"] == kind), None)


def _last_of(events: list[dict[str, Any]], kinds: tuple[str, ...]) -> str | None:
    """The type of the latest event among ``kinds``."""
    return next((e["type"] for e in reversed(events) if e["type"] in kinds), None)


def _last_peak(events: list[dict[str, Any]]) -> float | None:
    """Peak flexion of the latest rep."""
    return next(
        (_finite(e["peak_flexion_deg"]) for e in reversed(events) if e["type"] == "rep"), None
    )


def _worst_in_set(events: list[dict[str, Any]], set_number: int) -> tuple[int, float] | None:
    """(rep, peak) of the current set's rep that rounded most, None before any has a peak."""
    peaks = [
        (peak, int(e["rep"]))
        for e in events
        if e["type"] == "rep"
        and int(e["set"]) == set_number
        and (peak := _finite(e["peak_flexion_deg"])) is not None
    ]
    if not peaks:
        return None
    peak, rep = max(peaks)
    return rep, peak


def _recent_alerts(events: list[dict[str, Any]]) -> tuple[Alert, ...]:
    """The latest flexion alerts, newest first, each with its peak and its rep once known.

    An alert names a rep only when a ``rep`` event covers its time (start <= t <= end): the
    alert's own ``set``/``rep`` may be null (outside a rep) or, from older services, the
    number of a rep that had not happened yet and may never happen.
    """
    reps = [e for e in events if e["type"] == "rep"]
    newest = [i for i in reversed(range(len(events))) if events[i]["type"] == "flexion_alert"]
    return tuple(_alert(events, i, reps) for i in newest[:RECENT_ALERTS])


def _alert(events: list[dict[str, Any]], index: int, reps: list[dict[str, Any]]) -> Alert:
    """The ``flexion_alert`` at ``events[index]`` as an :class:`Alert`."""
    event = events[index]
    t_s = float(event["t"])
    covering = next((r for r in reps if float(r["start"]) <= t_s <= float(r["end"])), None)
    later = events[index + 1 :]
    clear = next((e for e in later if e["type"] in ("flexion_clear", "flexion_alert")), None)
    peak = _finite(clear["peak_deg"]) if clear and clear["type"] == "flexion_clear" else None
    # A rep can still claim the alert while no later rep, set end or session end rules it out.
    settled = any(
        e["type"] in ("set_end", "session_end") or (e["type"] == "rep" and float(e["end"]) > t_s)
        for e in later
    )
    return Alert(
        t_s=t_s,
        angle_deg=float(event["angle_deg"]),
        threshold_deg=float(event["threshold_deg"]),
        set_number=None if covering is None else int(covering["set"]),
        rep=None if covering is None else int(covering["rep"]),
        emitted_s=float(event["ts"]) / 1000.0,
        peak_deg=peak,
        pending=covering is None and not settled and event.get("rep") is not None,
    )
