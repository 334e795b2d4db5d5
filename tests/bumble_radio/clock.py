"""Simulated time shared by the emulated sensors and the host under test.

Simulated motion may be played faster than real time: both sides read one
:class:`SimClock`, so the host's arrival times and the devices' sample clocks agree while a
10-second set streams in a fraction of that. When the test process is starved of CPU (other
work on a loaded machine), the simulated world pauses with it rather than jumping ahead:
each step of the real clock counts for at most ``max_step_s``. A stall is part of a scenario
only when a test injects it.
"""

from __future__ import annotations

import asyncio

#: Real seconds between two readings beyond which the process counts as starved.
MAX_STEP_S = 0.03
#: Sleepers wake at least this often (real seconds), so their readings stay below the cap.
_WAKE_S = 0.01


class SimClock:
    """Seconds that run ``speed`` times faster than the event loop's clock, pausing when starved."""

    def __init__(self, speed: float = 1.0, max_step_s: float = MAX_STEP_S) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._max_step_s = max_step_s
        self._loop = asyncio.get_running_loop()
        self._last_real_s = self._loop.time()
        self._now_s = 0.0

    def now_s(self) -> float:
        """Simulated seconds since the clock was made."""
        real_s = self._loop.time()
        step_s = min(real_s - self._last_real_s, self._max_step_s)
        self._last_real_s = real_s
        self._now_s += step_s * self.speed
        return self._now_s

    def real_s(self, sim_s: float) -> float:
        """Real seconds that ``sim_s`` simulated seconds take (when not starved)."""
        return sim_s / self.speed

    async def sleep_until(self, sim_s: float) -> None:
        """Wait until the simulated clock reads ``sim_s``."""
        while (remaining_s := sim_s - self.now_s()) > 0:
            await asyncio.sleep(min(self.real_s(remaining_s), _WAKE_S))
