"""One connection to a sensor through bleak: connect, subscribe, start, hand over notifications.

Only bleak's public API is used; the backend class comes from :class:`BleBackend`, so the same
code drives BlueZ, CoreBluetooth, WinRT or an emulated radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from sensor.ble.config import BleBackend, HostClock, LinkPolicy, SensorSpec
from sensor.profiles import DecodedFrames, DecoderStats

log = logging.getLogger(__name__)

#: Receives decoded notifications with the host arrival time of each.
FramesSink = Callable[[DecodedFrames, Sequence[float]], None]


class SensorLink:
    """An open connection that decodes its notifications in batches as they arrive.

    The notification callback only stamps and keeps each payload; one drain per event-loop
    pass decodes everything that arrived meanwhile (a connection event's worth, or a backlog
    after a stall) in one :meth:`~sensor.profiles.Decoder.feed_many` call, so the decoder's
    per-call cost is paid once per pass, not once per notification.
    """

    def __init__(
        self, spec: SensorSpec, clock: HostClock, sink: FramesSink, backend: BleBackend
    ) -> None:
        self.spec = spec
        self._clock = clock
        self._sink = sink
        self._backend = backend
        self._decoder = spec.profile.new_decoder()
        self._client: BleakClient | None = None
        self._payloads: list[bytearray] = []
        self._arrivals_s: list[float] = []
        self._drain_scheduled = False
        #: Set when the link drops without being asked to.
        self.lost = asyncio.Event()

    @property
    def decoder_stats(self) -> DecoderStats:
        """What this connection's decoder has seen (packets, samples, bad packets)."""
        return self._decoder.stats

    async def open(self, device: BLEDevice, policy: LinkPolicy) -> None:
        """Connect, subscribe and write the start commands within ``connect_timeout_s``."""
        try:
            await self._open(device, policy)
        except TimeoutError as exc:
            limit = f"{policy.connect_timeout_s:g} s"
            raise TimeoutError(f"no answer to connect, discover and start in {limit}") from exc

    async def _open(self, device: BLEDevice, policy: LinkPolicy) -> None:
        """Connect, subscribe and start, bounded by ``connect_timeout_s``."""
        async with asyncio.timeout(policy.connect_timeout_s):
            self._client = await establish_connection(
                BleakClient,
                device,
                f"{self.spec.role} sensor {self.spec.target}",
                disconnected_callback=self._on_disconnected,
                max_attempts=policy.retry_attempts,
                backend=self._backend.client,
            )
            try:
                await self._start(self._client)
            except BaseException:
                await self._disconnect(policy.close_timeout_s)
                raise

    async def _start(self, client: BleakClient) -> None:
        """Enable notifications, then write the profile's start commands."""
        profile = self.spec.profile
        await client.start_notify(profile.notify_uuid, self._on_notification)
        for uuid, data in profile.start_commands(self.spec.rate_hz):
            await client.write_gatt_char(uuid, data)

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        """Keep the notification with its arrival time; decode it in this pass's drain."""
        self._arrivals_s.append(self._clock())
        self._payloads.append(data)
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self.drain)

    def drain(self) -> None:
        """Decode the notifications kept so far in one batch (decoders never raise); pass on."""
        self._drain_scheduled = False
        payloads, arrivals_s = self._payloads, self._arrivals_s
        if not payloads:
            return
        self._payloads, self._arrivals_s = [], []
        self._sink(self._decoder.feed_many(payloads), arrivals_s)

    def _on_disconnected(self, _client: BleakClient) -> None:
        """Hand over what arrived before the loss, then signal: the supervisor decides."""
        self.drain()
        self.lost.set()

    async def close(self, timeout_s: float) -> None:
        """Ask the sensor to stop, then disconnect; each step bounded, failures ignored.

        Notifications that arrived before the link closed are handed over before returning.
        """
        try:
            await self._stop(timeout_s)
        finally:
            self.drain()

    async def _stop(self, timeout_s: float) -> None:
        """Write the stop commands and disconnect, unless the link is already gone."""
        client = self._client
        if client is None or not client.is_connected or self.lost.is_set():
            return
        with contextlib.suppress(BleakError, TimeoutError):
            async with asyncio.timeout(timeout_s):
                for uuid, data in self.spec.profile.stop_commands():
                    await client.write_gatt_char(uuid, data)
        await self._disconnect(timeout_s)

    async def _disconnect(self, timeout_s: float) -> None:
        """Disconnect, ignoring a link that is already gone."""
        client = self._client
        if client is None:
            return
        with contextlib.suppress(BleakError, TimeoutError):
            async with asyncio.timeout(timeout_s):
                await client.disconnect()
        log.debug("%s: disconnected", self.spec.target)
