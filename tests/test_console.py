"""The console view and the audible cue."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from processing.events import AngleTrace, Event
from processing.live.console import ConsoleView
from processing.live.cue import BellCue, SilentCue, ToneCue, make_cue, write_tone
from processing.live.service import LifterUpdate, Service, ServiceConfig
from processing.wire.messages import EventStamper


class CountingCue:
    def __init__(self) -> None:
        self.alerts = 0

    def alert(self) -> None:
        self.alerts += 1


def update(events: list[Event], angles: list[float]) -> LifterUpdate:
    stamped = EventStamper("s1").stamp(events, 0)
    trace = AngleTrace(np.arange(len(angles), dtype=float), np.array(angles, dtype=float))
    return LifterUpdate("alice", "s1", stamped, trace, 0.0)


def test_each_alert_sounds_the_cue_and_the_view_follows_the_session() -> None:
    cue = CountingCue()
    output = io.StringIO()
    view = ConsoleView(Service(ServiceConfig(())), cue, Console(file=output, width=120))
    start = {"mode": "dual", "roles": ["upper", "lower"], "threshold_deg": 30.0}
    alert = {"angle_deg": 31.0, "threshold_deg": 30.0, "set": 1, "rep": 1}
    rep = {
        "set": 1, "rep": 1, "start": 1.0, "lockout": 2.0, "end": 3.0, "concentric_s": 1.0,
        "eccentric_s": 1.0, "peak_flexion_deg": 34.5, "flexion_alert": True,
        "seconds_above_threshold": 0.3,
    }  # fmt: skip
    view.on_update(update([Event("session_start", 0.0, start)], [5.0]))
    view.on_update(update([Event("set_start", 1.0, {"set": 1})], [12.0]))
    view.on_update(update([Event("flexion_alert", 1.5, alert)], [31.0]))
    view.on_update(update([Event("rep", 3.0, rep)], [2.0, float("nan")]))
    assert cue.alerts == 1
    shown = view.lifters["alice"]
    assert (shown.set_number, shown.reps_in_set, shown.total_reps, shown.alerts) == (1, 1, 1, 1)
    assert shown.last_peak_deg == 34.5 and shown.angle_deg is None  # latest angle not finite
    lines = output.getvalue().splitlines()  # not a terminal: one line per notable event
    assert lines[0].endswith("session started: lumbar flexion, alert above 30.0°")
    assert lines[1].endswith("FLEXION ALERT in set 1 rep 1: 31.0° > threshold 30.0°")
    assert lines[2].endswith("set 1 rep 1: peak 34.5° ALERT")


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            Event("calibrated", 2.0, {"source": "stance", "start": 0.5}),
            "upright reference taken from your stance",
        ),
        (
            Event("calibrated", 95.0, {"source": "standing"}),
            "upright reference taken from how you stand between sets",
        ),
        (
            Event("flexion_alert", 13.0, {"angle_deg": 30.04, "threshold_deg": 30.0,
                                          "set": None, "rep": None}),
            "FLEXION ALERT outside a rep: 30.0° just over threshold 30.0°",
        ),
        (Event("set_end", 50.0, {"set": 2, "reps": 5}), "set 2 done: 5 rep(s)"),
        (Event("session_end", 90.0, {"sets": 2, "reps": 8}), "session ended: 2 set(s), 8 rep(s)"),
    ],
)  # fmt: skip
def test_event_lines_are_words_not_payloads(event: Event, line: str) -> None:
    output = io.StringIO()
    view = ConsoleView(Service(ServiceConfig(())), CountingCue(), Console(file=output, width=120))
    view.on_update(update([event], []))
    shown = output.getvalue().strip()
    assert shown.endswith(line) and "{" not in shown


def test_the_tone_is_a_short_clean_wav(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "beep.wav", 1000.0, 0.15)
    with wave.open(str(path)) as tone:
        assert (tone.getnchannels(), tone.getsampwidth()) == (1, 2)
        assert tone.getnframes() / tone.getframerate() == pytest.approx(0.15)
        samples = np.frombuffer(tone.readframes(tone.getnframes()), dtype="<i2")
    assert samples[0] == 0 and abs(int(samples[-1])) < 200  # faded: no click
    assert 0.4 * 32767 < np.abs(samples).max() < 0.51 * 32767  # half scale: loud, not clipped


def test_cue_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    bell = make_cue("bell", terminal)
    assert isinstance(bell, BellCue)
    bell.alert()
    assert terminal.getvalue() == "\a"
    assert isinstance(make_cue("off", terminal), SilentCue)
    monkeypatch.setenv("PATH", "")  # no audio player anywhere: the tone falls back to the bell
    assert isinstance(make_cue("tone", terminal), BellCue)
    assert not isinstance(make_cue("tone", terminal), ToneCue)
