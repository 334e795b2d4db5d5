"""Sources picked by URL, as pyserial picks ``loop://``: ``ble://``, ``replay://``, ``sim://``.

Every source yields the same items: :class:`~sensor.samples.SampleBatch` for data and
:class:`~sensor.samples.SensorStatus` when a sensor's link comes up or goes down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from sensor.samples import SampleBatch, SensorStatus

SourceItem = SampleBatch | SensorStatus


class Source(Protocol):
    """A stream of sample batches from one or more sensors on one time base."""

    @property
    def roles(self) -> tuple[str, ...]:
        """Roles of the sensors this source delivers (``lumbar`` or ``upper`` + ``lower``)."""
        ...

    def stream(self) -> AsyncIterator[SourceItem]:
        """Yield batches and status changes until the source ends or is closed."""
        ...

    async def aclose(self) -> None:
        """Stop streaming and release devices or files."""
        ...
