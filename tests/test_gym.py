"""A gym: hubs publish, store consumers build one PostgreSQL store from the events alone.

Everything is real: Mosquitto, PostgreSQL, ``backspotter replay`` hubs and ``backspotter
store`` consumers as processes, killed and restarted the way a power cut or a crash would.
Each hub also keeps its own SQLite store of the same session, the reference the shared store
must equal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
import pytest
from brokers import MosquittoBroker, free_port, wait_until
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from playwright.sync_api import Browser
from postgres import PostgresServer
from test_dashboard_browser import DESKTOP, assert_clean_log, check_session_page, healthy
from test_store import T0_MS

from processing.events import Event
from processing.live.store_consumer import ConsumerConfig, StoreConsumer
from processing.store.location import PostgresURL
from processing.store.reader import SessionStore, StoredEvent, StoredSet
from processing.wire.messages import EventStamper, encode
from processing.wire.mqtt_url import BrokerURL

ROOT = Path(__file__).parents[1]
BACKSPOTTER = str(Path(sys.executable).parent / "backspotter")
#: Two two-sensor sessions of about 3 min, replayed 30 times faster: 4-6 s each.
FIXTURES = {
    "alice": ROOT / "fixtures" / "dual_conventional_mixed.csv.gz",
    "bob": ROOT / "fixtures" / "edge_gap_mid_set.csv.gz",
}
SPEED = "30"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A Mosquitto of this test's own (tests here restart it)."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    broker = MosquittoBroker(workdir)
    broker.start()
    yield broker
    if broker.running:
        broker.stop()


class Processes:
    """Hubs and consumers started by a test, all stopped at its end."""

    def __init__(self, workdir: Path, broker: MosquittoBroker, db_url: str) -> None:
        self.workdir = workdir
        self.broker = broker
        self.db_url = db_url
        self.started: list[subprocess.Popen[bytes]] = []
        #: Hubs keep their outbox in the data directory when they keep no store.
        self.env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data")}

    def hub(self, lifter: str, local_db: bool = True) -> subprocess.Popen[bytes]:
        """``backspotter replay`` of the lifter's fixture, publishing to the broker and keeping
        each event until a consumer confirms it stored it, as a gym's hubs do."""
        store = ["--db", str(self.local_db(lifter))] if local_db else ["--no-db"]
        command = [
            BACKSPOTTER, "replay", str(FIXTURES[lifter]), "--speed", SPEED, "--lifter", lifter,
            "--mqtt", self.broker.url, "--no-embedded-broker", "--cue", "off",
            "--await-store", *store,
        ]  # fmt: skip
        return self._start(command, f"hub-{lifter}")

    def consumer(self, client_id: str) -> subprocess.Popen[bytes]:
        """``backspotter store`` into the shared database."""
        command = [
            BACKSPOTTER, "store", "--mqtt", self.broker.url, "--db", self.db_url,
            "--client-id", client_id, "--group", "gym",
        ]  # fmt: skip
        return self._start(command, f"store-{client_id}")

    def local_db(self, lifter: str) -> Path:
        """The hub's own SQLite store: the reference."""
        return self.workdir / f"{lifter}.sqlite3"

    def log(self, name: str) -> str:
        """What a process printed."""
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        """SIGTERM whatever still runs (SIGKILL after 20 s)."""
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            if exit_code(process, 20) is None:
                process.kill()
                process.wait()

    def _start(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        """Start ``command`` with its output in ``name.log`` (appended: restarts share it)."""
        with (self.workdir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.started.append(process)
        return process


@pytest.fixture
def gym(tmp_path: Path, broker: MosquittoBroker, postgres_url: str) -> Iterator[Processes]:
    """Start hubs and consumers against a private broker and a fresh database."""
    processes = Processes(tmp_path, broker, postgres_url)
    yield processes
    processes.stop_all()


def exit_code(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    """The process's exit code, or None if it has not ended within ``timeout_s``."""
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def shared_store(gym: Processes) -> SessionStore:
    """The gym's PostgreSQL store, read the way the dashboard reads it."""
    return SessionStore(PostgresURL.parse(gym.db_url))


def session_of(store: SessionStore, lifter: str) -> tuple[tuple[StoredSet, ...], list[int]]:
    """The lifter's only session: its sets with reps, and the ``seq`` of every stored event."""
    (summary,) = store.list_sessions(lifter)
    detail = store.get_session(summary.id)
    return detail.sets, [event.seq for event in detail.events]


def ended(store: SessionStore, lifters: list[str]) -> bool:
    """Every lifter's session has its ``session_end`` stored."""
    sessions = [s for lifter in lifters for s in store.list_sessions(lifter)]
    return len(sessions) == len(lifters) and all(s.ended_at is not None for s in sessions)


def whole(store: SessionStore, lifter: str) -> list[StoredEvent]:
    """The lifter's events, after checking that ``seq`` runs 1..N without a gap."""
    (summary,) = store.list_sessions(lifter)
    events = list(store.get_session(summary.id).events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "session_end"
    return events


def assert_same_as_hub(gym: Processes, store: SessionStore, lifter: str) -> None:
    """The shared store holds exactly the hub's own record of the session."""
    with SessionStore(gym.local_db(lifter)) as local:
        assert session_of(store, lifter) == session_of(local, lifter)
        (summary,) = local.list_sessions(lifter)
        assert whole(store, lifter) == list(local.get_session(summary.id).events)
        assert summary.reps > 0


def test_two_hubs_and_two_consumers_build_one_store(gym: Processes) -> None:
    consumers = [gym.consumer("c1"), gym.consumer("c2")]
    with shared_store(gym) as store:
        hubs = [gym.hub(lifter) for lifter in FIXTURES]
        for hub in hubs:
            assert hub.wait(60) == 0
        wait_until(lambda: ended(store, list(FIXTURES)), 30, "both sessions stored")
        for lifter in FIXTURES:
            assert_same_as_hub(gym, store, lifter)
    for consumer, name in zip(consumers, ("store-c1", "store-c2"), strict=True):
        consumer.terminate()
        assert exit_code(consumer, 20) == 0, gym.log(name)  # a hang prints its stacks there
    # The broker shared the messages: each consumer stored some.
    for name in ("store-c1", "store-c2"):
        stored = gym.log(name).split("stored ")[-1].split(" event(s)")[0]
        assert int(stored) > 0, gym.log(name)


def test_a_consumer_killed_mid_session_loses_nothing(gym: Processes) -> None:
    consumer = gym.consumer("c1")
    with shared_store(gym) as store:
        alice = gym.hub("alice")
        wait_until(lambda: len(store.list_sessions("alice")) == 1, 30, "the session stored")
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(10)
        # A session that starts while no consumer runs: the broker keeps its events for the
        # consumer's persistent session.
        bob = gym.hub("bob")
        wait_until(lambda: local_events(gym, "bob") >= 5, 30, "bob's hub to publish")
        assert store.list_sessions("bob") == []
        gym.consumer("c1")  # the same client id
        assert alice.wait(60) == 0 and bob.wait(60) == 0
        wait_until(lambda: ended(store, list(FIXTURES)), 30, "both session ends stored")
        for lifter in FIXTURES:
            assert_same_as_hub(gym, store, lifter)


def test_a_consumer_stuck_while_stopping_says_where_and_still_stores_everything(
    gym: Processes,
) -> None:
    # A consumer asked to stop stores what has arrived first; where that hangs (here on a
    # table another client holds locked), its log shows every thread's stack, and once the
    # lock goes it finishes storing and exits.
    consumer = gym.consumer("c1")
    with psycopg.connect(gym.db_url, autocommit=True) as admin:
        schema = "SELECT to_regclass('events') IS NOT NULL"
        wait_until(lambda: admin.execute(schema).fetchone() == (True,), 30, "the schema")
        with psycopg.connect(gym.db_url) as locker:  # a transaction until the block ends
            locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            alice = gym.hub("alice")
            waiting = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            wait_until(lambda: admin.execute(waiting).fetchone() != (0,), 60, "a blocked store")
            consumer.terminate()
            wait_until(lambda: "most recent call first" in gym.log("store-c1"), 30, "stacks")
    assert exit_code(consumer, 20) == 0, gym.log("store-c1")
    assert "in _write" in gym.log("store-c1")  # the stack shows the store waiting
    gym.consumer("c1")  # the broker kept what the hub sent after the consumer stopped
    assert alice.wait(60) == 0
    with shared_store(gym) as store:
        wait_until(lambda: ended(store, ["alice"]), 30, "the session end stored")
        assert_same_as_hub(gym, store, "alice")


def local_events(gym: Processes, lifter: str) -> int:
    """How many events the lifter's hub has emitted so far (its own store has them)."""
    if not gym.local_db(lifter).exists():
        return 0
    with SessionStore(gym.local_db(lifter)) as local:
        return sum(len(local.get_session(s.id).events) for s in local.list_sessions(lifter))


def test_the_broker_restarted_mid_session_loses_nothing(
    gym: Processes, broker: MosquittoBroker
) -> None:
    gym.consumer("c1")
    with shared_store(gym) as store:
        alice = gym.hub("alice")
        wait_until(lambda: len(store.list_sessions("alice")) == 1, 30, "the session stored")
        broker.restart(hard=False)
        # Started at once, this hub's first events reach the broker before the consumer has
        # subscribed again (it waits at least 1 s to reconnect): no consumer gets them then.
        bob = gym.hub("bob", local_db=False)
        assert alice.wait(60) == 0 and bob.wait(60) == 0
        wait_until(lambda: ended(store, list(FIXTURES)), 60, "both session ends stored")
        assert_same_as_hub(gym, store, "alice")
        sets, _ = session_of(store, "bob")
        assert sum(len(s.reps) for s in sets) > 0
        whole(store, "bob")
    # A hub with --no-db keeps no session store, only its outbox.
    data = gym.workdir / "data" / "backspotter"
    assert sorted(p.name for p in data.iterdir() if p.suffix == ".sqlite3") == [
        "sessions.outbox.sqlite3"
    ]


def test_postgresql_restarted_mid_session_delays_events_and_loses_none(
    gym: Processes, postgres_server: PostgresServer
) -> None:
    consumer = gym.consumer("c1")
    with shared_store(gym) as store:
        alice = gym.hub("alice")
        wait_until(lambda: len(store.list_sessions("alice")) == 1, 30, "the session stored")
    hubs = [alice]
    try:
        postgres_server.stop("immediate")  # a crash: open connections break
        # A session that starts while the database is down: its events must wait too.
        hubs.append(gym.hub("bob"))
        wait_until(lambda: "message(s) failed" in gym.log("store-c1"), 30, "a failed batch")
    finally:
        postgres_server.start()
    assert all(hub.wait(60) == 0 for hub in hubs)
    with shared_store(gym) as store:
        wait_until(lambda: ended(store, list(FIXTURES)), 60, "both session ends stored")
        for lifter in FIXTURES:
            assert_same_as_hub(gym, store, lifter)
    assert consumer.poll() is None, gym.log("store-c1")


def test_malformed_messages_are_counted_and_skipped(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    with consumer_thread(broker, tmp_path / "gym.sqlite3") as consumer:
        valid = EventStamper("s1").stamp([Event("set_start", 1.0, {"set": 1})], T0_MS)[0]
        bad = [
            ("backspotter/v1/alice/events/rep", b"not json"),
            ("backspotter/v1/alice/events/rep", b'{"v": 1, "type": "rep"}'),  # no fields
            ("backspotter/v1/alice/events/rep", encode(valid)),  # on the wrong topic
            ("backspotter/v1/alice/live", b"[1, 2]"),
        ]
        publish(broker, [*bad, ("backspotter/v1/alice/events/set_start", encode(valid))])
        wait_until(lambda: consumer.counts.events_stored == 1, 10, "the valid event")
        assert consumer.counts.malformed == len(bad)
    with SessionStore(tmp_path / "gym.sqlite3") as store:
        assert [s.id for s in store.list_sessions("alice")] == ["s1"]


def test_a_session_starts_at_its_earliest_message_whatever_order_they_come_in(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    # A hub resends its first events after a broker restart, when a consumer has already
    # stored later ones of the same session.
    with consumer_thread(broker, tmp_path / "gym.sqlite3") as consumer:
        first, later = EventStamper("s1").stamp(
            [Event("set_start", 1.0, {"set": 1}), Event("set_start", 9.0, {"set": 2})], T0_MS
        )
        later["ts"] = T0_MS + 5000
        publish(broker, [("backspotter/v1/alice/events/set_start", encode(later))])
        wait_until(lambda: consumer.counts.events_stored == 1, 10, "the later event")
        publish(broker, [("backspotter/v1/alice/events/set_start", encode(first))])
        wait_until(lambda: consumer.counts.events_stored == 2, 10, "the earlier event")
    with SessionStore(tmp_path / "gym.sqlite3") as store:
        (session,) = store.list_sessions("alice")
    assert session.started_at.timestamp() * 1000 == T0_MS


@contextlib.contextmanager
def consumer_thread(broker: MosquittoBroker, db: Path) -> Iterator[StoreConsumer]:
    """A store consumer into ``db``, running in a thread and subscribed, for the block."""
    consumer = StoreConsumer(ConsumerConfig(BrokerURL.parse(broker.url), db, "c1"))
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        assert consumer.wait_subscribed(10)
        yield consumer
    finally:
        stop.set()
        thread.join(10)


def publish(broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> None:
    """Publish ``(topic, payload)`` at QoS 1 and wait for every PUBACK."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["store", "--db", "postgresql://coach:hunter2@db/gym"], "PGPASSWORD"),
        (["store", "--group", "a/b"], "consumer group"),
        (["store", "--mqtt", "mqtt://coach:hunter2@broker"], "BACKSPOTTER_MQTT_PASSWORD"),
        (["replay", "x.csv", "--no-db", "--db", "y.sqlite3"], "not both"),
        (["replay", "x.csv", "--await-store", "--no-mqtt"], "needs MQTT"),
    ],
)
def test_bad_gym_options_are_usage_errors_that_never_echo_a_password(
    arguments: list[str], message: str
) -> None:
    done = subprocess.run([BACKSPOTTER, *arguments], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "hunter2" not in done.stderr + done.stdout


def test_the_dashboard_reads_the_gyms_postgresql_in_a_browser(
    gym: Processes, browser: Browser, tmp_path: Path
) -> None:
    gym.consumer("c1")
    with shared_store(gym) as store:
        assert gym.hub("alice", local_db=False).wait(60) == 0
        wait_until(lambda: ended(store, ["alice"]), 30, "the session stored")
        (session,) = store.list_sessions("alice")
        sets = store.get_session(session.id).sets
    port = free_port()
    command = [BACKSPOTTER, "dashboard", "--port", str(port), "--db", gym.db_url, "--no-mqtt"]
    with (tmp_path / "dashboard.log").open("wb") as out:
        dashboard = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: healthy(port) or dashboard.poll() is not None, 60, "the dashboard")
        page = browser.new_page(viewport=DESKTOP)
        page.set_default_timeout(40_000)
        url = f"http://127.0.0.1:{port}/"
        check_session_page(page, url, session.id, sets, shots="gym_")
    finally:
        dashboard.terminate()
        assert dashboard.wait(15) == 0
    assert_clean_log((tmp_path / "dashboard.log").read_text(errors="replace"))
    assert session.reps == sum(len(s.reps) for s in sets) > 0
