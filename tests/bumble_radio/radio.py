"""One virtual Bluetooth radio per event loop: a Bumble ``LocalLink`` and the host's adapter.

Bumble objects bind to the event loop that created them, so a radio is created inside a
running loop (one per test) and registered for that loop; the bleak backend classes find
it with :func:`radio_for_running_loop`, the way a platform backend finds ``hci0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Coroutine
from typing import TypeVar

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble import core, hci
from bumble.device import Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from .controller import VirtualController

_D = TypeVar("_D", bound=Device)
_T = TypeVar("_T")

#: Random static address of the host's own adapter.
ADAPTER_ADDRESS = "C0:FF:EE:00:00:01"

_radios: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualRadio] = (
    weakref.WeakKeyDictionary()
)


class VirtualRadio:
    """The link every emulated device and the host adapter share, for one event loop."""

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._devices: list[Device] = []
        self.adapter_controller = VirtualController("adapter", link=self.link)
        self.adapter = self._attach(
            "backspotter-host", ADAPTER_ADDRESS, self.adapter_controller, Device
        )
        #: A controller initiates one LE connection at a time; clients queue here.
        self.connect_lock = asyncio.Lock()
        self._scanners = 0

    @classmethod
    async def open(cls) -> VirtualRadio:
        """Create, power on and register the radio for the running event loop."""
        loop = asyncio.get_running_loop()
        if loop in _radios:
            raise RuntimeError("this event loop already has a virtual radio")
        radio = cls()
        await radio.adapter.power_on()
        _radios[loop] = radio
        return radio

    async def close(self) -> None:
        """Drop every link, stop advertising and scanning, and unregister the radio."""
        for device in self._devices:
            for connection in list(device.connections.values()):
                await _quietly_disconnect(connection)
            if device.is_advertising:
                await device.stop_advertising()
        if self.adapter.is_scanning:
            await self.adapter.stop_scanning()
        _radios.pop(asyncio.get_running_loop(), None)

    def new_device(self, name: str, address: str, kind: type[_D]) -> _D:
        """A Bumble device of class ``kind`` with its own controller on this radio's link
        (not powered on)."""
        return self._attach(name, address, VirtualController(name, link=self.link), kind)

    def _attach(self, name: str, address: str, controller: VirtualController, kind: type[_D]) -> _D:
        """A Bumble device of class ``kind`` whose host talks HCI to ``controller``."""
        device = kind(
            name=name,
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._devices.append(device)
        return device

    def set_rssi(self, address: str, rssi_dbm: int) -> None:
        """Signal strength at which the host adapter hears ``address`` advertise."""
        self.adapter_controller.rssi_dbm_by_address[address.upper()] = rssi_dbm

    async def acquire_scan(self) -> None:
        """Start the adapter scanning for the first scanner that asks."""
        self._scanners += 1
        if self._scanners == 1:
            await uninterrupted(self.adapter.start_scanning(filter_duplicates=False))

    async def release_scan(self) -> None:
        """Stop the adapter scanning once its last scanner stops."""
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0 and self.adapter.is_scanning:
            await uninterrupted(self.adapter.stop_scanning())


async def uninterrupted(operation: Coroutine[object, object, _T]) -> _T:
    """Run an HCI exchange to its end even if the caller is cancelled meanwhile.

    Bumble's host cannot take a command back: abandoning one leaves its response with no
    one to receive it. The caller still sees its cancellation once the exchange is over.
    """
    task = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


def radio_for_running_loop() -> VirtualRadio:
    """The virtual radio of the running event loop; bleak's error if there is none."""
    radio = _radios.get(asyncio.get_running_loop())
    if radio is None:
        raise BleakBluetoothNotAvailableError(
            "no virtual radio on this event loop", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
        )
    return radio


async def _quietly_disconnect(connection: Connection) -> None:
    """Disconnect a Bumble connection, ignoring one that is already gone."""
    with contextlib.suppress(hci.HCI_Error, core.BaseBumbleError):
        await uninterrupted(connection.disconnect())
