"""Catching up: when a lifter's batches pile up faster than they are processed, take them all
at once and feed one batch per sensor.

The pipeline's cost is mostly per call, not per sample, so a busy service (a full gym on two
cores) that joins what queued up while it was busy catches up instead of falling further
behind. A service that keeps up sees one item at a time and changes nothing. The pipeline's
results do not depend on how samples are cut into batches, and joining only ever moves one
sensor's samples a few batches ahead of another's, far less than the pipeline waits for a
lagging sensor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

import numpy as np

from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import SourceItem

_END = object()


class Backlog:
    """Reads a source stream in a task of its own; :meth:`take` returns what has arrived."""

    def __init__(self, stream: AsyncIterator[SourceItem]) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[tuple[object, float]] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        #: The end mark or the stream's failure, once taken from the queue.
        self._ended: object | None = None

    async def __aenter__(self) -> Backlog:
        self._pump = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def take(self) -> tuple[list[SourceItem], float] | None:
        """Items that arrived since the last call (waiting for one) and the wall time the first
        of them arrived; None once the source has ended. Raises the source's error, after
        the items that came before it."""
        items: list[SourceItem] = []
        arrived_s = 0.0
        while self._ended is None and not (items and self._queue.empty()):
            entry, at_s = await self._queue.get()
            if entry is _END or isinstance(entry, BaseException):
                self._ended = entry
            else:
                arrived_s = arrived_s or at_s
                items.append(entry)  # type: ignore[arg-type]
        if items:
            return items, arrived_s
        if isinstance(self._ended, BaseException):
            raise self._ended
        return None

    async def _read(self) -> None:
        """Move the stream's items to the queue, stamped with their arrival; then an end mark
        (or the stream's failure)."""
        try:
            async for item in self._stream:
                self._queue.put_nowait((item, time.time()))
            self._queue.put_nowait((_END, time.time()))
        except Exception as error:  # handed to take(), which raises it
            self._queue.put_nowait((error, time.time()))


def coalesce(items: Sequence[SourceItem]) -> list[SourceItem]:
    """One batch per sensor for each run of batches; link changes stay where they were."""
    if len(items) == 1:  # a service that keeps up: nothing to join
        return list(items)
    out: list[SourceItem] = []
    runs: dict[str, list[SampleBatch]] = {}
    for item in items:
        if isinstance(item, SensorStatus):
            out.extend(join(batches) for batches in runs.values())
            runs.clear()
            out.append(item)
        else:
            runs.setdefault(item.role, []).append(item)
    out.extend(join(batches) for batches in runs.values())
    return out


def join(batches: Sequence[SampleBatch]) -> SampleBatch:
    """Consecutive batches of one sensor as one (magnetometer kept only if all have it)."""
    if len(batches) == 1:
        return batches[0]
    mags = [b.mag_ut for b in batches]
    return SampleBatch(
        batches[0].role,
        np.concatenate([b.t_s for b in batches]),
        np.concatenate([b.accel_mps2 for b in batches]),
        np.concatenate([b.gyro_rps for b in batches]),
        None if any(m is None for m in mags) else np.concatenate(mags),  # type: ignore[arg-type]
    )
