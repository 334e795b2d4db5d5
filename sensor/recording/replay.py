"""``replay://<file>?speed=<x|max>``: a recording streamed as a live source would deliver it.

Recording time maps to wall time (``speed`` times faster); ``max`` streams as fast as the
consumer takes batches while still yielding to the event loop between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from sensor.recording import Recording, iter_batches, read_recording
from sensor.samples import SampleBatch, SensorStatus

#: Seconds of recording per batch, as a BLE link delivers them.
REPLAY_BATCH_S = 0.1
#: Seconds of recording per batch at ``speed=max``, where no link's timing is imitated: the
#: pipeline's cost is mostly per call, and its results do not depend on the batching, so a
#: longer batch replays several times faster with the same events.
MAX_SPEED_BATCH_S = 1.0


def batch_s_for(speed: float | None) -> float:
    """Seconds of recording per batch for a source paced at ``speed`` (``None``: max)."""
    return MAX_SPEED_BATCH_S if speed is None else REPLAY_BATCH_S


async def paced(batches: Iterable[SampleBatch], speed: float | None) -> AsyncIterator[SampleBatch]:
    """Yield each batch once wall time reaches its last sample (``speed`` x faster).

    ``speed=None`` yields as fast as possible, giving other tasks a turn between batches.
    """
    loop = asyncio.get_running_loop()
    origin: tuple[float, float] | None = None
    for batch in batches:
        if not len(batch):
            continue
        if speed is None:
            await asyncio.sleep(0)
        else:
            if origin is None:
                origin = (float(batch.t_s[0]), loop.time())
            due_s = origin[1] + (float(batch.t_s[-1]) - origin[0]) / speed
            await asyncio.sleep(max(0.0, due_s - loop.time()))
        yield batch


class ReplaySource:
    """A recording file as a source; read (and checked) when the source is opened."""

    def __init__(self, path: str | Path, speed: float | None = 1.0) -> None:
        self.recording: Recording = read_recording(path)
        self.speed = speed

    @property
    def roles(self) -> tuple[str, ...]:
        """The recording's sensor roles."""
        return self.recording.roles

    @property
    def dropped_samples(self) -> int:
        """Rows of the file dropped as physically impossible."""
        return self.recording.dropped_impossible

    @property
    def truncated(self) -> bool:
        """True when the file ended without its end (a killed recorder, a cut download)."""
        return self.recording.truncated

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        """The recording's batches, time-ordered across sensors, paced by ``speed``."""
        async for batch in paced(iter_batches(self.recording, batch_s_for(self.speed)), self.speed):
            yield batch

    async def aclose(self) -> None:
        """Nothing to release: the file was read whole."""
