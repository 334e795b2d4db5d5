"""An emulated IMU: a Bumble device with the real GATT layout, advertising and byte stream.

The sensor advertises as the real device does, serves the profile's service, obeys the
profile's start/rate writes, and streams simulated motion in the device's own notification
bytes. Notifications leave only at connection-event boundaries (a few per event), so the
host sees the bursts a real link produces. Faults a gym produces are one call away: a radio
stall, a dropped link (HCI reason 0x08, supervision timeout), a sensor that disappears and
reappears, garbage notifications, and a device whose GATT server never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass

from bumble import data_types, gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from sensor.profiles import Profile
from sensor.samples import SampleBatch

from .clock import SimClock
from .motion import MotionPlayer, Packet
from .radio import VirtualRadio, uninterrupted

#: Legacy advertising PDUs carry at most 31 bytes of data.
MAX_ADVERTISING_BYTES = 31
CONNECTION_TIMEOUT = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR


@dataclass(frozen=True)
class LinkPacing:
    """How the link layer paces notifications (all times in simulated seconds)."""

    connection_interval_s: float = 0.030
    #: Notifications the device fits in one connection event.
    max_packets_per_event: int = 6
    #: Notifications the firmware buffers while it cannot send; older ones are dropped.
    buffer_packets: int = 64
    #: The firmware keeps unsent notifications across a lost link (else the link layer's
    #: buffer goes with the link and nothing is kept while disconnected).
    keep_unsent_on_disconnect: bool = False
    #: Already-sent notifications the firmware sends again after a reconnect.
    resend_on_reconnect: int = 0


class SensorDevice(Device):
    """A Bumble device whose GATT server can go silent (a sensor that never answers)."""

    silent = False

    def on_gatt_pdu(self, connection: Connection, pdu: bytes) -> None:
        """Drop the client's requests while silent (even ATT opcodes go client to server)."""
        if self.silent and pdu[0] % 2 == 0:
            return
        super().on_gatt_pdu(connection, pdu)


class EmulatedSensor:
    """One emulated IMU on the virtual radio, streaming ``motion`` as ``profile`` bytes."""

    def __init__(
        self,
        radio: VirtualRadio,
        profile: Profile,
        motion: SampleBatch,
        clock: SimClock,
        *,
        name: str,
        address: str,
        rssi_dbm: int = -60,
        pacing: LinkPacing | None = None,
        silent: bool = False,
        device_clock_offset_s: float = 1000.0,
    ) -> None:
        self.profile, self.clock, self.name, self.address = profile, clock, name, address
        self.pacing = pacing or LinkPacing()
        self.player = MotionPlayer(profile, motion, device_clock_offset_s=device_clock_offset_s)
        self.device = radio.new_device(name, address, SensorDevice)
        self.device.silent = silent
        radio.set_rssi(address, rssi_dbm)
        self._notify_char = _notify_characteristic(profile)
        self._needs_start = any(
            profile.parse_write(uuid, data).action == "start"
            for uuid, data in profile.start_commands()
        )
        self._queue: deque[Packet] = deque()
        self._history: deque[Packet] = deque(maxlen=max(1, self.pacing.resend_on_reconnect))
        self._connection: Connection | None = None
        self._subscribed = False
        self._stalled_until_s = -math.inf
        self._hidden = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._link_clock: asyncio.Task[None] | None = None
        #: Every notification put on the air, in order.
        self.sent: list[Packet] = []
        #: Notifications the full buffer threw away.
        self.dropped_packets = 0
        #: Notifications sent in each connection event that carried any.
        self.burst_sizes: list[int] = []
        #: Loop time of the last :meth:`reappear`.
        self.reappeared_at: float | None = None
        #: Set while sample data reaches a subscribed client.
        self.streaming = asyncio.Event()
        #: Set once the whole motion has been sampled and sent (or dropped).
        self.finished = asyncio.Event()

    async def start(self) -> None:
        """Power on, serve the GATT database and start advertising and the link clock."""
        self.device.add_service(gatt.Service(self.profile.service_uuid, self._characteristics()))
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
        self._notify_char.on(self._notify_char.EVENT_SUBSCRIPTION, self._on_subscription)
        await self.device.power_on()
        await self._advertise()
        self._link_clock = asyncio.create_task(self._run_connection_events())

    async def close(self) -> None:
        """Stop the link clock and let pending HCI work finish (the radio drops the rest)."""
        self._hidden = True  # no advertising after the host lets go
        if self._link_clock is not None:
            self._link_clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._link_clock
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    # Faults -------------------------------------------------------------------------------

    def stall(self, duration_s: float) -> None:
        """Send nothing for ``duration_s`` simulated seconds; the sensor keeps sampling."""
        self._stalled_until_s = self.clock.now_s() + duration_s

    async def drop_link(self, reason: int = CONNECTION_TIMEOUT) -> None:
        """End the connection as a lost radio link does; the sensor advertises again."""
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(hci.HCI_Error):
                await uninterrupted(self.device.disconnect(connection, reason))

    async def disappear(self) -> None:
        """Go out of range: drop the link and stop advertising until :meth:`reappear`."""
        self._hidden = True
        await self.drop_link()
        if self.device.is_advertising:
            await self.device.stop_advertising()

    async def reappear(self) -> None:
        """Come back into range and advertise; records the moment in :attr:`reappeared_at`."""
        self._hidden = False
        self.reappeared_at = asyncio.get_running_loop().time()
        await self._advertise()

    def inject_garbage(self, payloads: list[bytes]) -> None:
        """Queue notifications that are not valid device bytes."""
        self._queue.extend(Packet(payload, "garbage") for payload in payloads)

    # What a test inspects -----------------------------------------------------------------

    def sent_data(self) -> list[Packet]:
        """The sample-carrying notifications put on the air, in order."""
        return [packet for packet in self.sent if packet.kind == "data"]

    # GATT ----------------------------------------------------------------------------------

    def _characteristics(self) -> list[gatt.Characteristic[bytes]]:
        """The notify characteristic and, when the profile has one, the command characteristic."""
        if self.profile.write_uuid is None:
            return [self._notify_char]
        command: gatt.Characteristic[bytes] = gatt.Characteristic(
            self.profile.write_uuid,
            gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        return [self._notify_char, command]

    def _on_connection(self, connection: Connection) -> None:
        """Remember the link; react when it goes."""
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        """Forget the link, keep what was not sent, advertise again unless out of range."""
        self._connection, self._subscribed = None, False
        self.streaming.clear()
        if not self.pacing.keep_unsent_on_disconnect:
            self.dropped_packets += len(self._queue)
            self._queue.clear()
        if self.pacing.resend_on_reconnect:
            self._queue.extendleft(reversed(self._history))
            self._history.clear()
        if not self._hidden:
            self._spawn(self._advertise())

    def _on_subscription(self, _bearer: object, notify_enabled: bool, _indicate: bool) -> None:
        """Notifications on: devices without a start command start measuring now."""
        self._subscribed = notify_enabled
        if notify_enabled and not self._needs_start:
            self.player.start(self.clock.now_s())

    def _on_write(self, _connection: Connection, value: bytes) -> None:
        """Obey a command write as the firmware does."""
        assert self.profile.write_uuid is not None
        command = self.profile.parse_write(self.profile.write_uuid, bytes(value))
        self._queue.extendleft(Packet(reply, "reply") for reply in reversed(command.replies))
        now_s = self.clock.now_s()
        if command.rate_hz is not None:
            self._enqueue(self.player.set_rate(command.rate_hz))
        if command.action == "start":
            self.player.start(now_s)

    # Link layer ------------------------------------------------------------------------------

    async def _advertise(self) -> None:
        """Advertise as the real device does (name, and the service when it fits)."""
        if self._hidden:
            return
        # A device with several services advertises one chosen by its firmware (the
        # Thingy:52 its configuration service), listed first among the extra ones.
        advertised = (*self.profile.extra_service_uuids, self.profile.service_uuid)[0]
        await self.device.start_advertising(
            advertising_data=_advertising_data(self.name, advertised),
            advertising_interval_min=20.0,
            advertising_interval_max=20.0,
        )

    async def _run_connection_events(self) -> None:
        """Sample on the device clock; send a few notifications per connection event."""
        next_event_s = self.clock.now_s()
        while True:
            next_event_s += self.pacing.connection_interval_s
            await self.clock.sleep_until(next_event_s)
            self._enqueue(self.player.take_due(self.clock.now_s()))
            if self._can_send():
                await self._send_event()
            if self.player.finished and not self._queue:
                self.finished.set()

    def _enqueue(self, packets: list[Packet]) -> None:
        """Buffer new notifications; a full buffer drops the oldest, as a ring buffer does."""
        if self._connection is None and not self.pacing.keep_unsent_on_disconnect:
            self.dropped_packets += len(packets)
            return
        self._queue.extend(packets)
        while len(self._queue) > self.pacing.buffer_packets:
            self._queue.popleft()
            self.dropped_packets += 1

    def _can_send(self) -> bool:
        """Whether this connection event carries data."""
        stalled = self.clock.now_s() < self._stalled_until_s
        return self._connection is not None and self._subscribed and not stalled

    async def _send_event(self) -> None:
        """Send up to the per-event budget of buffered notifications."""
        budget = min(self.pacing.max_packets_per_event, len(self._queue))
        if budget:
            self.burst_sizes.append(budget)
        for _ in range(budget):
            connection = self._connection
            if connection is None or not self._queue:
                return
            packet = self._queue.popleft()
            await self.device.notify_subscriber(connection, self._notify_char, packet.payload)
            self.sent.append(packet)
            self._history.append(packet)
            if packet.kind == "data":
                self.streaming.set()

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _notify_characteristic(profile: Profile) -> gatt.Characteristic[bytes]:
    """The characteristic the device streams on."""
    return gatt.Characteristic(
        profile.notify_uuid,
        gatt.Characteristic.Properties.NOTIFY,
        gatt.Characteristic.READABLE,
        b"",
    )


def _advertising_data(name: str, service_uuid: str) -> bytes:
    """Complete local name, plus the 128-bit service UUID when both fit in 31 bytes."""
    name_only = bytes(AdvertisingData([data_types.CompleteLocalName(name)]))
    with_service = bytes(
        AdvertisingData(
            [
                data_types.CompleteLocalName(name),
                data_types.CompleteListOf128BitServiceUUIDs([UUID(service_uuid)]),
            ]
        )
    )
    return with_service if len(with_service) <= MAX_ADVERTISING_BYTES else name_only
