"""A gym's worth of lifters: concurrent two-sensor 100 Hz lifters in real time, one broker.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--lifters 25 50 100 200 300]
[--processes 2] [--seconds 60] [--batch-s 0.1] [--threshold 20] [--no-db]``. For each count,
the lifters are split over ``--processes`` service processes (each one Service serving many
lifters, all sharing one real Mosquitto), every lifter replaying a two-sensor 100 Hz fixture
in real time (start times spread over the first seconds so they are not in lockstep), with
pipeline, outbox, session store (none with ``--no-db``, as a gym's hubs run) and MQTT. A
subscriber process stamps every ``flexion_alert`` on arrival.

Per count: alerts, p50/p99 latency from the batch that raised the alert reaching the service to
the subscriber, p99 from the crossing sample's due time (so a service falling behind shows),
how late batches reached the service (p99 and worst), and the CPU used, also as CPU ms per
lifter-second of recording (what decides how many lifters fit on the cores). The knee is the
largest count still in real time with p99 under 100 ms. Target: at least 300 lifters on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import (
    AlertRecorder,
    AlertSubscriber,
    MosquittoBroker,
    PacedSource,
    fixture_batches,
    mosquitto,
    percentiles_ms,
    process_cpu_s,
)

from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.wire.mqtt_url import BrokerURL

#: The two-sensor 100 Hz fixtures, replayed round robin.
POOL = ("dual_conventional_mixed", "edge_gap_mid_set", "edge_no_calibration", "edge_upside_down")
TARGET_LIFTERS = 300
LIMIT_P99_MS = 100.0
REAL_TIME_LAG_MS = 100.0
SPREAD_S = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifters", type=int, nargs="+", default=[25, 50, 100, 200, 300])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="recording played per lifter")
    parser.add_argument("--batch-s", type=float, default=0.1)
    parser.add_argument("--threshold", type=float, default=20.0)
    parser.add_argument(
        "--no-db",
        action="store_true",
        help="no local session store, as a gym's hubs run (its store consumers keep the sessions)",
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("URL", "FIRST", "COUNT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


async def serve(args: argparse.Namespace, sources: dict[str, PacedSource]) -> AlertRecorder:
    """One service process: every source as a lifter."""
    url, _, _ = args.worker
    first = next(iter(sources))
    config = ServiceConfig(
        tuple(LifterSpec(name, ("bench://",), args.threshold) for name in sources),
        mqtt_url=BrokerURL.parse(url),
        db=None if args.no_db else args.workdir / f"{first}.sqlite3",
        outbox_path=args.workdir / f"{first}.outbox.sqlite3",
        embedded_broker=False,
    )
    recorder = AlertRecorder()
    await Service(config, [recorder], source_factory=lambda spec: sources[spec.name]).run()
    return recorder


def worker(args: argparse.Namespace) -> None:
    """Serve lifters FIRST..FIRST+COUNT-1 once the parent says go; print results as JSON."""
    _, first, count = args.worker
    pool = {name: fixture_batches(name, args.batch_s, args.seconds) for name in POOL}
    total = int(first) + int(count)
    sources = {}
    for i in range(int(first), total):
        batches, roles = pool[POOL[i % len(POOL)]]
        sources[f"lifter-{i:03d}"] = PacedSource(batches, roles, 1.0, SPREAD_S * i / total)
    print("ready", flush=True)
    sys.stdin.readline()
    cpu_start_s = time.process_time()
    recorder = asyncio.run(serve(args, sources))
    cpu_s = time.process_time() - cpu_start_s
    alerts = [
        [a.session_id, a.seq, a.batch_arrival_s, sources[a.lifter].log.crossing_arrival_s(a.t_s)]
        for a in recorder.alerts
    ]
    lags_s = [lag for s in sources.values() for lag in s.lags_s]
    lag = {"lag_p99_s": float(np.percentile(lags_s, 99)), "lag_max_s": max(lags_s)}
    print(json.dumps({"alerts": alerts, **lag, "cpu_s": cpu_s}), flush=True)


def run_count(
    args: argparse.Namespace, lifters: int, broker: MosquittoBroker, subscriber: AlertSubscriber
) -> str:
    """Run ``lifters`` lifters over the service processes; one table row."""
    shares = [
        lifters // args.processes + (i < lifters % args.processes) for i in range(args.processes)
    ]
    firsts = [sum(shares[:i]) for i in range(len(shares))]
    with tempfile.TemporaryDirectory() as workdir:
        command = [
            *(sys.executable, sys.argv[0], "--seconds", str(args.seconds)),
            *("--batch-s", str(args.batch_s), "--threshold", str(args.threshold)),
            *("--workdir", workdir),
            *(["--no-db"] if args.no_db else []),
        ]
        workers = [
            subprocess.Popen(
                [*command, "--worker", broker.url, str(first), str(share)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for first, share in zip(firsts, shares, strict=True)
            if share
        ]
        for process in workers:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        assert broker.pid is not None
        broker_cpu_s = process_cpu_s(broker.pid)
        start = time.perf_counter()
        for process in workers:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [json.loads(p.communicate()[0]) for p in workers]
        wall_s = time.perf_counter() - start
        broker_cpu = (process_cpu_s(broker.pid) - broker_cpu_s) / wall_s
    cpu = sum(r["cpu_s"] for r in results) / wall_s
    cpu_per_lifter_ms = sum(r["cpu_s"] for r in results) / (lifters * args.seconds) * 1000
    alerts = [a for r in results for a in r["alerts"]]
    subscriber.wait_for({(a[0], a[1]) for a in alerts}, 30.0)
    received = [subscriber.arrivals.get((a[0], a[1])) for a in alerts]
    missing = sum(r is None for r in received)
    service = [r - a[2] for r, a in zip(received, alerts, strict=True) if r is not None]
    total = [r - a[3] for r, a in zip(received, alerts, strict=True) if r is not None]
    lag_p99_ms = max(r["lag_p99_s"] for r in results) * 1000
    lag_max_ms = max(r["lag_max_s"] for r in results) * 1000
    p50, _, p99, _ = percentiles_ms(service)
    total_p99 = percentiles_ms(total)[2]
    in_time = not total or float(np.percentile(total, 99)) * 1000 < LIMIT_P99_MS
    real_time = lag_p99_ms < REAL_TIME_LAG_MS and in_time and not missing
    return (
        f"{lifters:>7} {len(alerts):>6} {p50:>8} {p99:>8} {total_p99:>11} "
        f"{lag_p99_ms:>8.0f} {lag_max_ms:>8.0f} "
        f"{cpu * 100:>6.0f}% {cpu_per_lifter_ms:>7.2f} {broker_cpu * 100:>7.0f}% "
        f"{'yes' if real_time else 'NO':>5}"
        + (f"  ({missing} alerts never arrived)" if missing else "")
    )


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    print(
        f"{args.processes} service process(es), {args.seconds:g} s of 100 Hz two-sensor "
        f"recording per lifter in real time, {args.batch_s * 1000:.0f} ms batches"
    )
    print(
        f"{'lifters':>7} {'alerts':>6} {'p50 ms':>8} {'p99 ms':>8} {'sample p99':>11} "
        f"{'lag p99':>8} {'lag max':>8} {'CPU':>7} {'ms/l-s':>7} {'broker':>8} {'real':>5}"
    )
    with mosquitto() as broker, AlertSubscriber(broker.host, broker.port) as subscriber:
        for lifters in args.lifters:
            print(run_count(args, lifters, broker, subscriber), flush=True)
    print(
        f"CPU: service processes and Mosquitto, in shares of one core (the machine has 2); "
        f"ms/l-s: service CPU ms per lifter-second of recording. "
        f"Lag: how late batches reached the service (ms). Real time: lag p99 < "
        f"{REAL_TIME_LAG_MS:.0f} ms and sample p99 < {LIMIT_P99_MS:.0f} ms. "
        f"Target: >= {TARGET_LIFTERS} lifters."
    )


if __name__ == "__main__":
    main()
