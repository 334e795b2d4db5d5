"""The live service end to end: real recordings through the real pipeline to a real Mosquitto
and a real session store; several lifters; sensor links; Ctrl-C; a killed service; the
embedded broker."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from blockbuster import BlockingError
from brokers import MosquittoBroker, eventually, free_port, port_accepts, wait_until
from mqtt_subscriber import Received, Subscriber
from paho.mqtt.enums import MQTTProtocolVersion

from processing.commands.replay import replay_url
from processing.detect.pipeline import PipelineConfig
from processing.live.outbox import outbox_path_for
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.offline.analysis import analyze_recording
from processing.store.reader import SessionStore
from processing.wire.mqtt_url import BrokerURL
from processing.wire.schemas import validate_event, validator
from sensor.recording import Recording, iter_batches, read_recording
from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import Source, SourceItem, open_sources

# The service runs sources, pipelines, MQTT and the store on one event loop: none may block it.
pytestmark = pytest.mark.usefixtures("no_blocking")

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHORT = FIXTURES / "random_seed_110.csv.gz"
OTHER = FIXTURES / "dual_sumo_rotated.csv.gz"


def config_for(
    lifters: list[LifterSpec], url: str | None, db: Path, embedded: bool = False
) -> ServiceConfig:
    """Service settings writing to ``db`` (and its outbox) and publishing to ``url``."""
    return ServiceConfig(
        tuple(lifters),
        mqtt_url=None if url is None else BrokerURL.parse(url),
        db=db,
        outbox_path=outbox_path_for(db),
        embedded_broker=embedded,
    )


def event_payloads(messages: list[Received]) -> list[dict[str, Any]]:
    """Decoded events, in arrival order."""
    return [m.json() for m in messages if "/events/" in m.topic]


def ended(messages: list[Received]) -> bool:
    """The session_end event and the final ended status have arrived."""
    types = {e["type"] for e in event_payloads(messages)}
    states = [m.json()["state"] for m in messages if m.topic.endswith("/status")]
    return "session_end" in types and states[-1:] == ["ended"]


def check_messages(messages: list[Received], root: str) -> list[dict[str, Any]]:
    """Every message valid against its schema; events are seq 1..N exactly once."""
    for message in messages:
        kind = message.topic.removeprefix(f"{root}/")
        if kind.startswith("events/"):
            validate_event(message.json())
        else:
            validator(kind).validate(message.json())
    events = event_payloads(messages)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["session_id"] for e in events}) == 1
    return events


@pytest.mark.asyncio
async def test_a_replay_is_published_and_stored_as_offline_analysis_sees_it(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    root = f"backspotter/v1/{unique_lifter}"
    subscriber = mqtt_subscriber(f"{root}/#")
    db = tmp_path / "sessions.sqlite3"
    spec = LifterSpec(unique_lifter, (replay_url(SHORT, "max"),))
    await Service(config_for([spec], mosquitto.url, db)).run()

    messages = await subscriber.until(ended, what="session_end and offline status")
    events = check_messages(messages, root)
    assert any(m.topic == f"{root}/live" for m in messages)
    offline = await asyncio.to_thread(read_recording, SHORT)  # off the checked loop
    expected = analyze_recording(offline, PipelineConfig())
    end = events[-1]
    assert end["type"] == "session_end"
    assert (end["sets"], end["reps"]) == (
        len(expected.sets),
        sum(len(s.reps) for s in expected.sets),
    )
    reps = [e for e in events if e["type"] == "rep"]
    offline_reps = [r.to_dict() for s in expected.sets for r in s.reps]
    assert [r["peak_flexion_deg"] for r in reps] == [r["peak_flexion_deg"] for r in offline_reps]

    with SessionStore(db) as store:
        session = store.get_session(events[0]["session_id"])
        assert [e.payload for e in session.events] == events
        assert (session.summary.sets, session.summary.reps) == (end["sets"], end["reps"])
        assert session.summary.ended_at is not None and session.summary.lifter == unique_lifter
        assert len(store.get_trace(session.summary.id)) > 0
    assert sqlite3.connect(outbox_path_for(db)).execute(
        "SELECT count(*) FROM outbox"
    ).fetchone() == (0,)


@pytest.mark.asyncio
async def test_one_service_serves_several_lifters_on_their_own_topics(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    tmp_path: Path,
) -> None:
    names = ["svc-alice", "svc-bob"]
    subscribers = {n: mqtt_subscriber(f"backspotter/v1/{n}/#") for n in names}
    specs = [
        LifterSpec(names[0], (replay_url(SHORT, "max"),)),
        LifterSpec(names[1], (replay_url(OTHER, "max"),)),
    ]
    db = tmp_path / "gym.sqlite3"
    await Service(config_for(specs, mosquitto.url, db)).run()

    session_ids = set()
    for name, subscriber in subscribers.items():
        messages = await subscriber.until(ended, what=f"{name}'s session_end")
        events = check_messages(messages, f"backspotter/v1/{name}")
        session_ids.add(events[0]["session_id"])
    assert len(session_ids) == 2
    with SessionStore(db) as store:
        assert store.lifters() == names
        assert {s.id for s in store.list_sessions()} == session_ids


class LinkDropSource:
    """A recording whose ``upper`` link drops for a while after ``drop_at_s``."""

    def __init__(self, recording: Recording, drop_at_s: float, back_at_s: float) -> None:
        self.recording = recording
        self.drop_at_s, self.back_at_s = drop_at_s, back_at_s

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.recording.roles)

    @property
    def dropped_samples(self) -> int:
        return self.recording.dropped_impossible

    @property
    def truncated(self) -> bool:
        return self.recording.truncated

    async def stream(self) -> AsyncIterator[SourceItem]:
        dropped = returned = False
        for batch in iter_batches(self.recording, 0.1):
            t_s = float(batch.t_s[0])
            if not dropped and t_s >= self.drop_at_s:
                dropped = True
                yield SensorStatus("upper", False, self.drop_at_s, "link supervision timeout")
            if dropped and not returned and t_s >= self.back_at_s:
                returned = True
                yield SensorStatus("upper", True, self.back_at_s, details={"rssi_dbm": -60})
            if batch.role != "upper" or not dropped or returned:
                yield batch
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.mark.asyncio
async def test_sensor_links_pass_through_as_events_and_status(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    root = f"backspotter/v1/{unique_lifter}"
    subscriber = mqtt_subscriber(f"{root}/#")
    spec = LifterSpec(unique_lifter, ("test://link-drop",))
    recording = await asyncio.to_thread(read_recording, SHORT)  # off the checked loop

    def source(_: LifterSpec) -> Source:
        return LinkDropSource(recording, 20.0, 25.0)

    config = config_for([spec], mosquitto.url, tmp_path / "s.sqlite3")
    await Service(config, source_factory=source).run()

    messages = await subscriber.until(ended, what="session_end")
    events = check_messages(messages, root)
    links = [(e["type"], e["role"], e["t"]) for e in events if e["type"].startswith("sensor_")]
    assert links == [("sensor_lost", "upper", 20.0), ("sensor_connected", "upper", 25.0)]
    lost = next(e for e in events if e["type"] == "sensor_lost")
    assert lost["reason"] == "link supervision timeout"
    statuses = [m.json()["sensors"] for m in messages if m.topic.endswith("/status")]
    assert {"upper": False, "lower": True} in statuses
    assert statuses[-1] == {"upper": True, "lower": True}


def backspotter(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """The real console script in a child process (output to ``log``)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "processing.cli", *args], stdout=out, stderr=subprocess.STDOUT
        )


def test_ctrl_c_ends_the_session_cleanly(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    root = f"backspotter/v1/{unique_lifter}"
    subscriber = mqtt_subscriber(f"{root}/#")
    db = tmp_path / "s.sqlite3"
    source = replay_url(SHORT, "1")
    args = ["run", "--lifter", unique_lifter, "--source", source, "--mqtt", mosquitto.url]
    process = backspotter(*args, "--db", str(db), "--cue", "off", log=tmp_path / "run.log")
    try:
        subscriber.wait_for(
            lambda m: any(x.topic == f"{root}/live" for x in m), 30.0, "live angles"
        )
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=30)
    assert returncode == 0, (tmp_path / "run.log").read_text()
    messages = subscriber.wait_for(ended, what="session_end after Ctrl-C")
    events = check_messages(messages, root)
    assert events[0]["type"] == "session_start" and events[-1]["type"] == "session_end"
    with SessionStore(db) as store:
        session = store.get_session(events[0]["session_id"])
        assert session.summary.ended_at is not None
        assert session.events[-1].type == "session_end"


def outbox_rows(db: Path) -> int:
    """Rows waiting in the outbox beside ``db`` (0 while the file does not exist yet)."""
    path = outbox_path_for(db)
    if not path.exists():
        return 0
    try:
        return int(sqlite3.connect(path).execute("SELECT count(*) FROM outbox").fetchone()[0])
    except sqlite3.OperationalError:  # created but no table yet
        return 0


def test_a_killed_service_delivers_its_outbox_first_after_restart(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.sqlite3"
    nowhere = f"mqtt://127.0.0.1:{free_port()}"
    common = ["--lifter", unique_lifter, "--db", str(db), "--cue", "off"]
    first = backspotter(
        "replay", str(SHORT), "--speed", "10", "--mqtt", nowhere, "--no-embedded-broker",
        *common, log=tmp_path / "first.log",
    )  # fmt: skip
    try:
        wait_until(lambda: outbox_rows(db) >= 5, 60.0, "5 events in the outbox")
    finally:
        first.kill()
        first.wait()
    waiting = outbox_rows(db)

    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/events/#")
    second = backspotter(
        "replay", str(SHORT), "--speed", "max", "--mqtt", mosquitto.url, *common,
        log=tmp_path / "second.log",
    )  # fmt: skip
    assert second.wait(timeout=60) == 0, (tmp_path / "second.log").read_text()
    messages = subscriber.wait_for(
        lambda m: any(e["type"] == "session_end" for e in event_payloads(m)), what="session_end"
    )
    events = event_payloads(messages)
    killed_session = events[0]["session_id"]
    replayed = [e["seq"] for e in events if e["session_id"] == killed_session]
    assert replayed == list(range(1, waiting + 1))
    assert all(e["session_id"] != killed_session for e in events[waiting:])
    assert outbox_rows(db) == 0


class GatedSource:
    """A replay that starts streaming only when the test opens the gate."""

    def __init__(self, url: str, gate: asyncio.Event) -> None:
        self.inner = open_sources([url])
        self.gate = gate

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.inner.roles)

    @property
    def dropped_samples(self) -> int:
        return self.inner.dropped_samples

    @property
    def truncated(self) -> bool:
        return self.inner.truncated

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        await self.gate.wait()
        async for item in self.inner.stream():
            yield item

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.asyncio
async def test_an_embedded_broker_starts_when_none_listens(
    unique_lifter: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    gate = asyncio.Event()
    spec = LifterSpec(unique_lifter, (replay_url(SHORT, "max"),))
    config = config_for([spec], f"mqtt://127.0.0.1:{port}", tmp_path / "s.sqlite3", embedded=True)
    service = Service(config, source_factory=lambda s: GatedSource(s.sources[0], gate))
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(service.run())
    await eventually(lambda: port_accepts("127.0.0.1", port), 30.0, "the embedded broker")
    subscriber = await asyncio.to_thread(
        Subscriber, "127.0.0.1", port, f"backspotter/v1/{unique_lifter}/#",
        MQTTProtocolVersion.MQTTv311,
    )  # fmt: skip
    try:
        await eventually(lambda: unique_lifter in service.sessions, 10.0, "the session")
        publisher = service.sessions[unique_lifter].publisher
        assert publisher is not None and await publisher.wait_connected(10.0)
        assert publisher.protocol == "3.1.1"
        gate.set()
        messages = await subscriber.until(
            lambda m: "session_end" in {e["type"] for e in event_payloads(m)}, what="session_end"
        )
        await running
    finally:
        subscriber.close()
    check_messages(
        [m for m in messages if "/events/" in m.topic], f"backspotter/v1/{unique_lifter}"
    )
    assert "embedded amqtt broker" in caplog.text
    assert not port_accepts("127.0.0.1", port)  # it stopped with the service


@pytest.mark.asyncio
async def test_blocking_the_loop_fails_a_test() -> None:
    # The guard of this module is live: Backspotter code reading a file on the loop is caught.
    with pytest.raises(BlockingError):
        read_recording(SHORT)
