"""Bluetooth LE sensors through bleak: scanning, one supervised link per sensor, as a source.

May import ``sensor.profiles``, :mod:`sensor.samples`, :mod:`sensor.timebase`,
:mod:`sensor.exc`, :mod:`sensor.plausible`, ``sensor.ble.*``, bleak and bleak-retry-connector.
"""

from __future__ import annotations

from sensor.ble.config import BleBackend, HostClock, LinkPolicy, SensorSpec, host_clock
from sensor.ble.scanner import FoundSensor, find_device, recognise, scan
from sensor.ble.source import BleSource
from sensor.ble.supervisor import LinkStats, SensorSupervisor

__all__ = [
    "BleBackend",
    "BleSource",
    "FoundSensor",
    "HostClock",
    "LinkPolicy",
    "LinkStats",
    "SensorSpec",
    "SensorSupervisor",
    "find_device",
    "host_clock",
    "recognise",
    "scan",
]
