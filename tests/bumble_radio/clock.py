"""Simulated time shared by the emulated sensors and the host under test.

Simulated motion may be played faster than real time: both sides read one
:class:`SimClock`, so the host's arrival times and the devices' sample clocks agree while a
10-second set streams in a fraction of that.
"""

from __future__ import annotations

import asyncio


class SimClock:
    """Seconds that run ``speed`` times faster than the event loop's monotonic clock."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._loop = asyncio.get_running_loop()
        self._origin_s = self._loop.time()

    def now_s(self) -> float:
        """Simulated seconds since the clock was made."""
        return (self._loop.time() - self._origin_s) * self.speed

    def real_s(self, sim_s: float) -> float:
        """Real seconds that ``sim_s`` simulated seconds take."""
        return sim_s / self.speed

    async def sleep_until(self, sim_s: float) -> None:
        """Wait until the simulated clock reads ``sim_s``."""
        delay_s = self.real_s(sim_s - self.now_s())
        await asyncio.sleep(max(0.0, delay_s))
