"""``sim://?seed=<n>&mode=dual|single&speed=<x|max>``: a simulated session as a live source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Literal

from sensor.recording.replay import batch_s_for, paced
from sensor.samples import SampleBatch, SensorStatus
from sensor.simulate import SessionSpec, random_spec, stream_session

Mode = Literal["dual", "single"]
MODES: tuple[Mode, ...] = ("dual", "single")


def session_spec(seed: int, mode: Mode | None = None) -> SessionSpec:
    """The seed's random session, worn as ``mode`` asks (``None`` keeps the seed's wear)."""
    spec = random_spec(seed)
    if mode is None or mode == spec.mode:
        return spec
    first = next(iter(spec.sensors.values()))
    if mode == "dual":
        return replace(spec, sensors={"upper": first, "lower": replace(first)})
    return replace(spec, sensors={"lumbar": first})


class SimSource:
    """Streams a simulated session, gaps included and duplicates dropped (as the BLE source
    does), paced by ``speed``."""

    def __init__(self, spec: SessionSpec, speed: float | None = 1.0) -> None:
        self.spec = spec
        self.speed = speed

    @property
    def roles(self) -> tuple[str, ...]:
        """The simulated sensors' roles."""
        return tuple(self.spec.sensors)

    @property
    def dropped_samples(self) -> int:
        """0: the simulator only produces possible samples."""
        return 0

    @property
    def truncated(self) -> bool:
        """False: a simulated session is whole."""
        return False

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        """Simulate the session (in a worker thread), then deliver it batch by batch."""
        batch_s = batch_s_for(self.speed)
        batches = await asyncio.to_thread(lambda: list(stream_session(self.spec, batch_s)))
        async for batch in paced(batches, self.speed):
            yield batch

    async def aclose(self) -> None:
        """Nothing to release."""
