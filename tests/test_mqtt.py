"""The MQTT publisher against real brokers: Mosquitto (MQTT 5) and amqtt (3.1.1 only)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from brokers import MosquittoBroker, eventually, free_port, wait_until
from mqtt_subscriber import Received, Subscriber
from paho.mqtt.enums import MQTTProtocolVersion

from processing.events import AngleTrace, Event
from processing.live.broker import EmbeddedBroker
from processing.live.mqtt import MqttPublisher
from processing.live.outbox import Outbox
from processing.wire.messages import (
    STORE_READY_TOPIC,
    EventStamper,
    encode,
    live_payload,
    now_ms,
    store_ready_payload,
    stored_payload,
    stored_topic,
)
from processing.wire.mqtt_url import BrokerURL
from processing.wire.schemas import event_types, validate_event, validator

PUBLISHER_PROCESS = Path(__file__).with_name("publisher_process.py")

#: One event of every type, with payloads shaped like the pipeline's.
EVERY_EVENT = [
    Event(
        "session_start", 0.0, {"mode": "dual", "roles": ["upper", "lower"], "threshold_deg": 30.0}
    ),
    Event("sensor_connected", 0.0, {"role": "upper", "address": "C0:FF:EE:00:00:01"}),
    Event("calibrated", 3.2, {"source": "stance", "start": 0.2}),
    Event(
        "threshold",
        20.0,
        {"threshold_deg": 41.5, "reference_peak_deg": 33.5, "reference_reps": 3},
    ),
    Event("flexion_alert", 5.1, {"angle_deg": 31.2, "threshold_deg": 30.0, "set": 1, "rep": 1}),
    Event("flexion_clear", 5.6, {"peak_deg": 34.0, "start": 5.1, "end": 5.6}),
    Event("set_start", 4.0, {"set": 1}),
    Event(
        "rep",
        7.5,
        {
            "set": 1,
            "rep": 1,
            "start": 4.0,
            "lockout": 5.9,
            "end": 7.5,
            "concentric_s": 1.9,
            "eccentric_s": 1.6,
            "peak_flexion_deg": float("nan"),
            "flexion_alert": True,
            "seconds_above_threshold": 0.5,
        },
    ),
    Event("set_end", 7.5, {"set": 1, "reps": 1}),
    Event("sensor_lost", 8.0, {"role": "lower", "reason": "link supervision timeout"}),
    Event("session_end", 9.0, {"sets": 1, "reps": 1}),
]


def stamped(session_id: str, events: list[Event]) -> list[dict[str, Any]]:
    """Envelopes for ``events`` with seq 1..n."""
    return EventStamper(session_id).stamp(events, now_ms())


def set_starts(
    session_id: str, first: int, last: int, stamper: EventStamper
) -> list[dict[str, Any]]:
    """``set_start`` events numbered first..last (payload = seq, to check order)."""
    events = [Event("set_start", float(i), {"set": i}) for i in range(first, last + 1)]
    return stamper.stamp(events, now_ms())


def seqs(messages: list[Received]) -> list[int]:
    """``seq`` of every event message, in arrival order (duplicates kept)."""
    return [m.json()["seq"] for m in messages if "/events/" in m.topic]


def has_seqs(expected: set[int]) -> Callable[[list[Received]], bool]:
    """Condition: every seq in ``expected`` has arrived."""
    return lambda messages: expected <= set(seqs(messages))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


@pytest.fixture
def mosquitto_running(mosquitto: MosquittoBroker) -> Iterator[MosquittoBroker]:
    """The shared broker, started again if a test crashed it."""
    yield mosquitto
    if not mosquitto.running:
        mosquitto.start()


def test_schemas_cover_every_event_type() -> None:
    assert set(event_types()) == {e.type for e in EVERY_EVENT}


def test_url_hides_credentials_and_reads_password_from_environment() -> None:
    url = BrokerURL.parse("mqtts://coach:s3cr%40t@broker.example:8884")
    assert (url.username, url.password, url.port, url.tls) == ("coach", "s3cr@t", 8884, True)
    assert "coach" not in str(url) and "s3cr" not in repr(url) and "s3cr" not in f"{url!r}"
    from_env = BrokerURL.parse("mqtt://coach@localhost", {"BACKSPOTTER_MQTT_PASSWORD": "pw"})
    assert (from_env.password, from_env.port, from_env.is_loopback()) == ("pw", 1883, True)
    with pytest.raises(ValueError, match="mqtt:// or mqtts://") as error:
        BrokerURL.parse("http://coach:hunter2@host")
    assert "hunter2" not in str(error.value)


def test_the_password_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt_password"
    secret.write_text("from-a-file\n")
    environ = {"BACKSPOTTER_MQTT_PASSWORD_FILE": str(secret)}
    assert BrokerURL.parse("mqtt://coach@broker", environ).password == "from-a-file"
    environ["BACKSPOTTER_MQTT_PASSWORD"] = "from-the-environment"  # the variable wins
    assert BrokerURL.parse("mqtt://coach@broker", environ).password == "from-the-environment"
    with pytest.raises(ValueError, match="BACKSPOTTER_MQTT_PASSWORD_FILE"):
        BrokerURL.parse("mqtt://coach@broker", {"BACKSPOTTER_MQTT_PASSWORD_FILE": "/no/such"})


@pytest.mark.asyncio
async def test_published_messages_match_the_schemas(
    mosquitto_running: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    outbox: Outbox,
) -> None:
    root = f"backspotter/v1/{unique_lifter}"
    subscriber = mqtt_subscriber(f"{root}/#")
    publisher = MqttPublisher(BrokerURL.parse(mosquitto_running.url), unique_lifter, outbox)
    publisher.start()
    assert await publisher.wait_connected(10.0)
    assert publisher.protocol == "5"
    publisher.set_status("s1", {"upper": True, "lower": True})
    publisher.publish_events(stamped("s1", EVERY_EVENT))
    trace = AngleTrace(np.array([4.0, 4.04, 4.08]), np.array([np.nan, 12.5, 13.25]))
    live = live_payload("s1", trace, now_ms())
    assert live is not None
    publisher.publish_live(live)
    await publisher.close()

    def complete(messages: list[Received]) -> bool:
        topics = {m.topic for m in messages}
        # A clean stop says "ended"; "offline" is the last will's word for a lost service.
        ended = any(m.json()["state"] == "ended" for m in messages if m.topic.endswith("status"))
        return len(seqs(messages)) >= len(EVERY_EVENT) and f"{root}/live" in topics and ended

    messages = await subscriber.until(complete, what="every event, live and ended status")
    for message in messages:
        assert message.content_type == "application/json"
        assert not message.retain
        kind = message.topic.removeprefix(f"{root}/")
        if kind.startswith("events/"):
            validate_event(message.json())
            assert message.qos == 1 and kind == f"events/{message.json()['type']}"
        else:
            validator(kind).validate(message.json())
    assert seqs(messages) == list(range(1, len(EVERY_EVENT) + 1))
    assert outbox.count() == 0


@pytest.mark.asyncio
async def test_broker_crash_mid_session_loses_no_event(
    mosquitto_running: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    outbox: Outbox,
) -> None:
    # A consumer that must not miss events keeps a persistent session; the broker saves it,
    # so after a crash it queues for the consumer even before the consumer is back.
    subscriber = mqtt_subscriber(
        f"backspotter/v1/{unique_lifter}/events/#", session=f"{unique_lifter}-consumer"
    )
    mosquitto_running.save()
    publisher = MqttPublisher(BrokerURL.parse(mosquitto_running.url), unique_lifter, outbox)
    publisher.start()
    stamper = EventStamper("crash-session")
    publisher.publish_events(set_starts("crash-session", 1, 10, stamper))
    await subscriber.until(has_seqs(set(range(1, 11))), what="seq 1..10")
    await eventually(lambda: outbox.count() == 0, 10.0, "PUBACKs of seq 1..10")

    mosquitto_running.kill()
    await eventually(lambda: not publisher.connected, 10.0, "the publisher to notice")
    publisher.publish_events(set_starts("crash-session", 11, 20, stamper))
    assert outbox.count(unique_lifter) == 10
    mosquitto_running.start()
    publisher.publish_events(set_starts("crash-session", 21, 30, stamper))

    messages = await subscriber.until(has_seqs(set(range(1, 31))), 20.0, "seq 1..30")
    await publisher.close()
    received = seqs(messages)
    first_arrivals = list(dict.fromkeys(received))
    assert first_arrivals == list(range(1, 31))  # every seq once, in order, after de-duplication
    assert [m.json()["set"] for m in messages] == received  # each payload is its own event
    assert outbox.count() == 0


@pytest.mark.asyncio
async def test_restart_sends_the_outbox_first_and_in_order(
    mosquitto_running: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    outbox: Outbox,
) -> None:
    nowhere = BrokerURL.parse(f"mqtt://127.0.0.1:{free_port()}")
    offline = MqttPublisher(nowhere, unique_lifter, outbox)
    offline.start()
    offline.publish_events(set_starts("before", 1, 5, EventStamper("before")))
    await offline.close(drain_timeout_s=0.0)
    assert outbox.count(unique_lifter) == 5

    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/events/#")
    restarted = MqttPublisher(BrokerURL.parse(mosquitto_running.url), unique_lifter, outbox)
    restarted.publish_events(set_starts("after", 1, 3, EventStamper("after")))
    restarted.start()
    messages = await subscriber.until(lambda m: len(seqs(m)) >= 8, what="8 events")
    await restarted.close()
    order = [(m.json()["session_id"], m.json()["seq"]) for m in messages]
    assert order == [("before", i) for i in range(1, 6)] + [("after", i) for i in range(1, 4)]
    assert outbox.count() == 0


def run_publisher_process(
    url: str, lifter: str, outbox: Path, events: int
) -> subprocess.Popen[str]:
    """Start ``publisher_process.py`` (killed by the caller)."""
    command = [sys.executable, str(PUBLISHER_PROCESS), url, lifter, str(outbox), str(events)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def status_states(messages: list[Received]) -> list[str]:
    """``state`` of every status message, in arrival order."""
    return [m.json()["state"] for m in messages if m.topic.endswith("/status")]


def check_crash_guarantees(
    host: str, port: int, lifter: str, outbox: Path, protocol: MQTTProtocolVersion
) -> str:
    """Run a publisher process, check QoS 1 events, retained status and the last will after
    SIGKILL; returns the MQTT version the publisher reported."""
    root = f"backspotter/v1/{lifter}"
    live = Subscriber(host, port, f"{root}/#", protocol=protocol)
    process = run_publisher_process(f"mqtt://{host}:{port}", lifter, outbox, 3)
    try:
        messages = live.wait_for(
            lambda m: len(seqs(m)) >= 3 and "online" in status_states(m), what="events, online"
        )
        assert [m.qos for m in messages if "/events/" in m.topic] == [1, 1, 1]
        late = Subscriber(host, port, f"{root}/status", protocol=protocol)
        retained = late.wait_for(lambda m: bool(m), what="retained status")[0]
        assert retained.retain and retained.json()["state"] == "online"
        late.close()
        assert process.stdout is not None
        reported = process.stdout.readline().split()
        wait_until(lambda: Outbox(outbox).count() == 0, 10.0, "PUBACKs of the 3 events")
    finally:
        process.kill()
        process.communicate()  # reaps it and closes its stdout
    after = live.wait_for(lambda m: "offline" in status_states(m), what="last will")
    will = [m.json() for m in after if m.topic.endswith("/status")][-1]
    validator("status").validate(will)
    live.close()
    later = Subscriber(host, port, f"{root}/status", protocol=protocol)
    retained_will = later.wait_for(lambda m: bool(m), what="retained last will")[0]
    later.close()
    assert retained_will.retain and retained_will.json()["state"] == "offline"
    return reported[1]


def test_killed_publisher_leaves_retained_status_and_last_will_on_mosquitto(
    mosquitto: MosquittoBroker, unique_lifter: str, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    protocol = check_crash_guarantees(
        mosquitto.host, mosquitto.port, unique_lifter, outbox, MQTTProtocolVersion.MQTTv5
    )
    assert protocol == "5"


def test_falls_back_to_mqtt_311_on_amqtt_keeping_every_guarantee(
    unique_lifter: str, tmp_path: Path
) -> None:
    port = free_port()

    async def start() -> EmbeddedBroker:
        return await EmbeddedBroker.start("127.0.0.1", port)

    loop = asyncio.new_event_loop()
    broker = loop.run_until_complete(start())
    try:
        protocol = check_crash_guarantees(
            "127.0.0.1",
            port,
            unique_lifter,
            tmp_path / "outbox.sqlite3",
            MQTTProtocolVersion.MQTTv311,
        )
    finally:
        loop.run_until_complete(broker.stop())
        loop.close()
    assert protocol == "3.1.1"


@pytest.fixture
def secured_mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A Mosquitto that only accepts TLS (self-signed certificate) and user alice/SECRET."""
    cert, key, passwords = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "passwords"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "alice", SECRET], check=True)
    access = f"allow_anonymous false\npassword_file {passwords}\ncertfile {cert}\nkeyfile {key}\n"
    broker = MosquittoBroker(tmp_path, access)
    broker.start()
    yield broker
    broker.stop()


SECRET = "correct-horse-battery"


@pytest.mark.asyncio
async def test_mqtts_with_a_password_works_and_never_logs_it(
    secured_mosquitto: MosquittoBroker,
    unique_lifter: str,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ca = secured_mosquitto.workdir / "cert.pem"
    base = f"localhost:{secured_mosquitto.port}?ca={ca}"
    wrong = MqttPublisher(BrokerURL.parse(f"mqtts://alice:not-{SECRET}@{base}"), "x", outbox)
    wrong.start()
    assert not await wrong.wait_connected(2.0)
    await wrong.close(drain_timeout_s=0.0)
    assert "refused the connection: Not authorized" in caplog.text
    assert "MQTT 3.1.1" not in caplog.text  # a wrong password is no reason to drop MQTT 5

    url = BrokerURL.parse(f"mqtts://alice:{SECRET}@{base}")
    publisher = MqttPublisher(url, unique_lifter, outbox)
    publisher.start()
    assert await publisher.wait_connected(10.0)
    publisher.publish_events(stamped("tls", EVERY_EVENT[:3]))
    await eventually(lambda: outbox.count(unique_lifter) == 0, 10.0, "PUBACKs over TLS")
    await publisher.close()
    assert SECRET not in caplog.text and "alice" not in caplog.text
    assert SECRET not in repr(url) and SECRET not in str(url) and SECRET not in repr([url])


@pytest.mark.asyncio
async def test_awaiting_the_store_keeps_events_until_confirmed_and_resends_on_ready(
    mosquitto_running: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    outbox: Outbox,
) -> None:
    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/events/#")
    url = BrokerURL.parse(mosquitto_running.url)
    publisher = MqttPublisher(url, unique_lifter, outbox, await_store=True)
    publisher.start()
    assert await publisher.wait_connected(10)
    stamper = EventStamper("kept")
    publisher.publish_events(set_starts("kept", 1, 5, stamper))
    await subscriber.until(has_seqs({1, 2, 3, 4, 5}), what="seq 1..5")
    # Acknowledged by the broker, but no store has them: they stay.
    assert outbox.count(unique_lifter) == 5

    confirm = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/stored")  # only to publish
    confirm.publish(stored_topic(unique_lifter), encode(stored_payload("kept", 3)))
    await eventually(lambda: outbox.count(unique_lifter) == 2, 10.0, "seq 1..3 confirmed")

    # A store consumer subscribes (again): what it has not confirmed comes again.
    before = len(seqs(subscriber.messages))
    confirm.publish(STORE_READY_TOPIC, encode(store_ready_payload("gym", "c1", now_ms())))
    await subscriber.until(
        lambda messages: sorted(seqs(messages)[before:]) == [4, 5], what="seq 4 and 5 again"
    )
    confirm.publish(stored_topic(unique_lifter), encode(stored_payload("kept", 5)))
    await publisher.close()  # waits for the confirmation of the last two
    assert outbox.count(unique_lifter) == 0
