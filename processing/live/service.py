"""The live service: each lifter's sources -> Pipeline -> MQTT publisher + session store.

One process serves any number of lifters, each with its own sources, session, ``seq`` counter
and topics. Everything runs on one asyncio loop; work is done per batch, never per sample, and
batches that piled up while the loop was busy are joined (see :mod:`processing.live.backlog`).
Stopping (Ctrl-C) ends every session cleanly: the pipeline is finished, ``session_end`` is
published and stored, acknowledgements are awaited (bounded) and the store is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from processing.detect.alerts import ReferenceSettings
from processing.detect.pipeline import Pipeline, PipelineConfig, Update
from processing.events import AngleTrace
from processing.live.backlog import Backlog, coalesce
from processing.live.broker import ensure_broker
from processing.live.mqtt import MqttPublisher
from processing.live.outbox import Outbox
from processing.store.location import StoreLocation
from processing.store.writer import SessionRecord, StoreWriter
from processing.wire.messages import (
    EventStamper,
    LiveBuffer,
    new_session_id,
    now_ms,
    validate_lifter,
)
from processing.wire.mqtt_url import BrokerURL
from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import Source, SourceItem, open_sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LifterSpec:
    """One lifter: a topic-safe name, the source URLs of their sensors, their threshold."""

    name: str
    sources: tuple[str, ...]
    threshold_deg: float | None = None
    reference: ReferenceSettings = field(default_factory=ReferenceSettings)

    def __post_init__(self) -> None:
        validate_lifter(self.name)


@dataclass(frozen=True)
class ServiceConfig:
    """What to serve and where the outputs go (None switches an output off)."""

    lifters: tuple[LifterSpec, ...]
    mqtt_url: BrokerURL | None = None
    #: The session store: an SQLite file or a PostgreSQL database.
    db: StoreLocation | None = None
    outbox_path: Path | None = None
    #: Start an embedded broker when nothing listens at a localhost ``mqtt_url``.
    embedded_broker: bool = True
    #: How long stopping waits for the broker to acknowledge the last events.
    drain_timeout_s: float = 3.0
    #: Keep events until a gym's store consumer confirms them (a hub with no store of its own).
    await_store: bool = False

    def __post_init__(self) -> None:
        names = [lifter.name for lifter in self.lifters]
        if len(set(names)) != len(names):
            raise ValueError(f"each lifter needs a different name: {names}")
        if self.mqtt_url is not None and self.outbox_path is None:
            raise ValueError("publishing needs an outbox file")


@dataclass(frozen=True)
class LifterUpdate:
    """What one source item produced for a lifter, as every output saw it."""

    lifter: str
    session_id: str
    #: Stamped events (contract 3 envelopes), in ``seq`` order.
    events: list[dict[str, Any]]
    angles: AngleTrace
    #: Wall clock (epoch s) when the source delivered the (first) item that produced this.
    received_at_s: float


class Observer(Protocol):
    """Something that watches the service (the console view, benchmarks)."""

    def on_update(self, update: LifterUpdate) -> None:
        """Called on the event loop after each source item was processed and published."""
        ...


SourceFactory = Callable[[LifterSpec], Source]


def open_lifter_sources(spec: LifterSpec) -> Source:
    """The default: the lifter's source URLs opened together."""
    return open_sources(spec.sources)


class LifterSession:
    """One lifter's running session: pipeline, ``seq`` stamping and the outputs."""

    def __init__(
        self,
        spec: LifterSpec,
        source: Source,
        publisher: MqttPublisher | None,
        store: StoreWriter | None,
        observers: Sequence[Observer],
    ) -> None:
        self.spec = spec
        self.source = source
        self.publisher = publisher
        self.store = store
        self.observers = observers
        config = PipelineConfig(threshold_deg=spec.threshold_deg, reference=spec.reference)
        self.pipeline = Pipeline(source.roles, config)
        self.session_id = new_session_id()
        self.sensors: dict[str, bool] = {}
        self._stamper = EventStamper(self.session_id)
        self._live = LiveBuffer(self.session_id)
        #: True once the source delivered something: only then is there a session to store.
        self.begun = False
        self._dropped_reported = 0

    async def run(self) -> None:
        """Stream until the source ends or the task is cancelled; ends a begun session.

        The session begins with the source's first item, so a sensor that never came up
        (no Bluetooth adapter, device not found) leaves no empty session in the store.
        """
        try:
            # Sources' streams are async generators: close them here, not at garbage collection.
            stream = cast(AsyncGenerator[SourceItem, None], self.source.stream())
            async with contextlib.aclosing(stream), Backlog(stream) as backlog:
                while (taken := await backlog.take()) is not None:
                    items, arrived_s = taken
                    if not self.begun:
                        self._begin()
                    for item in coalesce(items):
                        self._handle(item, arrived_s)
        finally:
            if self.begun:
                self._emit(self.pipeline.finish(), time.time(), final=True)
                self._note_input_quality()
            await self.source.aclose()

    def _begin(self) -> None:
        """Announce the session to the store and the status topic."""
        self.begun = True
        log.info("session %s of %s from %s", self.session_id, self.spec.name, self.spec.sources)
        if self.store is not None:
            record = SessionRecord(
                self.session_id,
                self.spec.name,
                now_ms(),
                self.spec.sources,
                self.spec.threshold_deg,
            )
            self.store.begin_session(record)
        self._publish_status()

    def _handle(self, item: SampleBatch | SensorStatus, received_at_s: float) -> None:
        """Feed one item to the pipeline and pass on what it produced."""
        if isinstance(item, SensorStatus):
            self._link_changed(item.role, item.connected)
            update = self.pipeline.status(item)
        else:
            if item.role not in self.sensors:
                self._link_changed(item.role, True)
            update = self.pipeline.feed(item)
            if self.source.dropped_samples != self._dropped_reported:
                self._dropped_changed()
        self._emit(update, received_at_s)

    def _link_changed(self, role: str, connected: bool) -> None:
        """Keep the retained status's sensor links current."""
        self.sensors[role] = connected
        self._publish_status()

    def _dropped_changed(self) -> None:
        """Samples were dropped as impossible: say so in the status and the log."""
        dropped = self.source.dropped_samples
        log.warning(
            "%s: %d impossible sample(s) dropped so far (beyond 16 g or 2000 deg/s)",
            self.spec.name,
            dropped,
        )
        self._dropped_reported = dropped
        self._publish_status()

    def _publish_status(self) -> None:
        """Update the retained status: session, sensor links, dropped samples."""
        if self.publisher is not None:
            dropped = self.source.dropped_samples
            self.publisher.set_status(self.session_id, self.sensors, dropped)

    def _note_input_quality(self) -> None:
        """Keep in the store what was wrong with the input (dropped samples, a cut file)."""
        dropped, truncated = self.source.dropped_samples, self.source.truncated
        if self.store is not None and (dropped or truncated):
            self.store.set_input_quality(self.session_id, dropped, truncated)

    def _emit(self, update: Update, received_at_s: float, final: bool = False) -> None:
        """Stamp the events and hand them, with the live angles, to every output (``final``:
        the session's last update, after which nothing may wait in the live buffer)."""
        ts_ms = now_ms()
        events = self._stamper.stamp(update.events, ts_ms)
        if self.publisher is not None:
            self.publisher.publish_events(events)
            live = self._live.add(update.angles, math.inf if final else time.monotonic())
            if live is not None:
                self.publisher.publish_live(live)
        if not events and not len(update.angles):
            return
        result = LifterUpdate(self.spec.name, self.session_id, events, update.angles, received_at_s)
        for observer in self.observers:
            observer.on_update(result)
        if self.store is not None:
            self.store.add_events(self.spec.name, events)
            self.store.add_trace(self.session_id, update.angles)


@dataclass(frozen=True)
class _Outputs:
    """The shared outputs of a run: session store, and MQTT (outbox plus broker URL)."""

    store: StoreWriter | None
    outbox: Outbox | None
    url: BrokerURL | None
    #: False when the broker is the embedded amqtt, which speaks MQTT 3.1.1 only.
    mqtt5: bool
    await_store: bool = False

    def publisher(self, lifter: str) -> MqttPublisher | None:
        """A publisher for ``lifter``, or None when MQTT is off."""
        if self.url is None or self.outbox is None:
            return None
        return MqttPublisher(
            self.url, lifter, self.outbox, mqtt5=self.mqtt5, await_store=self.await_store
        )


class Service:
    """Runs every lifter's session until the sources end or :meth:`stop` is called."""

    def __init__(
        self,
        config: ServiceConfig,
        observers: Sequence[Observer] = (),
        source_factory: SourceFactory = open_lifter_sources,
    ) -> None:
        self.config = config
        self.observers = list(observers)
        self.source_factory = source_factory
        self.sessions: dict[str, LifterSession] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def run(self) -> None:
        """Serve all lifters; raises the first lifter's failure after everything is closed."""
        sources = [(spec, self.source_factory(spec)) for spec in self.config.lifters]
        async with contextlib.AsyncExitStack() as stack:
            outputs = await self._open_outputs(stack)
            for spec, source in sources:
                publisher = outputs.publisher(spec.name)
                if publisher is not None:
                    publisher.start()
                    stack.push_async_callback(publisher.close, self.config.drain_timeout_s)
                session = LifterSession(spec, source, publisher, outputs.store, self.observers)
                self.sessions[spec.name] = session
            self._tasks = [asyncio.create_task(s.run()) for s in self.sessions.values()]
            if self._stopping:
                self.stop()
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
        self._raise_first_failure(results)

    def stop(self) -> None:
        """End every session cleanly (safe to call from a signal handler, more than once)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()

    async def _open_outputs(self, stack: contextlib.AsyncExitStack) -> _Outputs:
        """Session store, embedded broker if needed, and outbox, each closed by ``stack``."""
        config = self.config
        store = None if config.db is None else StoreWriter(config.db)
        if store is not None:
            stack.callback(store.close)
        if config.mqtt_url is None or config.outbox_path is None:
            return _Outputs(store, None, None, mqtt5=False)
        broker = await ensure_broker(config.mqtt_url) if config.embedded_broker else None
        if broker is not None:
            stack.push_async_callback(broker.stop)
        outbox = Outbox(config.outbox_path)
        stack.callback(outbox.close)
        return _Outputs(
            store, outbox, config.mqtt_url, mqtt5=broker is None, await_store=config.await_store
        )

    def _raise_first_failure(self, results: list[BaseException | None]) -> None:
        """Log every lifter's failure and raise the first (cancellation is a normal stop)."""
        failures = [
            (name, r)
            for name, r in zip(self.sessions, results, strict=True)
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
        ]
        for name, failure in failures:
            log.error("session of %s failed: %s", name, failure)
        if failures:
            raise failures[0][1]
