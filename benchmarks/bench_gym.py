"""A gym on one broker: N hubs x M lifters -> Mosquitto -> K store consumers -> PostgreSQL.

Run::

    .venv/bin/python benchmarks/bench_gym.py [--lifters 250 1000] [--consumers 1 2 4]
        [--seconds 60] [--hubs 4] [--await-store auto|on|off|both] [--no-traces] [--faults]

The default (6 runs) takes about 11 minutes: a run lasts ``--seconds`` plus the time the
consumers need to store the backlog of every event (up to ``SETTLE_TIMEOUT_S``). With
``BENCH_GYM_PROFILE=DIR`` each consumer's storing thread runs under cProfile (stats in DIR).

Each run starts a fresh Mosquitto (persistence on, unlimited in-flight and queued messages,
``set_tcp_nodelay``), a fresh database in one PostgreSQL server (``tests/postgres.py``: fsync
off), K store consumer processes (the real ``StoreConsumer`` of ``backspotter store``, one
shared-subscription group, one client id each) and ``--hubs`` hub processes serving the
lifters between them. Every lifter publishes through the real ``MqttPublisher`` (with
``await_store`` when asked and when this Backspotter has it) and its hub's one ``Outbox`` file.

What is simulated: the hubs do NOT run the detection pipeline (one hub process keeps up with
about 250 lifters, and 1,000 would need far more than this machine's cores). The pipeline runs
once, here, over the two-sensor 100 Hz fixtures in ``POOL`` cut into 100 ms batches as a BLE
link delivers them; each batch's events and live angle points are kept with the recording
time of the batch's last sample (when the live service would have emitted them). A hub replays
that output in real time: each lifter joins its recording at a random point (its session
begun off-stage: its ``session_start`` goes out first) after a random delay of up to
``SPREAD_S``, so lifters are not in lockstep, and starts a new session whenever the recording
ends. Events are stamped (own session id, ``seq`` from 1) and published when due, and a
``live`` message with the points of the last 0.2 s goes out every 0.2 s, as the service does.
The recordings hold about one event per 4 s per lifter; live messages (5 a second per lifter)
are most of the load. Cut sessions at the end get no ``session_end``.

Measured per run: events published (stamped by hubs) and stored (rows in PostgreSQL), events/s
and live messages/s stored over the steady part (after the start spread, until the hubs
stop), event-to-row latency (commit wall time of the consumer's transaction minus the event's
``ts``, the hub's wall clock when stamped; same machine, same clock) for ``rep`` events and for
all, p50/p99/max; how late the hubs' lifters woke (a hub falling behind), CPU used by hubs,
consumers, the broker and PostgreSQL (in cores), redeliveries the consumers dropped, and
whether every published ``(session, seq)`` is stored exactly once: for every session,
count(*) == max(seq) == published, min(seq) == 1, and no session missing or extra.

``--faults``: at 30 % of the run, SIGKILL consumer 0 and start it again with the same client id
3 s later; at 60 %, stop the broker (SIGTERM: it writes its persistence file) and start it
again 2 s later on the same port. Exactly-once is then checked the same way.

Goal: 1,000 concurrent lifters' events stored with p99 under 1 s, using several processes.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import cProfile
import inspect
import json
import logging
import math
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
from benchlib import MosquittoBroker, fixture_batches, tree_cpu_s
from postgres import PostgresServer  # tests/postgres.py (benchlib puts tests/ on sys.path)

from processing.detect.pipeline import Pipeline, PipelineConfig, Update
from processing.events import AngleTrace, Event
from processing.live.mqtt import MqttPublisher
from processing.live.outbox import Outbox
from processing.live.store_consumer import ConsumerConfig, StoreConsumer
from processing.store.location import PostgresURL
from processing.wire.messages import (
    LIVE_INTERVAL_S,
    EventStamper,
    live_payload,
    new_session_id,
    now_ms,
)
from processing.wire.mqtt_url import BrokerURL

#: Two-sensor 100 Hz fixtures, handed to lifters round robin.
POOL = ("dual_conventional_mixed", "edge_gap_mid_set", "edge_no_calibration", "edge_upside_down")
BATCH_S = 0.1
THRESHOLD_DEG = 20.0
SENSORS = {"upper": True, "lower": True}
#: Lifters start within this many seconds of the go; the steady part begins 1 s after.
SPREAD_S = 5.0
#: How long a hub's publishers wait for the last acknowledgements (and confirmations).
DRAIN_S = 15.0
#: After the hubs stop, how long to wait for the consumers to store what is left.
SETTLE_TIMEOUT_S = 240.0
GOAL_LIFTERS, GOAL_P99_MS = 1000, 1000.0
BROKER_CONFIG = "allow_anonymous true\nmax_inflight_messages 0\n"
AWAIT_STORE_SUPPORTED = "await_store" in inspect.signature(MqttPublisher).parameters


# --- the pre-computed pipeline output ---------------------------------------------------------


class Step(NamedTuple):
    """Events the pipeline emitted at recording time ``due_s`` (s from the recording's start)."""

    due_s: float
    events: list[Event]


@dataclass(frozen=True)
class Schedule:
    """One recording's pipeline output: event steps and live angle points, by emission time."""

    name: str
    steps: list[Step]
    point_due_s: np.ndarray
    point_t_s: np.ndarray
    point_deg: np.ndarray

    @property
    def duration_s(self) -> float:
        """Recording time of the last step (``pipeline.finish()``)."""
        return self.steps[-1].due_s

    def first_step_after(self, rec_s: float) -> int:
        """Index of the first step due after ``rec_s``."""
        return bisect.bisect_right([step.due_s for step in self.steps], rec_s)

    def live_points(self, after_s: float, until_s: float) -> AngleTrace:
        """Angle points emitted in ``(after_s, until_s]`` of recording time."""
        i, j = np.searchsorted(self.point_due_s, [after_s, until_s], side="right")
        return AngleTrace(self.point_t_s[i:j], self.point_deg[i:j])


def precompute(name: str) -> Schedule:
    """Run the pipeline once over a fixture, batch by batch, keeping when it emitted what."""
    batches, roles = fixture_batches(name, BATCH_S)
    pipeline = Pipeline(roles, PipelineConfig(threshold_deg=THRESHOLD_DEG))
    t0 = float(batches[0].t_s[0])
    steps: list[Step] = []
    traces: list[tuple[float, AngleTrace]] = []
    due_s = 0.0

    def keep(update: Update) -> None:
        if update.events:
            steps.append(Step(due_s, update.events))
        if len(update.angles):
            traces.append((due_s, update.angles))

    for batch in batches:
        due_s = float(batch.t_s[-1]) - t0
        keep(pipeline.feed(batch))
    keep(pipeline.finish())
    return Schedule(
        name,
        steps,
        np.concatenate([np.full(len(a.t_s), due) for due, a in traces]),
        np.concatenate([a.t_s for _, a in traces]),
        np.concatenate([a.angle_deg for _, a in traces]),
    )


# --- hub processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HubSpec:
    """What one hub process serves."""

    index: int
    broker_url: str
    workdir: str
    first: int
    count: int
    await_store: bool
    seconds: float


@dataclass
class HubStats:
    """What a hub's lifters did: ``(session, seq, type, ts)`` published, live messages, lags."""

    published: list[tuple[str, int, str, int]] = field(default_factory=list)
    #: Live messages sent, per epoch second.
    live_sent: Counter[int] = field(default_factory=Counter)
    lags_s: list[float] = field(default_factory=list)


def make_publisher(url: BrokerURL, lifter: str, outbox: Outbox, await_store: bool) -> MqttPublisher:
    """The real publisher, waiting for the store's confirmations when asked (and supported)."""
    if await_store:  # only asked for when supported (see ``await_modes``)
        return MqttPublisher(url, lifter, outbox, await_store=True)
    return MqttPublisher(url, lifter, outbox)


class LifterPlayer:
    """One lifter: replays its schedule in real time, session after session, until stopped."""

    def __init__(
        self,
        schedule: Schedule,
        publisher: MqttPublisher,
        phase_s: float,
        delay_s: float,
        stats: HubStats,
    ) -> None:
        self.schedule = schedule
        self.publisher = publisher
        self.phase_s = phase_s
        self.delay_s = delay_s
        self.stats = stats

    async def run(self, start: float, stop: float) -> None:
        """Play from loop time ``start`` until loop time ``stop``."""
        begin, from_s = start + self.delay_s, self.phase_s
        while await self._session(begin, from_s, stop):
            begin, from_s = asyncio.get_running_loop().time(), 0.0

    async def _session(self, begin: float, from_s: float, stop: float) -> bool:
        """One session from recording time ``from_s``, begun at loop time ``begin``; False
        when ``stop`` came first."""
        if not await self._sleep_until(begin, stop):
            return False
        stamper = EventStamper(new_session_id())
        self.publisher.set_status(stamper.session_id, SENSORS)
        steps = self.schedule.steps
        i = self.schedule.first_step_after(from_s)
        if i > 0:  # joined mid-way: the session's start goes out first
            self._publish(stamper, steps[0].events)
        live_s = from_s
        while True:
            next_event = steps[i].due_s if i < len(steps) else math.inf
            next_live = live_s + LIVE_INTERVAL_S
            rec_s = min(next_event, next_live)
            if rec_s > self.schedule.duration_s:
                return True
            if not await self._sleep_until(begin + rec_s - from_s, stop):
                return False
            if next_event <= next_live:
                self._publish(stamper, steps[i].events)
                i += 1
            else:
                self._publish_live(stamper.session_id, live_s, next_live)
                live_s = next_live

    async def _sleep_until(self, due: float, stop: float) -> bool:
        """Sleep until loop time ``due`` and note how late we woke; False if ``stop`` is first."""
        loop = asyncio.get_running_loop()
        if due >= stop:
            return False
        await asyncio.sleep(max(0.0, due - loop.time()))
        self.stats.lags_s.append(max(0.0, loop.time() - due))
        return True

    def _publish(self, stamper: EventStamper, events: list[Event]) -> None:
        """Stamp and publish events, as the service does."""
        envelopes = stamper.stamp(events, now_ms())
        self.publisher.publish_events(envelopes)
        self.stats.published += [(e["session_id"], e["seq"], e["type"], e["ts"]) for e in envelopes]

    def _publish_live(self, session_id: str, after_s: float, until_s: float) -> None:
        """The ``live`` message of the points emitted since the last one."""
        payload = live_payload(session_id, self.schedule.live_points(after_s, until_s), now_ms())
        if payload is not None and self.publisher.connected:
            self.publisher.publish_live(payload)
            self.stats.live_sent[int(time.time())] += 1


async def run_hub(spec: HubSpec, schedules: Sequence[Schedule]) -> dict[str, Any]:
    """Connect every lifter, wait for the go (epoch s on stdin), play, drain; the results."""
    loop = asyncio.get_running_loop()
    url = BrokerURL.parse(spec.broker_url)
    outbox = Outbox(Path(spec.workdir) / f"hub-{spec.index}.outbox.sqlite3")
    rng, stats = random.Random(spec.index), HubStats()
    players = []
    for i in range(spec.first, spec.first + spec.count):
        schedule = schedules[i % len(schedules)]
        publisher = make_publisher(url, f"lifter-{i:04d}", outbox, spec.await_store)
        phase_s, delay_s = rng.uniform(0, schedule.duration_s), rng.uniform(0, SPREAD_S)
        players.append(LifterPlayer(schedule, publisher, phase_s, delay_s, stats))
    for player in players:
        player.publisher.start()
    await asyncio.gather(*(p.publisher.wait_connected(30.0) for p in players))
    print("ready", flush=True)
    go_epoch = float(await loop.run_in_executor(None, sys.stdin.readline))
    start = loop.time() + go_epoch - time.time()
    await asyncio.gather(*(p.run(start, start + spec.seconds) for p in players))
    await asyncio.gather(*(p.publisher.close(DRAIN_S) for p in players))
    left = outbox.count()
    outbox.close()
    lags = np.array(stats.lags_s or [0.0])
    return {
        "published": stats.published,
        "live_sent": sorted(stats.live_sent.items()),
        "lag_p99_s": float(np.percentile(lags, 99)),
        "lag_max_s": float(lags.max()),
        "outbox_left": left,
    }


def hub_main(spec: HubSpec) -> None:
    """A hub process: results as one JSON line on stdout."""
    with open(Path(spec.workdir) / "schedules.pickle", "rb") as file:
        schedules = pickle.load(file)
    print(json.dumps(asyncio.run(run_hub(spec, schedules))), flush=True)


# --- store consumer processes -----------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerSpec:
    """One store consumer process."""

    client_id: str
    broker_url: str
    db_url: str
    workdir: str
    traces: bool


def consumer_main(spec: ConsumerSpec) -> None:
    """Run the real StoreConsumer until SIGTERM, logging each new row's commit time and the
    consumer's counts every second (files survive a SIGKILL: written at once, one per pid)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = ConsumerConfig(
        BrokerURL.parse(spec.broker_url),
        PostgresURL.parse(spec.db_url),
        client_id=spec.client_id,
        traces=spec.traces,
    )
    out = Path(spec.workdir)
    with (
        open(out / f"stored-{os.getpid()}.tsv", "a") as stored,
        open(out / f"counts-{os.getpid()}.tsv", "a") as counts,
    ):
        consumer = StoreConsumer(config, on_stored=lambda events: note_stored(stored, events))
        runner = threading.Thread(target=profiled, args=(consumer.run, stop), daemon=True)
        runner.start()
        if not consumer.wait_subscribed(30.0):
            raise SystemExit(f"{spec.client_id}: the broker did not confirm the subscriptions")
        print("ready", flush=True)
        while runner.is_alive():
            runner.join(1.0)
            c = consumer.counts
            counts.write(f"{time.time()}\t{c.events_stored}\t{c.trace_messages}\t{c.duplicates}\n")
            counts.flush()


def profiled(run: Callable[[threading.Event], None], stop: threading.Event) -> None:
    """``run(stop)``, under cProfile when ``BENCH_GYM_PROFILE`` names a directory (the stats
    go to ``consumer-PID.pstats`` there)."""
    directory = os.environ.get("BENCH_GYM_PROFILE")
    if not directory:
        run(stop)
        return
    profile = cProfile.Profile()
    try:
        profile.runcall(run, stop)
    finally:
        profile.dump_stats(Path(directory) / f"consumer-{os.getpid()}.pstats")


def note_stored(file: IO[str], events: Sequence[Mapping[str, Any]]) -> None:
    """``commit epoch ms, session, seq, type, ts`` of each newly stored event."""
    commit_ms = time.time() * 1000
    file.write(
        "".join(
            f"{commit_ms:.1f}\t{e['session_id']}\t{e['seq']}\t{e['type']}\t{e['ts']}\n"
            for e in events
        )
    )
    file.flush()


# --- the parent: processes, CPU, faults -------------------------------------------------------


class Children:
    """Worker processes of this script; whatever still runs is stopped on exit."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._all: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self._all:
            end_process(process, signal.SIGTERM)

    def spawn(self, name: str, flag: str, spec: HubSpec | ConsumerSpec) -> subprocess.Popen[str]:
        """This script as ``flag`` worker; waits for its ``ready`` line."""
        with open(self.logdir / f"{name}.log", "a") as log:
            process = subprocess.Popen(
                [sys.executable, __file__, flag, json.dumps(asdict(spec))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self._all.append(process)
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start: see {self.logdir / name}.log")
        return process


def end_process(
    process: subprocess.Popen[str], sig: signal.Signals, timeout_s: float = 60.0
) -> None:
    """Send ``sig`` to a process still running, wait, and SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class CpuMeter:
    """CPU seconds used per role (hubs, consumers, broker, postgres), sampled every second, so
    that a process killed or restarted still counts up to its last sample."""

    def __init__(self) -> None:
        self._pids: dict[int, tuple[str, float]] = {}  # pid -> (role, first sample)
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_every_second, daemon=True)

    def track(self, role: str, pid: int | None) -> None:
        """Count ``pid`` (and its descendants) under ``role`` from now on."""
        if pid is not None:
            cpu_s = tree_cpu_s(pid)
            self._pids[pid] = (role, cpu_s)
            self._last[pid] = cpu_s

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def totals(self) -> dict[str, float]:
        """Stop sampling; CPU seconds per role."""
        self._stop.set()
        self._thread.join()
        self._sample()
        totals: dict[str, float] = defaultdict(float)
        for pid, (role, first) in list(self._pids.items()):
            totals[role] += self._last[pid] - first
        return dict(totals)

    def _sample_every_second(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def _sample(self) -> None:
        for pid in list(self._pids):
            cpu_s = tree_cpu_s(pid)
            if cpu_s > 0:  # 0: gone; keep its last sample
                self._last[pid] = cpu_s


@dataclass(frozen=True)
class RunConfig:
    """One row of the table."""

    lifters: int
    consumers: int
    await_store: bool
    hubs: int
    seconds: float
    traces: bool
    faults: bool


@dataclass
class Gym:
    """The processes of one run."""

    config: RunConfig
    workdir: Path
    broker: MosquittoBroker
    db_url: str
    children: Children
    meter: CpuMeter
    consumers: list[subprocess.Popen[str]] = field(default_factory=list)
    fault_log: list[str] = field(default_factory=list)

    def consumer_spec(self, k: int) -> ConsumerSpec:
        """Consumer ``k``: the same client id whenever it is (re)started."""
        directory = self.workdir / "consumers"
        return ConsumerSpec(
            f"bench-store-{k}", self.broker.url, self.db_url, str(directory), self.config.traces
        )

    def start_consumer(self, k: int) -> subprocess.Popen[str]:
        """Start consumer ``k`` and wait until it is subscribed."""
        process = self.children.spawn(f"consumer-{k}", "--consumer", self.consumer_spec(k))
        self.meter.track("consumers", process.pid)
        return process

    def start_hubs(self) -> list[subprocess.Popen[str]]:
        """Start the hubs (lifters split evenly) and wait until all their lifters are connected."""
        n, hubs = self.config.lifters, self.config.hubs
        shares = [n // hubs + (h < n % hubs) for h in range(hubs)]
        processes = []
        for h, share in enumerate(shares):
            spec = HubSpec(
                h,
                self.broker.url,
                str(self.workdir),
                sum(shares[:h]),
                share,
                self.config.await_store,
                self.config.seconds,
            )
            processes.append(self.children.spawn(f"hub-{h}", "--hub", spec))
        return processes

    def inject_faults(self, go: float) -> None:
        """Kill consumer 0 and bring it back; restart the broker (run in a thread)."""
        seconds = self.config.seconds
        sleep_until(go + 0.3 * seconds)
        self.consumers[0].kill()
        self.consumers[0].wait()
        self.note(go, "SIGKILL consumer 0")
        time.sleep(3.0)
        self.consumers[0] = self.start_consumer(0)
        self.note(go, "consumer 0 back (same client id), subscribed")
        sleep_until(go + 0.6 * seconds)
        self.broker.stop()
        self.note(go, "broker stopped (SIGTERM)")
        time.sleep(2.0)
        self.broker.start()
        self.meter.track("broker", self.broker.pid)
        self.note(go, "broker started again")

    def note(self, go: float, what: str) -> None:
        """A fault, with its time from the go."""
        self.fault_log.append(f"t={time.time() - go:5.1f} s  {what}")


def sleep_until(epoch_s: float) -> None:
    """Sleep until wall time ``epoch_s``."""
    time.sleep(max(0.0, epoch_s - time.time()))


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a run produced, for the table."""

    config: RunConfig
    go: float
    hubs: list[dict[str, Any]]
    stored: list[tuple[float, str, int, str, int]]  # commit ms, session, seq, type, ts
    counts: dict[str, list[tuple[float, int, int, int]]]  # per consumer pid
    rows: dict[tuple[str, int], int]  # (session, seq) -> rows in PostgreSQL
    cpu_s: dict[str, float]
    wall_s: float
    fault_log: list[str]
    #: The commonest complaints in the logs of the workers, PostgreSQL and Mosquitto.
    log_notes: list[str]


def run_once(config: RunConfig, postgres: PostgresServer, index: int, schedules: bytes) -> Outcome:
    """Everything of one run, with fresh broker and database; cleans up after itself."""
    db_name = f"gym_{index}"
    db_url = postgres.create_database(db_name)
    try:
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gym-")))
            for sub in ("broker", "consumers", "logs"):
                (workdir / sub).mkdir()
            (workdir / "schedules.pickle").write_bytes(schedules)
            broker = MosquittoBroker(workdir / "broker", BROKER_CONFIG)
            broker.start()
            stack.callback(broker.stop)
            children = stack.enter_context(Children(workdir / "logs"))
            gym = Gym(config, workdir, broker, db_url, children, CpuMeter())
            return play(gym, postgres, db_name)
    finally:
        postgres.drop_database(db_name)


def play(gym: Gym, postgres: PostgresServer, db_name: str) -> Outcome:
    """Start consumers and hubs, go, inject faults, wait for the store to settle; results."""
    config, meter = gym.config, gym.meter
    pg_log_start = postgres.log.stat().st_size
    gym.consumers = [gym.start_consumer(k) for k in range(config.consumers)]
    hubs = gym.start_hubs()
    go = time.time() + 1.0
    for process in hubs:
        meter.track("hubs", process.pid)
        assert process.stdin is not None
        process.stdin.write(f"{go}\n")
        process.stdin.flush()
    meter.track("broker", gym.broker.pid)
    meter.track("postgres", postgres.pid)
    meter.start()
    faults = threading.Thread(target=gym.inject_faults, args=(go,), daemon=True)
    if config.faults:
        faults.start()
    results = [json.loads(p.communicate()[0].splitlines()[-1]) for p in hubs]
    if config.faults:
        faults.join()
    published = {(s, q) for r in results for s, q, _, _ in r["published"]}
    wait_for_store(postgres, db_name, len(published), gym.workdir / "consumers")
    for process in gym.consumers:
        end_process(process, signal.SIGTERM, timeout_s=30.0)
    wall_s = time.time() - go
    cpu_s = meter.totals()
    return Outcome(
        config,
        go,
        results,
        read_stored(gym.workdir / "consumers"),
        read_counts(gym.workdir / "consumers"),
        stored_rows(postgres, db_name),
        cpu_s,
        wall_s,
        gym.fault_log,
        log_notes(gym.workdir / "logs", gym.broker.log, postgres.log, pg_log_start),
    )


def wait_for_store(postgres: PostgresServer, db_name: str, expected: int, directory: Path) -> None:
    """Until every published event is stored (bounded: ``SETTLE_TIMEOUT_S``, or 20 s without
    the consumers storing anything); live messages still queued then are not waited for."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last, still_since = None, time.monotonic()
    while time.monotonic() < deadline:
        with postgres.connect(db_name, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
        now = (row[0] if row else 0, latest_counts(directory))
        if now != last:
            last, still_since = now, time.monotonic()
        quiet_s = time.monotonic() - still_since
        if now[0] >= expected or quiet_s >= 20.0:
            return
        time.sleep(0.5)


def latest_counts(directory: Path) -> int:
    """Sum of the consumers' last trace and event counts."""
    return sum(rows[-1][1] + rows[-1][2] for rows in read_counts(directory).values() if rows)


def read_stored(directory: Path) -> list[tuple[float, str, int, str, int]]:
    """Every consumer's stored-event lines (a line cut by a SIGKILL is skipped)."""
    rows = []
    for path in directory.glob("stored-*.tsv"):
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 5:
                rows.append((float(parts[0]), parts[1], int(parts[2]), parts[3], int(parts[4])))
    return rows


def read_counts(directory: Path) -> dict[str, list[tuple[float, int, int, int]]]:
    """Per consumer process: ``(wall s, events stored, trace messages, duplicates)`` lines."""
    counts = {}
    for path in directory.glob("counts-*.tsv"):
        lines = [line.split("\t") for line in path.read_text().splitlines()]
        counts[path.stem] = [
            (float(p[0]), int(p[1]), int(p[2]), int(p[3])) for p in lines if len(p) == 4
        ]
    return counts


def stored_rows(postgres: PostgresServer, db_name: str) -> dict[tuple[str, int], int]:
    """``(session, seq) -> rows`` of the events table."""
    with postgres.connect(db_name, autocommit=True) as conn:
        rows = conn.execute("SELECT session_id, seq, count(*) FROM events GROUP BY 1, 2")
        return {(str(s), int(q)): int(n) for s, q, n in rows.fetchall()}


def log_notes(workers: Path, broker_log: Path, pg_log: Path, pg_start: int) -> list[str]:
    """The commonest warnings of the workers, errors of PostgreSQL (this run's part of its
    log) and drops or timeouts of Mosquitto, digits replaced by ``N``, with their counts."""
    worker_lines = [
        line
        for path in sorted(workers.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback"))
    ]
    with pg_log.open("rb") as file:
        file.seek(pg_start)
        pg_lines = file.read().decode(errors="replace").splitlines()
    broker_lines = broker_log.read_text(errors="replace").splitlines()
    return [
        *common("workers", worker_lines),
        *common(
            "postgres", [line[line.index("ERROR:") :] for line in pg_lines if "ERROR:" in line]
        ),
        *common("mosquitto", [line for line in broker_lines if DROP_WORDS.search(line)]),
    ]


DROP_WORDS = re.compile("dropped|exceeded|out of memory", re.IGNORECASE)


def common(source: str, lines: list[str], top: int = 4) -> list[str]:
    """The ``top`` commonest lines (digits as ``N``, cut to 110 characters), counted."""
    shapes = Counter(re.sub(r"\d+", "N", line)[:110] for line in lines)
    return [f"{source} x{n}: {shape}" for shape, n in shapes.most_common(top)]


# --- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The exactly-once check of one run, against PostgreSQL."""

    sessions: int
    missing_sessions: int
    extra_sessions: int
    missing_events: int
    extra_events: int
    duplicate_rows: int
    bad_sessions: int

    @property
    def ok(self) -> bool:
        """Every session's seq 1..N stored exactly once, nothing else."""
        return not (self.bad_sessions or self.extra_sessions or self.extra_events)


def check_exactly_once(outcome: Outcome) -> Check:
    """For each published session: count(*) == max(seq) == published, min(seq) == 1."""
    published: dict[str, int] = Counter()
    for r in outcome.hubs:
        for session_id, _, _, _ in r["published"]:
            published[session_id] += 1
    by_session: dict[str, list[int]] = {}
    for (session_id, seq), n in outcome.rows.items():
        by_session.setdefault(session_id, []).extend([seq] * n)
    bad = 0
    for session_id, n in published.items():
        seqs = by_session.get(session_id, [])
        bad += not (len(seqs) == n and seqs and max(seqs) == n and min(seqs) == 1)
    pub_keys = {(s, q) for r in outcome.hubs for s, q, _, _ in r["published"]}
    return Check(
        len(published),
        len(published.keys() - by_session.keys()),
        len(by_session.keys() - published.keys()),
        len(pub_keys - outcome.rows.keys()),
        len(outcome.rows.keys() - pub_keys),
        sum(n - 1 for n in outcome.rows.values()),
        bad,
    )


def latencies_ms(outcome: Outcome, kind: str | None) -> np.ndarray:
    """Event-to-row latencies (ms) of ``kind`` events, or of all."""
    values = [c - ts for c, _, _, t, ts in outcome.stored if kind is None or t == kind]
    return np.array(values)


def spread(values_ms: np.ndarray) -> str:
    """``p50/p99/max`` in ms."""
    if not len(values_ms):
        return "-"
    p50, p99 = np.percentile(values_ms, [50, 99])
    return f"{p50:.0f}/{p99:.0f}/{values_ms.max():.0f}"


def window(outcome: Outcome) -> tuple[float, float]:
    """The steady part, epoch s: after the start spread, until the hubs stopped."""
    return outcome.go + SPREAD_S + 1.0, outcome.go + outcome.config.seconds


def stored_events_per_s(outcome: Outcome) -> float:
    """Events committed per second within the steady part."""
    lo, hi = window(outcome)
    n = sum(lo <= c / 1000 < hi for c, *_ in outcome.stored)
    return n / (hi - lo)


def live_sent_per_s(outcome: Outcome) -> float:
    """Live messages the hubs sent per second within the steady part (whole seconds)."""
    lo, hi = window(outcome)
    seconds = range(math.ceil(lo), math.floor(hi))
    sent = int(sum(n for r in outcome.hubs for s, n in r["live_sent"] if s in seconds))
    return sent / max(len(seconds), 1)


def traces_per_s(outcome: Outcome) -> float:
    """Live messages stored per second within the steady part (all consumer processes)."""
    lo, hi = window(outcome)
    total = 0
    for rows in outcome.counts.values():
        inside = [r[2] for r in rows if lo <= r[0] < hi]
        before = [r[2] for r in rows if r[0] < lo]
        if inside:
            total += inside[-1] - (before[-1] if before else 0)
    return total / (hi - lo)


def row(outcome: Outcome) -> str:
    """One markdown table row."""
    c, check = outcome.config, check_exactly_once(outcome)
    hubs = outcome.hubs
    published = sum(len(r["published"]) for r in hubs)
    live_sent = sum(n for r in hubs for _, n in r["live_sent"])
    trace_stored = sum(rows[-1][2] for rows in outcome.counts.values() if rows)
    dups = sum(rows[-1][3] for rows in outcome.counts.values() if rows)
    lag_ms = max(r["lag_p99_s"] for r in hubs) * 1000, max(r["lag_max_s"] for r in hubs) * 1000
    cpu = outcome.cpu_s
    cores = "/".join(
        f"{cpu.get(role, 0.0) / outcome.wall_s:.2f}"
        for role in ("hubs", "consumers", "broker", "postgres")
    )
    verdict = "yes" if check.ok else f"NO ({check.missing_events} missing)"
    return (
        f"| {c.lifters} | {c.consumers} | {'on' if c.await_store else 'off'} | {published} | "
        f"{len(outcome.rows)} | {stored_events_per_s(outcome):.0f} | "
        f"{live_sent_per_s(outcome):.0f} | {traces_per_s(outcome):.0f} "
        f"({100 * trace_stored / max(live_sent, 1):.0f} %) | "
        f"{spread(latencies_ms(outcome, 'rep'))} | {spread(latencies_ms(outcome, None))} | "
        f"{lag_ms[0]:.0f}/{lag_ms[1]:.0f} | {cores} | {dups} | {verdict} |"
    )


HEADER = (
    "| lifters | cons | await | ev pub | ev stored | ev/s stored | live/s pub "
    "| live/s stored (of pub) | rep ms p50/p99/max | all ms p50/p99/max | hub lag ms p99/max "
    "| cores hubs/cons/broker/pg | redeliv | exactly once |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def details(outcome: Outcome) -> list[str]:
    """Notes under the table: faults, losses and where they were, leftovers."""
    c, check = outcome.config, check_exactly_once(outcome)
    name = f"{c.lifters} lifters, {c.consumers} consumer(s), await_store {c.await_store}"
    lines = [f"{name}: {outcome.wall_s:.0f} s wall, {check.sessions} sessions"]
    lines += [f"  fault {entry}" for entry in outcome.fault_log]
    if not check.ok:
        lines.append(f"  check: {check}")
        lines.append(f"  missing events published at: {missing_times(outcome)}")
    left = sum(r["outbox_left"] for r in outcome.hubs)
    if left:
        lines.append(f"  {left} event(s) left unacknowledged in the hubs' outboxes")
    lines += [f"  log {note}" for note in outcome.log_notes]
    return lines


def missing_times(outcome: Outcome) -> str:
    """When the lost events were published, s after the go (first few, and the range)."""
    times = sorted(
        (ts / 1000 - outcome.go, t)
        for r in outcome.hubs
        for s, q, t, ts in r["published"]
        if (s, q) not in outcome.rows
    )
    if not times:
        return "-"
    kinds = Counter(t for _, t in times)
    return f"t={times[0][0]:.1f}..{times[-1][0]:.1f} s, {dict(kinds)}"


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifters", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--hubs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--await-store",
        choices=("auto", "on", "off", "both"),
        default="auto",
        help="hubs keep events until the store confirms them (auto: on if supported)",
    )
    parser.add_argument("--no-traces", action="store_true", help="consumers store events only")
    parser.add_argument("--faults", action="store_true", help="consumer kill + broker restart")
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--consumer", help=argparse.SUPPRESS)
    return parser.parse_args()


def await_modes(choice: str) -> list[bool]:
    """The ``await_store`` settings to run."""
    if choice in ("on", "both") and not AWAIT_STORE_SUPPORTED:
        raise SystemExit("this Backspotter's MqttPublisher has no await_store")
    return {
        "auto": [AWAIT_STORE_SUPPORTED],
        "on": [True],
        "off": [False],
        "both": [False, True],
    }[choice]


def run_configs(args: argparse.Namespace) -> Iterator[RunConfig]:
    """Every combination asked for."""
    for await_store in await_modes(args.await_store):
        for lifters in args.lifters:
            for consumers in args.consumers:
                yield RunConfig(
                    lifters,
                    consumers,
                    await_store,
                    args.hubs,
                    args.seconds,
                    not args.no_traces,
                    args.faults,
                )


def prepare_schedules() -> bytes:
    """The pipeline's output of every fixture in ``POOL``, pickled for the hubs."""
    schedules = [precompute(name) for name in POOL]
    for s in schedules:
        print(
            f"  {s.name}: {s.duration_s:.0f} s, {sum(len(st.events) for st in s.steps)} events, "
            f"{len(s.point_t_s)} live points"
        )
    return pickle.dumps(schedules)


def main() -> None:
    args = parse_args()
    if args.hub or args.consumer:
        logging.basicConfig(level=logging.WARNING)
        if args.hub:
            hub_main(HubSpec(**json.loads(args.hub)))
        else:
            consumer_main(ConsumerSpec(**json.loads(args.consumer)))
        return
    started = time.monotonic()
    print(
        f"Machine: {os.cpu_count()} cores, shared with other work (load average "
        f"{os.getloadavg()[0]:.1f} at start): every process below competes for them."
    )
    print("Pipeline output replayed by the hubs (computed once here):")
    schedules = prepare_schedules()
    outcomes = []
    with PostgresServer() as postgres:
        for index, config in enumerate(run_configs(args)):
            outcome = run_once(config, postgres, index, schedules)
            outcomes.append(outcome)
            print(f"{row(outcome)}  ({outcome.wall_s:.0f} s)", flush=True)
    print_report(args, outcomes, time.monotonic() - started)


def print_report(args: argparse.Namespace, outcomes: list[Outcome], wall_s: float) -> None:
    """The table, the notes, and how each row compares with the goal."""
    print()
    print(
        f"{args.hubs} hub processes, {args.seconds:g} s per run, live traces "
        f"{'off' if args.no_traces else 'stored'}{', with faults' if args.faults else ''}:"
    )
    print(HEADER)
    for outcome in outcomes:
        print(row(outcome))
    print()
    for outcome in outcomes:
        print("\n".join(details(outcome)))
    print(
        f"\nev/s and live/s stored: over the steady part (from {SPREAD_S + 1:g} s after the go "
        "until the hubs stop); (of pub): share of the live messages sent that were stored "
        "by the time every event was (later ones are not waited for). Latency: consumer "
        "commit minus the event's ts (hub stamp). "
        "Hub lag: how late lifters woke for their due messages. Cores: CPU seconds / run wall "
        "time (postgres: postmaster and backends). Redeliv: events the consumers got again and "
        f"dropped as stored. Goal: {GOAL_LIFTERS} lifters, p99 < {GOAL_P99_MS:.0f} ms, every "
        f"seq stored exactly once. Total wall time {wall_s:.0f} s."
    )
    for outcome in outcomes:
        if outcome.config.lifters >= GOAL_LIFTERS:
            print(goal_line(outcome))


def goal_line(outcome: Outcome) -> str:
    """Whether a run meets the goal (p99 of all events under 1 s, exactly once)."""
    c = outcome.config
    all_ms = latencies_ms(outcome, None)
    p99_ms = float(np.percentile(all_ms, 99)) if len(all_ms) else math.inf
    ok = check_exactly_once(outcome).ok
    met = p99_ms < GOAL_P99_MS and ok
    return (
        f"goal at {c.lifters} lifters, {c.consumers} consumer(s), await_store {c.await_store}: "
        f"{'MET' if met else 'NOT met'} (p99 {p99_ms:.0f} ms, exactly once {'yes' if ok else 'no'})"
    )


if __name__ == "__main__":
    main()
