"""``backspotter ARGS`` with the emulated radio in place of the Bluetooth adapter.

The doc test of docs/getting-started.md runs the guide's commands through this launcher as
real processes. Only bleak's platform backend lookup is replaced (the application code keeps
using bleak's public API), and every ``asyncio.run`` of the command gets a virtual radio with
two emulated Movesense sensors, strapped at L1 (``upper``) and on the sacrum (``lower``),
streaming a simulated lifter who stands still for 4 s and then pulls one set of three reps.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

import bleak
from bumble_radio import (
    BumbleBleakClient,
    BumbleBleakScanner,
    EmulatedSensor,
    SimClock,
    VirtualRadio,
)

from processing.cli import main
from sensor.profiles import get_profile
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

#: The names and addresses the guide's ``ble://`` URLs use.
SENSORS = {
    "upper": ("Movesense 1", "0C:8C:DC:00:00:01"),
    "lower": ("Movesense 2", "0C:8C:DC:00:00:02"),
}
_SESSION = SessionSpec(
    seed=7,
    sensors={role: SensorSpec(rate_hz=52.0) for role in SENSORS},
    sets=(SetSpec(reps=3, sit_before=False),),
    rest_s=(5.0, 5.0),
)
_real_run = asyncio.run


def _platform_scanner() -> tuple[type[BumbleBleakScanner], str]:
    """bleak's scanner backend for this 'platform': the emulated radio."""
    return BumbleBleakScanner, "bumble"


def _platform_client() -> tuple[type[BumbleBleakClient], str]:
    """bleak's client backend for this 'platform': the emulated radio."""
    return BumbleBleakClient, "bumble"


async def _with_radio(command: Coroutine[Any, Any, Any]) -> Any:
    """Run ``command`` with the radio and both sensors up, as if they were switched on."""
    radio = await VirtualRadio.open()
    clock = SimClock(1.0)
    motion = simulate_session(_SESSION).recording.sensors
    sensors = [
        EmulatedSensor(
            radio, get_profile("movesense"), motion[role], clock, name=name, address=address
        )
        for role, (name, address) in SENSORS.items()
    ]
    for sensor in sensors:
        await sensor.start()
    try:
        return await command
    finally:
        for sensor in sensors:
            await sensor.close()
        await radio.close()


def _run(command: Coroutine[Any, Any, Any], **options: Any) -> Any:
    """``asyncio.run`` with the emulated radio on the new loop."""
    return _real_run(_with_radio(command), **options)


if __name__ == "__main__":
    bleak.get_platform_scanner_backend_type = _platform_scanner  # type: ignore[assignment]
    bleak.get_platform_client_backend_type = _platform_client  # type: ignore[assignment]
    asyncio.run = _run  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))
