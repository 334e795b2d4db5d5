"""A test-side MQTT subscriber (paho in its own thread) that records what a consumer sees."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Received:
    """One message as the subscriber got it."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    content_type: str | None
    received_at_s: float

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)


class Subscriber:
    """Subscribes to ``topic_filter`` (QoS 1), reconnecting by itself, and records messages.

    ``session`` names a persistent session (clean start off, long expiry): the broker then keeps
    queueing QoS 1 messages for it while it is disconnected, as a consumer that must not miss
    events should do.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        session: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.topic_filter = topic_filter
        self.messages: list[Received] = []
        self._changed = threading.Condition()
        self._subscribed = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=session or "",
            protocol=protocol,
            clean_session=None if protocol == MQTTProtocolVersion.MQTTv5 else session is None,
        )
        self._client.reconnect_delay_set(1, 1)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        props = None
        if protocol == MQTTProtocolVersion.MQTTv5 and session is not None:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
        v5 = protocol == MQTTProtocolVersion.MQTTv5
        clean_start = (session is None) if v5 else paho.MQTT_CLEAN_START_FIRST_ONLY
        self._client.connect(host, port, 10, clean_start=clean_start, properties=props)
        self._client.loop_start()
        self.wait_for(lambda _: self._subscribed, timeout_s, "SUBACK")

    def wait_for(
        self, condition: Callable[[list[Received]], bool], timeout_s: float = 10.0, what: str = ""
    ) -> list[Received]:
        """Block until ``condition(messages)`` holds; fail after ``timeout_s``."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.messages), timeout_s):
                raise AssertionError(
                    f"timed out after {timeout_s} s waiting for {what or 'messages'} on "
                    f"{self.topic_filter}; got {len(self.messages)}"
                )
            return list(self.messages)

    async def until(
        self, condition: Callable[[list[Received]], bool], timeout_s: float = 10.0, what: str = ""
    ) -> list[Received]:
        """``wait_for`` without blocking the event loop (the publisher under test runs on it)."""
        return await asyncio.to_thread(self.wait_for, condition, timeout_s, what)

    def events(self) -> list[dict[str, Any]]:
        """Decoded payloads of every message under ``.../events/``."""
        with self._changed:
            return [m.json() for m in self.messages if "/events/" in m.topic]

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 on this client's connection and wait for the PUBACK."""
        self._client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        """(Re)subscribe on every connection."""
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        """The subscription is active."""
        with self._changed:
            self._subscribed = True
            self._changed.notify_all()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """Record the message and wake waiters."""
        content_type = getattr(message.properties, "ContentType", None)
        received = Received(
            message.topic,
            bytes(message.payload),
            bool(message.retain),
            message.qos,
            content_type,
            time.time(),
        )
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()
