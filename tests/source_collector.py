"""Test helper: drain a :class:`~sensor.sources.Source` in the background and wait on what came.

Waiting is event-driven: every item notifies a condition, and :meth:`SourceCollector.wait_for`
returns as soon as a predicate holds (or raises the source's own failure), with a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import Source


class SourceCollector:
    """Keeps every batch (per role, with its real arrival time) and every status of a source."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.batches: dict[str, list[SampleBatch]] = {role: [] for role in source.roles}
        #: Event-loop time each batch was received, parallel to :attr:`batches`.
        self.received_at: dict[str, list[float]] = {role: [] for role in source.roles}
        self.statuses: list[SensorStatus] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        """Consume the stream, waking waiters after each item."""
        try:
            async for item in self.source.stream():
                if isinstance(item, SensorStatus):
                    self.statuses.append(item)
                else:
                    self.batches[item.role].append(item)
                    self.received_at[item.role].append(asyncio.get_running_loop().time())
                await self._notify()
        finally:
            await self._notify()

    async def _notify(self) -> None:
        """Wake every waiter."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Return once ``predicate()`` holds; re-raise the source's failure; bounded."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: predicate() or self._task.done())
        if not predicate():
            self._task.result()
            raise AssertionError("the source ended before the condition held")

    async def close(self) -> None:
        """Stop draining and close the source."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.source.aclose()

    def count(self, role: str) -> int:
        """Samples received from ``role``."""
        return sum(len(batch) for batch in self.batches[role])

    def joined(self, role: str) -> SampleBatch:
        """Every sample of ``role`` received so far, as one batch."""
        batches = self.batches[role]
        return SampleBatch(
            role,
            np.concatenate([b.t_s for b in batches]),
            np.concatenate([b.accel_mps2 for b in batches]),
            np.concatenate([b.gyro_rps for b in batches]),
        )

    def statuses_of(self, role: str) -> list[SensorStatus]:
        """Status changes of ``role``, in order."""
        return [status for status in self.statuses if status.role == role]
