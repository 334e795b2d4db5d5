"""Keeps one sensor streaming through a gym session: find, connect, watch, reconnect.

The link's disconnected callback only signals; this supervisor notices, reports the sensor
lost, and reconnects with backoff for as long as the session runs. Samples go through one
:class:`~sensor.timebase.Timebase` per sensor for the whole session, so packets a device sends
twice after a reconnect are dropped and gaps are reported with the samples the device proves
lost, never filled in. The first connection is bounded: a device that never answers ends in
a :class:`~sensor.exc.DeviceError` that says what was tried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bleak.exc import BleakBluetoothNotAvailableError, BleakError

from sensor.ble.client import SensorLink
from sensor.ble.config import BleBackend, HostClock, LinkPolicy, SensorSpec
from sensor.ble.scanner import find_device
from sensor.exc import NO_ADAPTER_HINT, DeviceError
from sensor.plausible import drop_impossible
from sensor.profiles import DecodedFrame, DecodedFrames, DecoderStats
from sensor.samples import SampleBatch, SensorStatus
from sensor.timebase import Gap, Timebase

log = logging.getLogger(__name__)

#: Receives every batch and status change of the sensor, in order.
ItemSink = Callable[[SampleBatch | SensorStatus], None]


class _NotFoundError(Exception):
    """The device did not advertise within the scan time."""


def _adapter_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means there is no usable Bluetooth adapter (no BlueZ, radio off)."""
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError)


@dataclass(slots=True)
class LinkStats:
    """What happened on one sensor's links during the session."""

    connections: int = 0
    link_losses: int = 0
    silences: int = 0
    duplicates: int = 0
    samples: int = 0
    #: Samples dropped as physically impossible (beyond the full-scale range, non-finite).
    dropped_impossible: int = 0
    gaps: list[Gap] = field(default_factory=list)
    #: Real seconds each successful (re)connection took, from start of search to streaming.
    connect_s: list[float] = field(default_factory=list)
    decoders: list[DecoderStats] = field(default_factory=list)

    @property
    def notifications(self) -> int:
        """Notifications received over all connections."""
        return sum(d.packets for d in self.decoders)

    @property
    def bad_packets(self) -> int:
        """Notifications the decoders rejected or trimmed."""
        return sum(d.bad_packets for d in self.decoders)

    @property
    def lost_samples(self) -> int:
        """Samples the device's counters prove were never received."""
        return sum(g.lost_samples or 0 for g in self.gaps)


@dataclass(slots=True)
class _Outage:
    """The sensor's data stopped: since when (host clock) and why."""

    reason: str
    since_s: float
    since_real_s: float = field(default_factory=time.perf_counter)
    #: The sensor has not streamed yet in this session.
    first: bool = False


class _Backoff:
    """Doubling waits between failed attempts, reset once a connection succeeds."""

    def __init__(self, policy: LinkPolicy) -> None:
        self._policy = policy
        self._next_s = policy.backoff_min_s

    def reset(self) -> None:
        """Start from the shortest wait again."""
        self._next_s = self._policy.backoff_min_s

    def next_s(self) -> float:
        """The wait before the next attempt."""
        wait_s = self._next_s
        self._next_s = min(self._policy.backoff_max_s, self._next_s * 2)
        return wait_s


class SensorSupervisor:
    """Streams one sensor into ``sink`` until cancelled, surviving link loss and silence."""

    def __init__(
        self,
        spec: SensorSpec,
        sink: ItemSink,
        clock: HostClock,
        backend: BleBackend | None = None,
        policy: LinkPolicy | None = None,
    ) -> None:
        self.spec = spec
        self.stats = LinkStats()
        self._sink = sink
        self._clock = clock
        self._backend = backend or BleBackend()
        self._policy = policy or LinkPolicy()
        self._timebase = Timebase(spec.role, spec.profile, spec.rate_hz)
        self._backoff = _Backoff(self._policy)
        self._link: SensorLink | None = None
        self._outage: _Outage | None = _Outage("not connected yet", clock(), first=True)
        self._last_arrival_s: float | None = None
        self._last_error: BaseException | None = None
        #: Address the device was last heard at (``None``: never found).
        self._found_at: str | None = None

    async def run(self) -> None:
        """Connect (bounded), then stream and reconnect until cancelled."""
        try:
            await self._connect_first()
            while True:
                await self._watch_link()
                await self._connect_until_up()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the sensor and drop the link (bounded)."""
        link, self._link = self._link, None
        if link is not None:
            await link.close(self._policy.close_timeout_s)

    async def _connect_first(self) -> None:
        """The first connection, or a DeviceError naming the device and the last failure."""
        limit_s = self._policy.first_connect_timeout_s
        try:
            async with asyncio.timeout(limit_s):
                await self._connect_until_up(first=True)
        except TimeoutError:
            raise DeviceError(self._first_failure_message(limit_s)) from self._last_error

    def _first_failure_message(self, limit_s: float) -> str:
        """What to tell the lifter when the sensor never came up."""
        spec = self._spec_text()
        if self._found_at is None:
            return f"{spec}: not found within {limit_s:g} s (is it on, charged and in range?)"
        last = "" if self._last_error is None else f"; last attempt: {self._last_error}"
        return f"{spec}: found at {self._found_at} but did not answer within {limit_s:g} s{last}"

    def _spec_text(self) -> str:
        """The sensor as the lifter named it."""
        return f"{self.spec.profile.name} sensor {self.spec.target!r} ({self.spec.role})"

    async def _connect_until_up(self, first: bool = False) -> None:
        """Search and connect until a link streams; back off after failed connections.

        No Bluetooth adapter at all ends the first connection at once with a DeviceError;
        later, an adapter that went away is waited for like an absent sensor.
        """
        started_s = time.perf_counter()
        while True:
            try:
                await self._connect_once()
            except _NotFoundError as exc:
                self._last_error = exc
                continue
            except (BleakError, OSError) as exc:  # TimeoutError is an OSError
                self._last_error = exc
                if first and _adapter_unavailable(exc):
                    message = f"{self._spec_text()}: {NO_ADAPTER_HINT} ({exc})"
                    raise DeviceError(message) from exc
                log.info("%s: connection failed: %s", self._spec_text(), exc)
                await asyncio.sleep(self._backoff.next_s())
                continue
            self._backoff.reset()
            self.stats.connections += 1
            self.stats.connect_s.append(time.perf_counter() - started_s)
            return

    async def _connect_once(self) -> None:
        """Scan for the device, then open a link to it."""
        device = await find_device(self.spec.target, self._policy.find_timeout_s, self._backend)
        if device is None:
            raise _NotFoundError(f"{self.spec.target} not advertising")
        self._found_at = device.address
        link = SensorLink(self.spec, self._clock, self._on_frames, self._backend)
        self.stats.decoders.append(link.decoder_stats)
        await link.open(device, self._policy)
        self._link = link
        log.info("%s: connected (%s)", self._spec_text(), device.address)

    async def _watch_link(self) -> None:
        """Return when the link drops; report silences while it stays up."""
        link = self._link
        assert link is not None
        poll_s = min(0.25, self._policy.silence_s / 4)
        while not link.lost.is_set():
            self._check_silence()
            try:
                async with asyncio.timeout(poll_s):
                    await link.lost.wait()
            except TimeoutError:
                continue
        self._link = None
        self.stats.link_losses += 1
        self._timebase.link_lost()
        self._report_lost("link lost")

    def _check_silence(self) -> None:
        """Report the sensor lost when an open link has carried no data for ``silence_s``."""
        last_s = self._last_arrival_s
        silent = last_s is not None and self._clock() - last_s > self._policy.silence_s
        if silent and self._outage is None:
            self.stats.silences += 1
            self._report_lost(f"no data for {self._policy.silence_s:g} s")

    def _report_lost(self, reason: str) -> None:
        """Emit ``connected=False`` once per outage."""
        if self._outage is not None:
            return
        since_s = self._last_arrival_s if self._last_arrival_s is not None else self._clock()
        self._outage = _Outage(reason, since_s)
        log.warning("%s: %s", self._spec_text(), reason)
        details: dict[str, object] = {"last_data_t_s": since_s}
        self._sink(SensorStatus(self.spec.role, False, self._clock(), reason, details))

    def _on_frames(self, frames: DecodedFrames, arrivals_s: Sequence[float]) -> None:
        """Place a batch of decoded notifications, each at its own arrival time, in order."""
        for frame, arrival_s in zip(frames.frames(), arrivals_s, strict=True):
            self._on_frame(frame, arrival_s)

    def _on_frame(self, frame: DecodedFrame, arrival_s: float) -> None:
        """Place a decoded notification on the time base and pass its samples on."""
        placement = self._timebase.place(frame, arrival_s)
        if placement.duplicate:
            self.stats.duplicates += 1
        if placement.gap is not None:
            self._note_gap(placement.gap)
        batch = placement.batch
        if batch is None:
            return
        batch, dropped = drop_impossible(batch)
        if dropped:
            self._note_impossible(dropped)
        if not len(batch):
            return
        self._last_arrival_s = arrival_s
        if self._outage is not None:
            self._report_streaming(batch, placement.gap)
        self.stats.samples += len(batch)
        self._sink(batch)

    def _note_impossible(self, dropped: int) -> None:
        """Count samples no sensor can measure; warn on the first (later ones only count)."""
        if not self.stats.dropped_impossible:
            log.warning(
                "%s: dropped %d impossible sample(s) (beyond 16 g or 2000 deg/s, or not a number)",
                self._spec_text(),
                dropped,
            )
        self.stats.dropped_impossible += dropped

    def _note_gap(self, gap: Gap) -> None:
        """Keep the gap for the session's record and tell the log."""
        self.stats.gaps.append(gap)
        lost = "unknown" if gap.lost_samples is None else str(gap.lost_samples)
        log.warning("%s: gap (%s), samples lost: %s", self._spec_text(), gap.reason, lost)

    def _report_streaming(self, batch: SampleBatch, gap: Gap | None) -> None:
        """Emit ``connected=True`` as data flows again, with the outage it ends."""
        outage, self._outage = self._outage, None
        assert outage is not None
        details: dict[str, object] = {
            "profile": self.spec.profile.name,
            "target": self.spec.target,
            "rate_hz": self.spec.stream_rate_hz,
        }
        if not outage.first:
            details["outage_reason"] = outage.reason
            details["outage_real_s"] = time.perf_counter() - outage.since_real_s
        if gap is not None:
            details["gap_start_t_s"] = gap.start_s
            details["gap_end_t_s"] = gap.end_s
            details["lost_samples"] = gap.lost_samples
        reason = "connected" if outage.first else "streaming again"
        self._sink(SensorStatus(self.spec.role, True, float(batch.t_s[0]), reason, details))
