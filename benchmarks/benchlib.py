"""Shared parts of the service benchmarks: a real Mosquitto, a subscriber process that stamps
alert arrivals, a source that paces recorded batches in wall time and logs their arrival, and
the latency arithmetic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from processing.live.service import LifterUpdate
from sensor.recording import iter_batches, read_recording
from sensor.samples import SampleBatch, SensorStatus

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
sys.path.insert(0, str(ROOT / "tests"))
from brokers import MosquittoBroker as MosquittoBroker  # noqa: E402  (test helper, reused)

SUBSCRIBER = Path(__file__).with_name("alert_subscriber.py")


@contextlib.contextmanager
def mosquitto() -> Iterator[MosquittoBroker]:
    """A real Mosquitto on a free port for the duration of the block."""
    with tempfile.TemporaryDirectory() as workdir:
        broker = MosquittoBroker(Path(workdir))
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


class AlertSubscriber:
    """A separate process subscribed to every lifter's ``flexion_alert`` (QoS 1) that stamps
    each arrival with the wall clock; separate so it does not share the service's GIL."""

    def __init__(self, host: str, port: int) -> None:
        self.arrivals: dict[tuple[str, int], float] = {}
        self._lock = threading.Condition()
        self._process = subprocess.Popen(
            [sys.executable, str(SUBSCRIBER), host, str(port)], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the alert subscriber did not start")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> AlertSubscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for(self, keys: set[tuple[str, int]], timeout_s: float) -> None:
        """Wait until every ``(session_id, seq)`` in ``keys`` has arrived (bounded)."""
        with self._lock:
            self._lock.wait_for(lambda: keys <= self.arrivals.keys(), timeout_s)

    def close(self) -> None:
        """Stop the subscriber process."""
        self._process.terminate()
        self._process.wait()

    def _read(self) -> None:
        """Collect ``session_id seq wall_s`` lines (first arrival wins)."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            session_id, seq, wall_s = line.split()
            with self._lock:
                self.arrivals.setdefault((session_id, int(seq)), float(wall_s))
                self._lock.notify_all()


@dataclass
class ArrivalLog:
    """When each batch of a lifter reached the service: ``role -> (t_last_s, wall_s)`` rows."""

    rows: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def crossing_arrival_s(self, t_s: float) -> float:
        """Wall time when the samples at recording time ``t_s`` of every sensor had arrived."""
        arrivals = []
        for rows in self.rows.values():
            t_last = np.array([r[0] for r in rows])
            i = int(np.searchsorted(t_last, t_s))
            arrivals.append(rows[min(i, len(rows) - 1)][1])
        return max(arrivals)


class PacedSource:
    """Recorded batches delivered when wall time reaches their last sample (``speed`` x), after
    ``delay_s``; each batch's due time is logged, and how late the service took it."""

    def __init__(
        self,
        batches: Sequence[SampleBatch],
        roles: tuple[str, ...],
        speed: float = 1.0,
        delay_s: float = 0.0,
    ) -> None:
        self.batches = batches
        self._roles = roles
        self.speed = speed
        self.delay_s = delay_s
        self.log = ArrivalLog()
        #: How late each delivery was behind its due time, in s (the service falling behind).
        self.lags_s: list[float] = []

    @property
    def roles(self) -> tuple[str, ...]:
        """The recording's roles."""
        return self._roles

    @property
    def dropped_samples(self) -> int:
        """0: the benchmark replays a simulated recording."""
        return 0

    @property
    def truncated(self) -> bool:
        """False: the benchmark's recording is whole."""
        return False

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        """Deliver the batches on time."""
        loop = asyncio.get_running_loop()
        start = loop.time() + self.delay_s
        t0 = float(self.batches[0].t_s[0])
        for batch in self.batches:
            t_last = float(batch.t_s[-1])
            due = start + (t_last - t0) / self.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            lag_s = max(0.0, loop.time() - due)
            self.lags_s.append(lag_s)
            # Logged at its due time: a sensor's sample is there then, even if the service
            # is too busy to take it.
            self.log.rows[batch.role].append((t_last, time.time() - lag_s))
            yield batch

    async def aclose(self) -> None:
        """Nothing to release."""


def fixture_batches(
    name: str, batch_s: float, stop_s: float | None = None
) -> tuple[list[SampleBatch], tuple[str, ...]]:
    """A fixture cut into ``batch_s`` batches (as a BLE link delivers them), optionally only
    its first ``stop_s`` seconds."""
    recording = read_recording(FIXTURES / f"{name}.csv.gz")
    batches = [b for b in iter_batches(recording, batch_s) if len(b)]
    if stop_s is not None:
        t0 = float(batches[0].t_s[0])
        batches = [b for b in batches if float(b.t_s[-1]) - t0 <= stop_s]
    return batches, recording.roles


@dataclass(frozen=True)
class Alert:
    """A ``flexion_alert`` as the service produced it."""

    lifter: str
    session_id: str
    seq: int
    t_s: float
    #: Wall time when the batch whose processing raised it reached the service.
    batch_arrival_s: float


class AlertRecorder:
    """Service observer noting every ``flexion_alert``."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def on_update(self, update: LifterUpdate) -> None:
        """Keep the alerts of the update."""
        for event in update.events:
            if event["type"] == "flexion_alert":
                alert = Alert(
                    update.lifter, update.session_id, event["seq"], event["t"], update.received_at_s
                )
                self.alerts.append(alert)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    return _cpu_s(_stat_fields(Path(f"/proc/{pid}/stat"))[11:13])


def _stat_fields(stat: Path) -> list[str]:
    """The fields of a ``/proc/PID/stat`` file after the command name (which may hold
    spaces): state, parent pid, ... (``proc(5)`` numbering minus 3)."""
    return stat.read_text().rsplit(")", 1)[1].split()


def _cpu_s(clock_ticks: Sequence[str]) -> float:
    """The sum of some ``/proc`` CPU time fields, in seconds."""
    return sum(int(ticks) for ticks in clock_ticks) / os.sysconf("SC_CLK_TCK")


def percentiles_ms(values_s: Sequence[float]) -> list[str]:
    """p50, p90, p99 and max in milliseconds, formatted (``-`` without data)."""
    if not values_s:
        return ["-"] * 4
    ms = np.array(values_s) * 1000
    return [f"{v:.1f}" for v in (*np.percentile(ms, [50, 90, 99]), ms.max())]


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process, of its children it has reaped and of its live descendants
    (a PostgreSQL postmaster with its backends); 0 once the process is gone."""
    children: dict[int, list[int]] = defaultdict(list)
    own: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat)
        except (OSError, IndexError):
            continue  # ended meanwhile
        child = int(stat.parent.name)
        children[int(fields[1])].append(child)
        own[child] = _cpu_s(fields[11:15])  # its own and its reaped children's
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += own.get(current, 0.0)
        todo += children.get(current, [])
    return total
