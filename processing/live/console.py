"""The live console view: per lifter, set and rep count, current flexion, alerts, links.

On a terminal it is a rich table refreshed a few times a second; otherwise (piped, logged) it
prints one line per notable event. Every ``flexion_alert`` sounds the cue.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table

from processing.live.cue import Cue
from processing.live.service import LifterUpdate, Service

_REFRESH_HZ = 4
#: Events that get a line of their own when the output is not a terminal.
_LOGGED_EVENTS = (
    "session_start",
    "calibrated",
    "threshold",
    "rep",
    "flexion_alert",
    "set_end",
    "session_end",
)


@dataclass
class LifterView:
    """What the console shows for one lifter."""

    mode: str = "?"
    threshold_deg: float | None = None
    set_number: int = 0
    reps_in_set: int = 0
    total_reps: int = 0
    angle_deg: float | None = None
    last_peak_deg: float | None = None
    alerts: int = 0
    alert_on: bool = False
    ended: bool = False

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one stamped event into the view."""
        kind = event["type"]
        if kind == "session_start":
            self.mode, self.threshold_deg = event["mode"], event["threshold_deg"]
        elif kind == "threshold":
            self.threshold_deg = event["threshold_deg"]
        elif kind == "set_start":
            self.set_number, self.reps_in_set = event["set"], 0
        elif kind == "rep":
            self.reps_in_set, self.total_reps = event["rep"], self.total_reps + 1
            self.last_peak_deg = _finite(event["peak_flexion_deg"])
        elif kind in ("flexion_alert", "flexion_clear"):
            self.alert_on = kind == "flexion_alert"
            self.alerts += self.alert_on
        elif kind == "session_end":
            self.ended = True


class ConsoleView:
    """Observer of the service that shows the table and sounds the cue on alerts."""

    def __init__(self, service: Service, cue: Cue, console: Console | None = None) -> None:
        self.service = service
        self.cue = cue
        self.console = console or Console()
        self.lifters: dict[str, LifterView] = {}

    def on_update(self, update: LifterUpdate) -> None:
        """Ring on alerts first (it is what the lifter needs now), then update the view."""
        if any(e["type"] == "flexion_alert" for e in update.events):
            self.cue.alert()
        view = self.lifters.setdefault(update.lifter, LifterView())
        for event in update.events:
            view.apply(event)
            if not self.console.is_terminal and event["type"] in _LOGGED_EVENTS:
                self.console.print(describe(update.lifter, event), highlight=False)
        if len(update.angles):
            view.angle_deg = _finite(float(update.angles.angle_deg[-1]))

    @contextlib.contextmanager
    def showing(self) -> Iterator[None]:
        """Show the live table while the block runs (log lines print above it)."""
        if not self.console.is_terminal:
            yield
            return
        with (
            _logging_to(self.console),
            Live(get_renderable=self.render, console=self.console, refresh_per_second=_REFRESH_HZ),
        ):
            yield

    def render(self) -> Table:
        """The table of every lifter."""
        table = Table(title="Backspotter", expand=False)
        for column in (
            "lifter",
            "set",
            "reps",
            "flexion",
            "last peak",
            "alerts",
            "sensors",
            "MQTT",
        ):
            table.add_column(column, justify="left" if column in ("lifter", "sensors") else "right")
        for name, view in sorted(self.lifters.items()):
            table.add_row(
                name,
                str(view.set_number or "-"),
                f"{view.reps_in_set} ({view.total_reps})",
                _angle_cell(view),
                _degrees(view.last_peak_deg),
                str(view.alerts),
                self._sensors(name),
                self._mqtt_state(name),
            )
        return table

    def _sensors(self, lifter: str) -> str:
        """Each sensor's link: ``upper:up lower:lost``."""
        session = self.service.sessions.get(lifter)
        links = session.sensors.items() if session is not None else ()
        return " ".join(f"{role}:{'up' if up else '[red]lost[/]'}" for role, up in links)

    def _mqtt_state(self, lifter: str) -> str:
        """``MQTT 5``, ``MQTT 3.1.1``, ``offline`` or ``off``."""
        session = self.service.sessions.get(lifter)
        if session is None or session.publisher is None:
            return "off"
        protocol = session.publisher.protocol
        return f"MQTT {protocol}" if protocol else "[yellow]offline[/]"


def describe(lifter: str, event: dict[str, Any]) -> str:
    """One line a lifter reads for a notable event (never a raw payload)."""
    return f"{lifter} {event['t']:8.2f}s {_sentence(event)}"


def _sentence(event: dict[str, Any]) -> str:
    """What the event means, in words."""
    kind = event["type"]
    if kind == "rep":
        alert = " ALERT" if event["flexion_alert"] else ""
        peak = _degrees(_finite(event["peak_flexion_deg"]))
        return f"set {event['set']} rep {event['rep']}: peak {peak}{alert}"
    if kind == "flexion_alert":
        # Both numbers at the precision shown, so the line never reads "30.0° > 30.0°".
        angle, threshold = _degrees(event["angle_deg"]), _degrees(event["threshold_deg"])
        relation = ">" if angle != threshold else "just over"
        return f"FLEXION ALERT {_rep_of(event)}: {angle} {relation} threshold {threshold}"
    if kind == "session_start":
        angle = "lumbar flexion" if event["mode"] == "dual" else "trunk inclination"
        threshold = _degrees(event["threshold_deg"])
        return f"session started: {angle}, alert above {threshold}"
    if kind == "calibrated":
        if event.get("source") == "stance":
            return "upright reference taken from your stance"
        if event.get("source") == "standing":
            return "upright reference taken from how you stand between sets"
        return "upright reference taken from a lockout (no still stance at the start)"
    if kind == "threshold":
        return f"alert threshold now {_degrees(event['threshold_deg'])} (your first reps' peak)"
    if kind == "set_end":
        return f"set {event['set']} done: {event['reps']} rep(s)"
    if kind == "session_end":
        return f"session ended: {event['sets']} set(s), {event['reps']} rep(s)"
    return str(kind).replace("_", " ")


def _rep_of(event: dict[str, Any]) -> str:
    """``in set 1 rep 2``, or ``outside a rep`` when the alert belongs to no rep."""
    if event.get("set") is None or event.get("rep") is None:
        return "outside a rep"
    return f"in set {event['set']} rep {event['rep']}"


@contextlib.contextmanager
def _logging_to(console: Console) -> Iterator[None]:
    """Route log records through rich so they print above the live table."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [RichHandler(console=console, show_path=False)]
    try:
        yield
    finally:
        root.handlers = saved


def _angle_cell(view: LifterView) -> str:
    """Current angle, red while above the threshold."""
    text = _degrees(view.angle_deg)
    return f"[bold red]{text}[/]" if view.alert_on else text


def _degrees(value: float | None) -> str:
    """``12.3°`` or ``-``."""
    return "-" if value is None else f"{value:.1f}°"


def _finite(value: float | None) -> float | None:
    """None for missing or non-finite numbers."""
    return value if value is not None and math.isfinite(value) else None
