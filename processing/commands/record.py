"""``backspotter record SOURCE [SOURCE] OUT.csv``: stream sensors into an imu-recording/1 file.

Rows are written and flushed as they stream, so a killed recorder leaves a readable file;
Ctrl-C (or ``--duration``) stops cleanly, writing what is still held.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections import Counter
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing.commands.option_ranges import DURATION_S

if TYPE_CHECKING:
    from sensor.recording import RecordingWriter
    from sensor.samples import SampleBatch, SensorStatus
    from sensor.sources import BleOptions, Source

log = logging.getLogger(__name__)

_SUFFIXES = (".csv", ".csv.gz")


def register(subparsers: Any) -> None:
    """Add the ``record`` subcommand."""
    parser = subparsers.add_parser(
        "record",
        help="stream one or two sensors into a recording file",
        description="Stream sensors (ble://, replay:// or sim:// URLs; two BLE sensors as "
        "roles upper and lower) into an imu-recording/1 file, flushed as it goes. "
        "Ctrl-C stops.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="source URL")
    parser.add_argument("out", metavar="OUT.csv", help="recording to write (.csv or .csv.gz)")
    parser.add_argument(
        "--duration", type=DURATION_S, metavar="S", help="stop after S seconds of recording"
    )
    parser.set_defaults(func=run)


@dataclass(slots=True)
class RecordSummary:
    """What a recording run wrote and what happened to the sensors meanwhile."""

    path: Path
    samples: Counter[str] = field(default_factory=Counter)
    statuses: list[SensorStatus] = field(default_factory=list)
    first_t_s: float | None = None
    last_t_s: float | None = None

    @property
    def duration_s(self) -> float:
        """Seconds of recording written."""
        if self.first_t_s is None or self.last_t_s is None:
            return 0.0
        return self.last_t_s - self.first_t_s


def run(args: argparse.Namespace) -> int:
    """Record until the sources end, ``--duration`` passes or Ctrl-C; 2 on a bad argument."""
    from sensor.exc import DeviceError, SourceURLError

    out = Path(args.out)
    if not out.name.endswith(_SUFFIXES):
        print(f"backspotter record: {out} must end in .csv or .csv.gz", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(_record_until_interrupted(args.sources, out, args.duration))
    except SourceURLError as exc:
        print(f"backspotter record: {exc}", file=sys.stderr)
        return 2
    except DeviceError as exc:
        print(f"backspotter record: {exc}", file=sys.stderr)
        return 1
    _print_summary(summary)
    return 0


async def _record_until_interrupted(
    urls: list[str], out: Path, duration_s: float | None
) -> RecordSummary:
    """Record, turning SIGINT and SIGTERM into a clean stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await record(urls, out, stop=stop, duration_s=duration_s)


async def record(
    urls: list[str],
    out: str | Path,
    *,
    ble: BleOptions | None = None,
    stop: asyncio.Event | None = None,
    duration_s: float | None = None,
) -> RecordSummary:
    """Stream the sources into ``out`` until they end, ``stop`` is set or ``duration_s``."""
    from sensor.recording import RecordingWriter
    from sensor.sources import open_sources

    source = open_sources(urls, ble)
    summary = RecordSummary(Path(out))
    # One worker thread does all the file I/O, in order: a slow disk (an SD card) must not
    # stall the event loop that serves the sensor links.
    disk = ThreadPoolExecutor(1, thread_name_prefix="record")
    loop = asyncio.get_running_loop()
    try:
        meta = _meta(urls, source)
        writer = await loop.run_in_executor(disk, RecordingWriter, out, source.roles, meta)
        try:
            consume = asyncio.create_task(_consume(source, writer, disk, summary, duration_s))
            await _until_done_or_stopped(consume, stop or asyncio.Event())
        finally:
            await loop.run_in_executor(disk, writer.close)
    finally:
        disk.shutdown(wait=False)  # its last job, the close, is done (or the writer never was)
        await source.aclose()
    return summary


async def _until_done_or_stopped(consume: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Wait for ``consume`` to end; cancel it when ``stop`` is set first."""
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({consume, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not consume.done():
        consume.cancel()
    try:
        await consume
    except asyncio.CancelledError:
        if not stop.is_set():
            raise


async def _consume(
    source: Source,
    writer: RecordingWriter,
    disk: Executor,
    summary: RecordSummary,
    duration_s: float | None,
) -> None:
    """Write every batch as it comes (on ``disk``); keep the status changes for the summary."""
    from sensor.samples import SensorStatus

    loop = asyncio.get_running_loop()
    async for item in source.stream():
        if isinstance(item, SensorStatus):
            summary.statuses.append(item)
            state = "connected" if item.connected else "lost"
            log.info("sensor %s %s at t=%.2f s: %s", item.role, state, item.t_s, item.reason)
            continue
        batch = item if duration_s is None else _within(item, summary.first_t_s, duration_s)
        if len(batch):
            await loop.run_in_executor(disk, writer.write, batch)
            _note_written(batch, summary, source, writer)
        if len(batch) < len(item) or (duration_s is not None and summary.duration_s >= duration_s):
            return


def _within(batch: SampleBatch, first_t_s: float | None, duration_s: float) -> SampleBatch:
    """The samples of ``batch`` up to ``duration_s`` after the recording's first sample: a
    replay at max speed delivers whole seconds at a time, and ``--duration`` means its
    seconds, not the batch's."""
    import numpy as np

    end_s = (float(batch.t_s[0]) if first_t_s is None else first_t_s) + duration_s
    beyond = np.flatnonzero(batch.t_s > end_s)
    return batch.slice(0, int(beyond[0])) if len(beyond) else batch


def _note_written(
    batch: SampleBatch, summary: RecordSummary, source: Source, writer: RecordingWriter
) -> None:
    """Count ``batch`` into the summary; the first one starts the recording's clock."""
    summary.samples[batch.role] += len(batch)
    if summary.first_t_s is None:
        summary.first_t_s = float(batch.t_s[0])
        log.info("recording %s to %s; Ctrl-C stops", ", ".join(source.roles), writer.path)
    summary.last_t_s = max(summary.last_t_s or -float("inf"), float(batch.t_s[-1]))


def _meta(urls: list[str], source: Source) -> dict[str, Any]:
    """Recording metadata: each role's source URL and where it is worn."""
    from sensor.sim.spec import ROLE_PLACEMENT
    from sensor.sources import CombinedSource

    parts = source.sources if isinstance(source, CombinedSource) else (source,)
    sensors: dict[str, dict[str, str]] = {}
    for url, part in zip(urls, parts, strict=True):
        for role in part.roles:
            sensors[role] = {"source": url}
            if role in ROLE_PLACEMENT:
                sensors[role]["placement"] = ROLE_PLACEMENT[role]
    return {"format": "imu-recording/1", "sensors": sensors, "device": "backspotter record"}


def _print_summary(summary: RecordSummary) -> None:
    """One line per sensor, and how often links went down."""
    print(f"wrote {summary.path} ({summary.duration_s:.1f} s)")
    for role, count in sorted(summary.samples.items()):
        lost = sum(1 for s in summary.statuses if s.role == role and not s.connected)
        print(f"  {role}: {count} samples, {lost} outage(s)")
