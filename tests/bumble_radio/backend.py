"""A bleak backend on Bumble: ``BleakScanner(backend=...)`` / ``BleakClient(backend=...)``.

Application code keeps using bleak's public API; only the backend class differs, and it
talks HCI to the virtual controller of :mod:`.radio` instead of to BlueZ.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble import core, hci
from bumble.att import ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, ServiceProxy

from .radio import VirtualRadio, radio_for_running_loop, uninterrupted

#: ATT MTU the host asks for, as BlueZ does (room for 244-byte notifications).
REQUESTED_ATT_MTU = 247
_MIN_ATT_MTU = 23

_PROPERTY_NAMES: dict[Characteristic.Properties, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}
_SERVICE_UUID_LISTS = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` of a device heard on the virtual radio."""

    address: hci.Address


def bleak_uuid(uuid: core.UUID) -> str:
    """A Bumble UUID in bleak's normalised 128-bit lower-case form."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Bleak's view of one Bumble advertising report."""
    data = advertisement.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    # The report repeats the advertising data as scan response; keep each UUID once.
    uuids = list(
        dict.fromkeys(
            bleak_uuid(uuid)  # type: ignore[arg-type]
            for kind in _SERVICE_UUID_LISTS
            for uuid_list in data.get_all(kind)
            for uuid in uuid_list  # type: ignore[union-attr]
        )
    )
    makers = {
        int.from_bytes(raw[:2], "little"): bytes(raw[2:])
        for raw in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA, raw=True)
    }
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name if isinstance(name, str) else None,
        manufacturer_data=makers,
        service_data={},
        service_uuids=uuids,
        tx_power=tx_power if isinstance(tx_power, int) else None,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    """Scans the virtual radio of the running event loop."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio: VirtualRadio | None = None

    async def start(self) -> None:
        """Start receiving advertisements (clears what was seen before)."""
        self.seen_devices = {}
        self._radio = radio_for_running_loop()
        self._radio.adapter.on("advertisement", self._on_advertisement)
        await self._radio.acquire_scan()

    async def stop(self) -> None:
        """Stop receiving advertisements."""
        radio, self._radio = self._radio, None
        if radio is not None:
            radio.adapter.remove_listener("advertisement", self._on_advertisement)
            await radio.release_scan()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        """Record the advertiser and tell the detection callbacks."""
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        details = BumbleDeviceDetails(advertisement.address)
        device = self.create_or_update_device(address, address, data.local_name, details, data)
        self.call_detection_callbacks(device, data)


class BumbleBleakClient(BaseBleakClient):
    """A GATT client over the virtual radio of the running event loop."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._peer_address = _peer_address(address_or_ble_device)
        self._device_name = getattr(address_or_ble_device, "name", None)
        self._connection: Connection | None = None
        self._closing = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        """The advertised name when the client was made from a scan, else the address."""
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU."""
        return self._connection.att_mtu if self._connection else _MIN_ATT_MTU

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Open the link, negotiate the MTU and discover services within ``timeout``."""
        timeout_s = float(kwargs.get("timeout", self._timeout))
        deadline_s = asyncio.get_running_loop().time() + timeout_s
        connection = await self._open_link(radio_for_running_loop(), deadline_s)
        try:
            async with asyncio.timeout_at(deadline_s):
                self.services = await _discover(connection)
        except BaseException:
            await _drop(connection)
            raise
        self._connection = connection
        self._closing = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    async def _open_link(self, radio: VirtualRadio, deadline_s: float) -> Connection:
        """Ask the adapter for an LE connection; cancel it in the controller if abandoned."""
        async with asyncio.timeout_at(deadline_s):
            await radio.connect_lock.acquire()
        try:
            remaining_s = max(0.0, deadline_s - asyncio.get_running_loop().time())
            connection: Connection = await radio.adapter.connect_le(
                self._peer_address, timeout=remaining_s
            )
            return connection
        except core.TimeoutError as exc:
            raise TimeoutError(f"{self.address}: no answer to the connection request") from exc
        except asyncio.CancelledError:
            await _cancel_pending_connection(radio)
            raise
        except core.ConnectionError as exc:
            raise BleakError(f"{self.address}: connection failed: {exc}") from exc
        finally:
            radio.connect_lock.release()

    def _on_disconnection(self, reason: int) -> None:
        """Forget the link and, when the peer or the radio ended it, tell the owner."""
        self._connection = None
        self._subscriptions.clear()
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """Close the link (no disconnected callback for a disconnect we asked for)."""
        connection, self._closing = self._connection, True
        if connection is not None:
            await _drop(connection)
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pairing is not needed by any supported sensor."""
        raise NotImplementedError("the virtual radio does not pair")

    async def unpair(self) -> None:
        """Pairing is not needed by any supported sensor."""
        raise NotImplementedError("the virtual radio does not pair")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value."""
        async with _as_bleak_errors():
            return bytearray(await _proxy(characteristic).read_value())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value."""
        async with _as_bleak_errors():
            return bytearray(await descriptor.obj.read_value())

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with or without response."""
        async with _as_bleak_errors():
            await _proxy(characteristic).write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor value."""
        async with _as_bleak_errors():
            await descriptor.obj.write_value(bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Write the CCCD and route notifications of ``characteristic`` to ``callback``."""

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        async with _as_bleak_errors():
            await _proxy(characteristic).subscribe(on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Stop notifications of ``characteristic``."""
        subscriber = self._subscriptions.pop(characteristic.handle, None)
        async with _as_bleak_errors():
            await _proxy(characteristic).unsubscribe(subscriber)


def _peer_address(address_or_ble_device: BLEDevice | str) -> hci.Address:
    """The Bumble address to connect to (random static unless a scan said otherwise)."""
    if isinstance(address_or_ble_device, BLEDevice):
        details = address_or_ble_device.details
        if isinstance(details, BumbleDeviceDetails):
            return details.address
        return hci.Address(address_or_ble_device.address)
    return hci.Address(address_or_ble_device)


def _proxy(characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
    """The Bumble proxy behind a bleak characteristic made by this backend."""
    proxy = characteristic.obj
    assert isinstance(proxy, CharacteristicProxy)
    return proxy


@contextlib.asynccontextmanager
async def _as_bleak_errors() -> AsyncIterator[None]:
    """Re-raise Bumble's GATT errors as bleak's, as every platform backend does."""
    try:
        yield
    except (ATT_Error, core.BaseBumbleError) as exc:
        raise BleakError(str(exc)) from exc


async def _cancel_pending_connection(radio: VirtualRadio) -> None:
    """Tell the controller to stop initiating (a refused cancel means nothing was pending)."""
    with contextlib.suppress(hci.HCI_Error):
        await uninterrupted(
            radio.adapter.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        )


async def _drop(connection: Connection) -> None:
    """Disconnect, tolerating a link that already went away."""
    with contextlib.suppress(hci.HCI_Error, core.BaseBumbleError):
        await uninterrupted(connection.disconnect())


async def _discover(connection: Connection) -> BleakGATTServiceCollection:
    """Negotiate the MTU and discover every service, characteristic and descriptor."""
    peer = Peer(connection)
    await peer.request_mtu(REQUESTED_ATT_MTU)
    collection = BleakGATTServiceCollection()
    for service in await peer.discover_services():
        await _add_service(collection, service, connection)
    return collection


async def _add_service(
    collection: BleakGATTServiceCollection, service: ServiceProxy, connection: Connection
) -> None:
    """Discover one service's characteristics and descriptors into ``collection``."""
    bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
    collection.add_service(bleak_service)
    for proxy in await service.discover_characteristics():
        characteristic = BleakGATTCharacteristic(
            proxy,
            proxy.handle,
            bleak_uuid(proxy.uuid),
            [name for flag, name in _PROPERTY_NAMES.items() if proxy.properties & flag],
            lambda: connection.att_mtu - 3,
            bleak_service,
        )
        collection.add_characteristic(characteristic)
        for descriptor in await proxy.discover_descriptors():
            collection.add_descriptor(
                BleakGATTDescriptor(
                    descriptor, descriptor.handle, bleak_uuid(descriptor.type), characteristic
                )
            )
