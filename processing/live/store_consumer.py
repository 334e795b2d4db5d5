"""``backspotter store``: the session store built from the event stream alone.

A gym runs its hubs with ``run --no-db`` and one or more store consumers beside its broker.
Each consumer joins an MQTT 5 shared subscription, so the broker hands every message of
``backspotter/v1/+/events/#`` (QoS 1) and ``backspotter/v1/+/live`` (QoS 0, the angle trace)
to one consumer of the group. Messages are stored in batches, one transaction each, and a
batch's QoS 1 messages are acknowledged only after it commits: a consumer killed before that
gets them again when it comes back (its session persists at the broker), and
:func:`processing.store.ingest.ingest` drops whatever had been stored already.

After each commit the consumer confirms, per session it touched, up to which ``seq`` every
event is stored (``backspotter/v1/<lifter>/stored``), and it announces each (re)subscription
on ``backspotter/store/v1/ready`` (and every ``announce_s``): hubs run with ``--await-store``
keep events until confirmed and send the unconfirmed ones again on an announcement. That
closes the gap a broker restart opens, since Mosquitto 2.0 does not restore shared
subscriptions from its persistence file: what hubs published before the consumers subscribed
again had no subscriber.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from processing.live.store_batch import Batch, Received, decode
from processing.store.database import Database
from processing.store.ingest import ensure_session, store_event, stored_through
from processing.store.location import StoreLocation
from processing.store.schema import connect, insert_trace_chunks
from processing.wire.messages import (
    STORE_READY_TOPIC,
    encode,
    now_ms,
    store_ready_payload,
    stored_payload,
    stored_topic,
)
from processing.wire.mqtt_url import BrokerURL

log = logging.getLogger(__name__)

EVENTS_TOPIC = "backspotter/v1/+/events/#"
LIVE_TOPIC = "backspotter/v1/+/live"
DEFAULT_GROUP = "backspotter-store"
_KEEPALIVE_S = 30
_RETRY_S = (1, 10)  # first and longest wait before a failed store or connection is retried, s
_GROUP = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class ConsumerConfig:
    """Where a consumer reads, where it writes, and how it batches."""

    mqtt_url: BrokerURL
    db: StoreLocation
    #: The consumer's MQTT client id: keep it across restarts, so the broker keeps what
    #: arrived while the consumer was down (and what it had not acknowledged) for it.
    client_id: str
    #: Consumers with the same group share the messages; each group gets every message.
    group: str = DEFAULT_GROUP
    #: Store the ``live`` angle trace too (the session page's chart); events are always stored.
    traces: bool = True
    #: Longest a received message waits for its transaction, s.
    batch_s: float = 0.05
    #: Most messages in one transaction.
    max_batch: int = 2000
    #: How long the broker keeps this consumer's session while it is away, s.
    session_expiry_s: int = 7 * 86400
    #: QoS 1 messages the broker may send before the first of them is acknowledged.
    receive_maximum: int = 2000
    #: How often the consumer repeats that it is subscribed, s (hubs then send again what a
    #: consumer that never came back left unacknowledged in its session).
    announce_s: float = 30.0

    def __post_init__(self) -> None:
        if not _GROUP.fullmatch(self.group):
            raise ValueError(
                f"a consumer group is 1-64 letters, digits, '_', '-' or '.', not {self.group!r}"
            )


@dataclass
class ConsumerCounts:
    """What a consumer has done so far."""

    events_stored: int = 0
    duplicates: int = 0
    trace_messages: int = 0
    malformed: int = 0
    batches: int = 0


class StoreConsumer:
    """One member of a store consumer group; :meth:`run` blocks until ``stop`` is set."""

    def __init__(
        self,
        config: ConsumerConfig,
        on_stored: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
    ) -> None:
        self.config = config
        self.counts = ConsumerCounts()
        #: Called with each committed batch's new events (benchmarks stamp them).
        self._on_stored = on_stored
        self._inbox: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._connection = 0  # counts connections: a redelivery after a reconnect has a new mid
        self._subscribed = threading.Event()
        self._client = _consumer_client(config)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        #: Per session: every event up to this seq is stored (a lower bound; others write too).
        self._stored_through: dict[str, int] = {}
        #: Per session whose row this consumer has seen committed: the start it has there.
        self._started_ms: dict[str, int] = {}
        self._announced_s = time.monotonic()
        #: When the current subscription began (epoch ms), for the announcements.
        self._since_ms = 0

    def run(self, stop: threading.Event) -> None:
        """Store messages until ``stop`` is set; then store what has arrived and disconnect."""
        db = connect(self.config.db)
        url = self.config.mqtt_url
        self._client.connect_async(
            url.host,
            url.port,
            _KEEPALIVE_S,
            clean_start=False,
            properties=_connect_props(self.config),
        )
        self._client.loop_start()
        try:
            while not stop.is_set():
                db = self._store(db, self._collect(stop), stop)
                self._announce_now_and_then()
            db = self._store(db, self._drain(), stop)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            db.close()

    def wait_subscribed(self, timeout_s: float) -> bool:
        """True once the broker has confirmed the subscriptions."""
        return self._subscribed.wait(timeout_s)

    def _collect(self, stop: threading.Event) -> list[Received]:
        """Messages received within ``batch_s`` of the first (at most ``max_batch``)."""
        try:
            first = self._inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_s
        while len(batch) < self.config.max_batch and not stop.is_set():
            try:
                batch.append(self._inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _drain(self) -> list[Received]:
        """Whatever waits in the inbox now."""
        batch: list[Received] = []
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return batch

    def _store(self, db: Database, messages: list[Received], stop: threading.Event) -> Database:
        """Store ``messages`` in one transaction, then acknowledge them; a failed store is
        retried on a new connection until it succeeds or ``stop`` is set (then nothing is
        acknowledged, and the broker sends it all again)."""
        if not messages:
            return db
        batch = decode(messages)
        self.counts.malformed += batch.malformed
        wait_s = float(_RETRY_S[0])
        while True:
            try:
                stored = self._write(db, batch)
                break
            except Exception as error:  # the database went away; the messages stay unacked
                log.warning("storing %d message(s) failed (%s); retrying", len(messages), error)
                db.close()
                if stop.wait(wait_s):
                    raise
                wait_s = min(2 * wait_s, _RETRY_S[1])
                db = self._reconnect(db)
        self._acknowledge(messages)
        self._confirm(db, batch)
        if self._on_stored is not None and stored:
            self._on_stored(stored)
        return db

    def _confirm(self, db: Database, batch: Batch) -> None:
        """Tell each session's hub up to which ``seq`` its events are stored (also for
        duplicates: a hub sends again only what it has no confirmation of)."""
        for session_id in batch.events:
            known = self._stored_through.get(session_id, 0)
            through = stored_through(db, session_id, known)
            self._stored_through[session_id] = through
            if through:
                lifter, _ = batch.sessions[session_id]
                payload = encode(stored_payload(session_id, through))
                self._client.publish(stored_topic(lifter), payload, qos=1)

    def _announce_now_and_then(self) -> None:
        """Repeat the announcement every ``announce_s``."""
        if time.monotonic() - self._announced_s >= self.config.announce_s:
            self._announce()

    def _announce(self) -> None:
        """Say on ``backspotter/store/v1/ready`` that this consumer is subscribed."""
        self._announced_s = time.monotonic()
        payload = store_ready_payload(self.config.group, self.config.client_id, self._since_ms)
        self._client.publish(STORE_READY_TOPIC, encode(payload), qos=1)

    def _write(self, db: Database, batch: Batch) -> list[dict[str, Any]]:
        """One transaction: session by session in id order, the row (unless this consumer
        has made sure of it, as early as this batch shows) and the events (idempotently), then
        every trace chunk in one statement; returns the new events.

        The same order in every consumer means the same lock order: two consumers' batches
        of the same sessions wait for each other at most, never in a circle.
        """
        new: list[dict[str, Any]] = []
        with db.transaction():
            for session_id in sorted(batch.sessions):
                lifter, first_ms = batch.sessions[session_id]
                known_ms = self._started_ms.get(session_id)
                if known_ms is None or first_ms < known_ms:
                    ensure_session(db, session_id, lifter, first_ms)
                events = sorted(batch.events.get(session_id, ()), key=lambda e: int(e["seq"]))
                new += [envelope for envelope in events if store_event(db, envelope)]
            insert_trace_chunks(db, batch.traces)
        for session_id, (_, first_ms) in batch.sessions.items():
            self._started_ms[session_id] = min(first_ms, self._started_ms.get(session_id, first_ms))
        self.counts.events_stored += len(new)
        self.counts.duplicates += sum(map(len, batch.events.values())) - len(new)
        self.counts.trace_messages += batch.trace_messages
        self.counts.batches += 1
        return new

    def _reconnect(self, db: Database) -> Database:
        """A new connection to the store, or the closed one again if that fails too."""
        try:
            return connect(self.config.db)
        except Exception as error:
            log.warning("the session store is unreachable: %s", error)
            return db

    def _acknowledge(self, messages: list[Received]) -> None:
        """PUBACK the QoS 1 messages that came on the current connection (the broker sends
        those of an earlier one again by itself)."""
        for message in messages:
            if message.qos > 0 and message.connection == self._connection:
                self._client.ack(message.mid, message.qos)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        """(Re)subscribe on every connection: a broker that lost its state forgot them."""
        if reason.is_failure:
            log.warning("MQTT broker %s refused the consumer: %s", self.config.mqtt_url, reason)
            return
        self._connection += 1
        share = f"$share/{self.config.group}/"
        topics = [(share + EVENTS_TOPIC, SubscribeOptions(qos=1))]
        if self.config.traces:
            topics.append((share + LIVE_TOPIC, SubscribeOptions(qos=0)))
        client.subscribe(topics)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        """Say so when the broker refused a subscription (e.g. no shared subscriptions)."""
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            log.error("MQTT broker %s refused the subscription: %s", self.config.mqtt_url, refused)
            return
        self._since_ms = now_ms()
        self._subscribed.set()
        self._announce()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """Queue the message for the storing thread (network thread: never block here)."""
        self._inbox.put(
            Received(
                message.topic, bytes(message.payload), message.mid, message.qos, self._connection
            )
        )


def _consumer_client(config: ConsumerConfig) -> paho.Client:
    """An MQTT 5 client that acknowledges only when told to, reconnecting by itself."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=config.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    config.mqtt_url.log_in(client)
    client.reconnect_delay_set(*_RETRY_S)
    return client


def _connect_props(config: ConsumerConfig) -> Properties:
    """Session expiry and receive maximum of the CONNECT packet."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = config.session_expiry_s
    props.ReceiveMaximum = config.receive_maximum
    return props
