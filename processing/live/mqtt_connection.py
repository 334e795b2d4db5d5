"""One lifter's connection to the MQTT broker: connect, negotiate, stay connected.

Every connection uses a fresh paho client, so nothing unacknowledged hides in paho's memory
(the publisher's outbox is the one list of it). MQTT 5 is tried first; a broker that refuses
it (amqtt speaks 3.1.1 only) gets 3.1.1, which keeps retain, will and QoS 1 and only loses the
content-type property. What is published, and what happens on each new connection, is the
publisher's business (:mod:`processing.live.mqtt`): it hears of it through the callbacks.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from processing.live.mqtt_loop import SocketBinding
from processing.wire.mqtt_url import BrokerURL

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"
#: CONNACK reason "Unsupported Protocol Version" (MQTT 5 numbering; paho maps 3.1.1's 1 to it).
_UNSUPPORTED_PROTOCOL = 132
_KEEPALIVE_S = 15
#: How long to wait for CONNACK. Brokers answer in milliseconds; amqtt never answers some
#: MQTT 5 CONNECTs, and this is how long the fallback to 3.1.1 then takes.
_CONNACK_TIMEOUT_S = 2.0
_RETRY_MIN_S = 0.1
_RETRY_MAX_S = 2.0
#: Brokers (host, port) that turned MQTT 5 down in this process: other lifters' publishers
#: start at 3.1.1 instead of each finding out again.
_REFUSED_MQTT5: set[tuple[str, int]] = set()
_PROTOCOL_NAMES = {MQTTProtocolVersion.MQTTv5: "5", MQTTProtocolVersion.MQTTv311: "3.1.1"}


class _Handshake(NamedTuple):
    """How a connection attempt ended: ``refusal`` None means accepted; ``answered`` tells a
    CONNACK from a connection that closed or stayed silent."""

    refusal: ReasonCode | None
    answered: bool


@dataclass(frozen=True, slots=True)
class ConnectionHooks:
    """What the connection tells its owner, all called on the event loop."""

    #: The last will to register on each new client: (topic, payload), sent retained at QoS 1.
    will: Callable[[], tuple[str, bytes]]
    #: The broker accepted a connection: time to send what it should have.
    accepted: Callable[[], None]
    #: PUBACK (or a QoS 0 message leaving the socket): paho's mid and the broker's reason.
    published: Callable[[int, ReasonCode], None]
    #: The client was dropped; whatever it had in flight will never be acknowledged.
    abandoned: Callable[[], None]
    #: Topics to subscribe to (QoS 1) on every connection, and what to do with a message.
    subscriptions: tuple[str, ...] = ()
    received: Callable[[str, bytes], None] | None = None


class MqttConnection:
    """Keeps one client connected to ``url``, reconnecting with backoff until stopped."""

    def __init__(
        self, url: BrokerURL, client_id: str, name: str, hooks: ConnectionHooks, mqtt5: bool
    ) -> None:
        """Connection ``client_id`` (``name`` in logs); ``mqtt5=False`` starts at 3.1.1."""
        self.url = url
        self._client_id = client_id
        self._name = name
        self._hooks = hooks
        v5, v311 = MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311
        refused_before = (url.host, url.port) in _REFUSED_MQTT5
        self._protocol = v5 if mqtt5 and not refused_before else v311
        self._mqtt5_worked = False
        self._client: paho.Client | None = None
        self._binding: SocketBinding | None = None
        self._dropped = asyncio.Event()
        #: Set while the broker has accepted the current connection.
        self._up = asyncio.Event()
        self._handshake: asyncio.Future[_Handshake] | None = None
        self._task: asyncio.Task[None] | None = None
        self._outage_logged = False

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._up.is_set()

    @property
    def protocol(self) -> str | None:
        """``"5"`` or ``"3.1.1"`` while connected, else None."""
        return _PROTOCOL_NAMES[self._protocol] if self.connected else None

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait (bounded) until the broker accepts the connection; False on timeout."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def start(self) -> None:
        """Start connecting in the background."""
        self._task = asyncio.get_running_loop().create_task(self._stay_connected())

    async def stop(self) -> None:
        """Disconnect cleanly (no last will) and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> paho.MQTTMessageInfo:
        """Hand a message to the connected client; the socket is written when it can be."""
        assert self._client is not None and self._binding is not None, "only while connected"
        info = self._client.publish(topic, payload, qos, retain, self._props)
        self._binding.flush()
        return info

    async def _stay_connected(self) -> None:
        """Connect, serve the connection until it drops, and retry with backoff; forever."""
        retry_s = _RETRY_MIN_S
        try:
            while True:
                outcome = await self._connect_once()
                if outcome == "connected":
                    retry_s = _RETRY_MIN_S
                    await self._dropped.wait()
                    self._abandon()
                    log.warning("lost MQTT connection to %s; events wait in the outbox", self.url)
                elif outcome == "failed":
                    await asyncio.sleep(retry_s * random.uniform(0.5, 1.0))
                    retry_s = min(retry_s * 2, _RETRY_MAX_S)
        finally:
            self._disconnect()

    async def _connect_once(self) -> str:
        """One attempt: ``connected``, ``downgraded`` (retry at 3.1.1 now) or ``failed``."""
        client = self._new_client()
        loop = asyncio.get_running_loop()
        try:
            # TCP connect, TLS handshake and sending CONNECT block: run them off the loop.
            await loop.run_in_executor(None, _open, client, self.url)
        except OSError as error:
            self._log_outage(f"unreachable ({error.strerror or type(error).__name__})")
            return "failed"
        self._client = client
        self._dropped.clear()
        self._handshake = loop.create_future()
        self._binding = SocketBinding(loop, client)
        try:
            result = await asyncio.wait_for(self._handshake, _CONNACK_TIMEOUT_S)
        except TimeoutError:
            result = _Handshake(ReasonCode(PacketTypes.CONNACK, "Server unavailable"), False)
        if result.refusal is None:
            self._mqtt5_worked |= self._protocol == MQTTProtocolVersion.MQTTv5
            return "connected"
        self._abandon()
        return self._after_refusal(result)

    def _after_refusal(self, result: _Handshake) -> str:
        """Fall back to 3.1.1 when the broker turns MQTT 5 down; anything else is a failure.

        Brokers that only speak 3.1.1 refuse MQTT 5 explicitly (mosquitto 1.x, amqtt without a
        will) or misread its CONNECT and never answer (amqtt with a will); a CONNACK refusing
        for another reason (credentials) is not about the protocol.
        """
        assert result.refusal is not None
        unanswered = not result.answered and not self._mqtt5_worked
        if self._protocol == MQTTProtocolVersion.MQTTv5 and (
            result.refusal.value == _UNSUPPORTED_PROTOCOL or unanswered
        ):
            log.info("%s did not accept MQTT 5 (%s); using MQTT 3.1.1", self.url, result.refusal)
            self._protocol = MQTTProtocolVersion.MQTTv311
            _REFUSED_MQTT5.add((self.url.host, self.url.port))
            return "downgraded"
        self._log_outage(f"refused the connection: {result.refusal}")
        return "failed"

    def _new_client(self) -> paho.Client:
        """A paho client with the callbacks, credentials, TLS and last will of this connection."""
        client = _configured_client(self.url, self._client_id, self._protocol)
        will_topic, will_payload = self._hooks.will()
        will_props = _json_properties(PacketTypes.WILLMESSAGE, self._protocol)
        client.will_set(will_topic, will_payload, 1, True, will_props)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        """CONNACK: on success let the owner send what the broker should have."""
        if reason.is_failure:
            self._resolve_handshake(_Handshake(reason, True))
            return
        self._up.set()
        self._outage_logged = False
        log.info("connected to %s (MQTT %s) for %s", self.url, self.protocol, self._name)
        self._resolve_handshake(_Handshake(None, True))
        if self._hooks.subscriptions:
            client.subscribe([(topic, 1) for topic in self._hooks.subscriptions])
        self._hooks.accepted()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        """The connection is gone (or never came up)."""
        self._up.clear()
        self._resolve_handshake(_Handshake(reason, False))
        self._dropped.set()

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        """PUBACK, or a QoS 0 message left the socket: the owner decides which."""
        self._hooks.published(mid, reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """A message on one of the subscriptions: the owner's business."""
        if self._hooks.received is not None:
            self._hooks.received(message.topic, bytes(message.payload))

    def _resolve_handshake(self, result: _Handshake) -> None:
        """Wake the connection attempt with its outcome."""
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_result(result)

    def _abandon(self) -> None:
        """Drop the current client; the owner resends what it had in flight next time."""
        client, self._client = self._client, None
        self._up.clear()
        self._hooks.abandoned()
        if self._binding is not None:
            self._binding.release()
            self._binding = None
        sock = client.socket() if client is not None else None
        if sock is not None:
            sock.close()

    def _disconnect(self) -> None:
        """Say goodbye (so the broker does not send the last will) and close the socket."""
        if self._client is not None and self.connected:
            self._client.disconnect()
            self._client.loop_write()
        self._abandon()

    @property
    def _props(self) -> Properties | None:
        """MQTT 5 PUBLISH properties marking the payload as JSON; None under 3.1.1."""
        return _json_properties(PacketTypes.PUBLISH, self._protocol)

    def _log_outage(self, what: str) -> None:
        """Warn once per outage, not on every retry."""
        if not self._outage_logged:
            self._outage_logged = True
            log.warning("MQTT broker %s %s; retrying, events wait in the outbox", self.url, what)


def _configured_client(
    url: BrokerURL, client_id: str, protocol: MQTTProtocolVersion
) -> paho.Client:
    """A fresh paho client for ``url`` with its credentials and TLS, not yet connected."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        reconnect_on_failure=False,
    )
    url.log_in(client)
    return client


def _open(client: paho.Client, url: BrokerURL) -> None:
    """Connect the socket and send CONNECT; blocking, so it runs in a worker thread."""
    client.connect(url.host, url.port, _KEEPALIVE_S)
    sock = client.socket()
    if isinstance(sock, socket.socket):
        # paho leaves Nagle's algorithm on: an alert sent while an earlier message is not
        # yet acknowledged would wait for the broker's delayed ACK (40 ms on Linux).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PackedOnce(Properties):
    """Properties that never change once set, packed on the first publish only: paho packs
    them again for every message, walking every property MQTT 5 knows."""

    def pack(self) -> bytes:
        """The properties as sent, packed once."""
        packed = self.__dict__.get("_packed")
        if packed is None:
            packed = bytes(super().pack())  # type: ignore[no-untyped-call]
            # Properties refuses attributes that are not MQTT properties.
            object.__setattr__(self, "_packed", packed)
        return cast(bytes, packed)


@functools.cache
def _json_properties(packet_type: int, protocol: MQTTProtocolVersion) -> Properties | None:
    """Content type ``application/json`` for MQTT 5 (cached, and never changed)."""
    if protocol != MQTTProtocolVersion.MQTTv5:
        return None
    props = _PackedOnce(packet_type)  # type: ignore[no-untyped-call]
    props.ContentType = CONTENT_TYPE
    props.PayloadFormatIndicator = 1
    return props
