"""MQTT publisher of one lifter (contract 3): retained status with a last will, events at QoS 1
through the on-disk outbox, live angles at QoS 0.

The outbox, not paho's memory, is the one list of unacknowledged events, and all of it is sent
again (oldest first) on each new connection. What is delivered late that way (queued during an
outage, or left by an earlier run) is logged with its age, once per connection. Subscribers
drop the rare duplicate by ``(session_id, seq)``. A hub of a gym (``await_store``) keeps
each event until a store consumer confirms it stored it, and sends what is unconfirmed again
whenever a consumer (re)subscribes: a broker restart that lost a consumer group's shared
subscription (Mosquitto 2.0 does) then costs a delay, not events. Connecting, the MQTT 5 /
3.1.1 negotiation and reconnecting are :mod:`processing.live.mqtt_connection`'s job; this
module keeps the books of what was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from processing.live.mqtt_connection import ConnectionHooks, MqttConnection
from processing.live.outbox import Outbox, OutboxRow, format_age
from processing.wire.messages import (
    STORE_READY_TOPIC,
    encode,
    event_topic,
    live_topic,
    now_ms,
    status_payload,
    status_topic,
    stored_topic,
)
from processing.wire.mqtt_url import BrokerURL

log = logging.getLogger(__name__)

#: Rows resent on a new connection after waiting at least this long count as late. Events of
#: the first moments of every run wait for the first CONNACK (a few ms, or about 1.5 s while
#: an embedded broker starts and the MQTT 5 attempt falls back): that is not news.
LATE_AFTER_MS = 5000
#: On a store consumer's announcement, rows the broker acknowledged up to this long after the
#: consumer subscribed (by this machine's clock) are sent again too: the clocks may differ.
CLOCK_SKEW_MS = 10_000
#: ...and so are rows unconfirmed this long after the broker acknowledged them, whenever: a
#: consumer that never came back holds them in its session. Not all unconfirmed rows: with a
#: store that is behind, resending everything on each announcement multiplied its backlog.
STALE_AFTER_MS = 60_000


class LateDeliveries:
    """Rows resent on a new connection, and the late ones among them acknowledged so far."""

    def __init__(self, lifter: str) -> None:
        self.lifter = lifter
        #: Outbox row -> (session, queued at, epoch ms), sent late and not yet acknowledged.
        self._waiting: dict[int, tuple[str | None, int]] = {}
        self._delivered: list[tuple[str | None, int]] = []

    def sent(self, row: OutboxRow) -> None:
        """``row`` was resent on a new connection; late if it waited long enough."""
        if now_ms() - row.queued_ms >= LATE_AFTER_MS:
            self._waiting[row.id] = (row.session_id, row.queued_ms)

    def acknowledged(self, row_id: int) -> None:
        """PUBACK of a row; the log line comes once every late row of the batch is in."""
        if (late := self._waiting.pop(row_id, None)) is not None:
            self._delivered.append(late)
            if not self._waiting:
                self.report()

    def report(self) -> None:
        """Log what was delivered late since the last report (nothing if nothing was)."""
        # A connection lost mid-batch also reports: its unacknowledged rows are resent (and
        # counted) on the next connection.
        self._waiting.clear()
        if not self._delivered:
            return
        now = now_ms()
        queued = [queued_ms for _, queued_ms in self._delivered]
        sessions = list(dict.fromkeys(session or "?" for session, _ in self._delivered))
        log.warning(
            "%s: delivered %d event(s) late, queued %s to %s ago (session%s %s)",
            self.lifter,
            len(self._delivered),
            format_age(now - min(queued)),
            format_age(now - max(queued)),
            "s" if len(sessions) > 1 else "",
            ", ".join(sessions),
        )
        self._delivered.clear()


class MqttPublisher:
    """Publishes one lifter's topics; reconnects by itself and never drops an event."""

    def __init__(
        self,
        url: BrokerURL,
        lifter: str,
        outbox: Outbox,
        mqtt5: bool = True,
        await_store: bool = False,
    ) -> None:
        """Publisher of ``lifter`` to ``url``; ``mqtt5=False`` skips trying MQTT 5 (amqtt);
        ``await_store`` keeps events until a store consumer confirms them."""
        self.url = url
        self.lifter = lifter
        self._outbox = outbox
        self._await_store = await_store
        #: Set while no event of this lifter waits in the outbox.
        self._all_stored = asyncio.Event()
        #: In-flight QoS 1 messages of this connection: paho mid -> outbox row (None: status).
        self._inflight: dict[int, int | None] = {}
        self._settled = asyncio.Event()
        self._status = status_payload("online", None, {}, None)
        self._late = LateDeliveries(lifter)
        hooks = ConnectionHooks(
            will=self._will,
            accepted=self._resend_all,
            published=self._on_publish,
            abandoned=self._forget_inflight,
            subscriptions=(stored_topic(lifter), STORE_READY_TOPIC) if await_store else (),
            received=self._received,
        )
        client_id = f"backspotter-{lifter}-{secrets.token_hex(4)}"
        self._link = MqttConnection(url, client_id, lifter, hooks, mqtt5)

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._link.connected

    @property
    def protocol(self) -> str | None:
        """``"5"`` or ``"3.1.1"`` while connected, else None."""
        return self._link.protocol

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait (bounded) until the broker accepts the connection; False on timeout."""
        return await self._link.wait_connected(timeout_s)

    def start(self) -> None:
        """Start connecting in the background; events wait in the outbox meanwhile."""
        self._link.start()

    def publish_events(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        """Store stamped events in the outbox, then publish them at QoS 1 if connected."""
        if not envelopes:
            return
        messages = [(event_topic(self.lifter, e["type"]), encode(e)) for e in envelopes]
        row_ids = self._outbox.add(self.lifter, messages)
        self._all_stored.clear()
        if self.connected:
            for row_id, (topic, payload) in zip(row_ids, messages, strict=True):
                self._send(topic, payload, row_id)

    def publish_live(self, payload: Mapping[str, Any]) -> None:
        """Publish a ``live`` message at QoS 0; dropped while disconnected (stale soon)."""
        if self.connected:
            self._link.publish(live_topic(self.lifter), encode(payload), 0, False)

    def set_status(
        self, session_id: str | None, sensors: Mapping[str, bool], dropped_samples: int = 0
    ) -> None:
        """Update the retained ``online`` status (session, sensor links, dropped samples)."""
        self._status = status_payload("online", session_id, sensors, now_ms(), dropped_samples)
        if self.connected:
            self._send_status()

    async def close(self, drain_timeout_s: float = 3.0) -> None:
        """Publish ``ended``, wait (bounded) for acknowledgements (and the store's confirmations
        with ``await_store``), disconnect cleanly.

        ``ended`` (not ``offline``, which the last will says) tells a dashboard the session
        stopped as it should. Events still unacknowledged stay in the outbox for the next run.
        """
        self._status = {**self._status, "state": "ended", "ts": now_ms()}
        if self.connected:
            self._send_status()
            try:
                await asyncio.wait_for(self._drained(), drain_timeout_s)
            except TimeoutError:
                log.debug("%s: %d message(s) still in flight", self.lifter, len(self._inflight))
        await self._link.stop()
        self._late.report()
        left = self._outbox.count(self.lifter)
        if left:
            log.warning(
                "%d %s event(s) not acknowledged by %s stay in the outbox for the next run "
                "(backspotter outbox list)",
                left,
                self.lifter,
                self.url,
            )

    async def _drained(self) -> None:
        """Until nothing is in flight (and, awaiting the store, nothing is unconfirmed)."""
        await self._settled.wait()
        if self._await_store and self._outbox.count(self.lifter):
            await self._all_stored.wait()

    def _will(self) -> tuple[str, bytes]:
        """The last will: ``offline`` for the current session, retained by the broker."""
        will = status_payload("offline", self._status["session_id"], {}, None)
        return status_topic(self.lifter), encode(will)

    def _resend_all(self) -> None:
        """A new connection: send the status and everything the outbox holds, oldest first."""
        self._send_status()
        for row in self._outbox.pending(self.lifter):
            if self._send(row.topic, row.payload, row.id):
                self._late.sent(row)

    def _on_publish(self, mid: int, reason: ReasonCode) -> None:
        """PUBACK: the broker has the message, so its outbox row can go."""
        if mid not in self._inflight:
            return  # a QoS 0 live message left the socket
        row_id = self._inflight.pop(mid)
        if reason.is_failure:
            log.error("%s rejected a message of %s: %s", self.url, self.lifter, reason)
        elif row_id is not None:
            if self._await_store:
                self._outbox.delivered(row_id)
            else:
                self._outbox.ack(row_id)
            self._late.acknowledged(row_id)
        if not self._inflight:
            self._settled.set()

    def _received(self, topic: str, payload: bytes) -> None:
        """A store's confirmation (forget what it has), or a consumer's announcement (send
        again what may have reached no store: what it lacks, it never confirms)."""
        try:
            message = json.loads(payload)
            if topic == STORE_READY_TOPIC:
                self._resend_unconfirmed(int(message["subscribed_ms"]))
                return
            self._outbox.confirm(self.lifter, str(message["session_id"]), int(message["seq"]))
        except (ValueError, TypeError, KeyError) as error:
            log.warning("%s: ignored a malformed message on %s: %s", self.lifter, topic, error)
            return
        if not self._outbox.count(self.lifter):
            self._all_stored.set()

    def _resend_unconfirmed(self, subscribed_ms: int) -> None:
        """Send again what the broker may have had no store subscriber for: what it
        acknowledged before the announcing consumer subscribed, and what is long unconfirmed."""
        before_ms = max(subscribed_ms + CLOCK_SKEW_MS, now_ms() - STALE_AFTER_MS)
        for row in self._outbox.unconfirmed(self.lifter, before_ms):
            self._send(row.topic, row.payload, row.id)

    def _forget_inflight(self) -> None:
        """The connection is gone: nothing in flight will be acknowledged, the outbox resends."""
        self._inflight.clear()
        self._settled.set()
        self._late.report()

    def _send(self, topic: str, payload: bytes, row_id: int | None, retain: bool = False) -> bool:
        """Publish at QoS 1 and remember the mid until its PUBACK; False if it did not go."""
        info = self._link.publish(topic, payload, 1, retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        self._inflight[info.mid] = row_id
        self._settled.clear()
        return True

    def _send_status(self) -> None:
        """Publish the current status, retained."""
        self._send(status_topic(self.lifter), encode(self._status), None, retain=True)
