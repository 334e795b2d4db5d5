"""A Bluetooth radio in the test process: a bleak backend on Bumble and emulated IMUs.

``BumbleBleakScanner`` / ``BumbleBleakClient`` are bleak backend classes (pass them as
``backend=``); they use the :class:`VirtualRadio` of the running event loop, on whose
Bumble ``LocalLink`` each :class:`EmulatedSensor` is a peripheral with a real GATT server.
"""

from __future__ import annotations

from .backend import BumbleBleakClient, BumbleBleakScanner
from .clock import SimClock
from .motion import MotionPlayer, Packet
from .peripheral import EmulatedSensor, LinkPacing
from .radio import VirtualRadio, radio_for_running_loop

__all__ = [
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "EmulatedSensor",
    "LinkPacing",
    "MotionPlayer",
    "Packet",
    "SimClock",
    "VirtualRadio",
    "radio_for_running_loop",
]
