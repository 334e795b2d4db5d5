"""A BLE sensor as a :class:`~sensor.sources.Source`: batches and status changes, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sensor.ble.config import BleBackend, HostClock, LinkPolicy, SensorSpec, host_clock
from sensor.ble.supervisor import LinkStats, SensorSupervisor
from sensor.samples import SampleBatch, SensorStatus

_Item = SampleBatch | SensorStatus | BaseException


class BleSource:
    """Streams one sensor through a :class:`SensorSupervisor` until closed."""

    def __init__(
        self,
        spec: SensorSpec,
        *,
        backend: BleBackend | None = None,
        policy: LinkPolicy | None = None,
        clock: HostClock | None = None,
    ) -> None:
        self.spec = spec
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._supervisor = SensorSupervisor(
            spec, self._queue.put_nowait, clock or host_clock, backend, policy
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The one role this sensor plays."""
        return (self.spec.role,)

    @property
    def dropped_samples(self) -> int:
        """Samples dropped so far as physically impossible."""
        return self._supervisor.stats.dropped_impossible

    @property
    def truncated(self) -> bool:
        """False: a live sensor has no end to lose."""
        return False

    @property
    def stats(self) -> LinkStats:
        """Connections, outages, gaps and packet counts so far."""
        return self._supervisor.stats

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        """Yield batches and status changes; raises DeviceError if the sensor never comes up."""
        if self._task is None:
            self._task = asyncio.create_task(self._supervise())
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    async def _supervise(self) -> None:
        """Run the supervisor, handing its failure to the stream."""
        try:
            await self._supervisor.run()
        except Exception as exc:  # handed to the consumer, who decides
            self._queue.put_nowait(exc)

    async def aclose(self) -> None:
        """Stop the supervisor, which stops the sensor and disconnects."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
