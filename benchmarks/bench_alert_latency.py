"""Alert latency: threshold-crossing sample at the service -> ``flexion_alert`` at a subscriber.

Run: ``.venv/bin/python benchmarks/bench_alert_latency.py [--speed 1] [--batch-s 0.02]
[--threshold 20] [--stop-s 150]``. Every fixture plays as its own lifter, all at once and in
real time (a small gym), in BLE-sized batches, through the real service (pipeline, outbox,
session store) to a real Mosquitto; a subscriber in another process stamps each alert on
arrival. The threshold is lowered so that most reps raise an alert.

Two figures per alert:

- service + MQTT: from the batch whose processing raised the alert reaching the service to the
  subscriber having the alert. Target: p99 <= 30 ms.
- sample -> subscriber: from the crossing sample (the alert's ``t``, of every sensor) reaching
  the service. The difference is the detector's own delay (aligning the sensors on a common
  tick grid, filtering), which the pipeline owns.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from benchlib import (
    FIXTURES,
    AlertRecorder,
    AlertSubscriber,
    PacedSource,
    fixture_batches,
    mosquitto,
    percentiles_ms,
)

from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.wire.mqtt_url import BrokerURL

TARGET_P99_MS = 30.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed", type=float, default=1.0, help="x real time (default 1)")
    parser.add_argument("--batch-s", type=float, default=0.02, help="batch length (BLE-like)")
    parser.add_argument("--threshold", type=float, default=20.0, help="alert threshold, deg")
    parser.add_argument("--stop-s", type=float, default=150.0, help="play only this much")
    return parser.parse_args()


async def run_service(
    url: str, workdir: Path, sources: dict[str, PacedSource], args: argparse.Namespace
) -> AlertRecorder:
    """Every source as one lifter of one service, until they end."""
    config = ServiceConfig(
        tuple(LifterSpec(name, ("bench://",), args.threshold) for name in sources),
        mqtt_url=BrokerURL.parse(url),
        db=workdir / "bench.sqlite3",
        outbox_path=workdir / "bench.outbox.sqlite3",
        embedded_broker=False,
    )
    recorder = AlertRecorder()
    service = Service(config, [recorder], source_factory=lambda spec: sources[spec.name])
    await service.run()
    return recorder


def row(values_s: list[float]) -> str:
    """p50, p90, p99 and max as table cells."""
    return " ".join(f"{cell:>7}" for cell in percentiles_ms(values_s))


def main() -> None:
    args = parse_args()
    names = sorted(p.name.removesuffix(".csv.gz") for p in FIXTURES.glob("*.csv.gz"))
    sources = {}
    for i, name in enumerate(names):
        batches, roles = fixture_batches(name, args.batch_s, args.stop_s)
        # Start times spread over a second so lifters' batches do not arrive in lockstep.
        sources[name.replace("_", "-")] = PacedSource(batches, roles, args.speed, i / len(names))
    with (
        mosquitto() as broker,
        tempfile.TemporaryDirectory() as workdir,
        AlertSubscriber(broker.host, broker.port) as subscriber,
    ):
        recorder = asyncio.run(run_service(broker.url, Path(workdir), sources, args))
        subscriber.wait_for({(a.session_id, a.seq) for a in recorder.alerts}, 30.0)
    service_s, total_s = [], []
    for alert in recorder.alerts:
        received_s = subscriber.arrivals[(alert.session_id, alert.seq)]
        service_s.append(received_s - alert.batch_arrival_s)
        crossing_s = sources[alert.lifter].log.crossing_arrival_s(alert.t_s)
        total_s.append(received_s - crossing_s)
    lag_ms = max(max(s.lags_s) for s in sources.values()) * 1000
    print(
        f"{len(sources)} lifters at {args.speed:g}x real time, {args.batch_s * 1000:.0f} ms "
        f"batches, threshold {args.threshold:g} deg: {len(recorder.alerts)} alerts "
        f"(worst source lag {lag_ms:.1f} ms)"
    )
    print(f"{'latency (ms)':<28} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    print(f"{'service + MQTT':<28} {row(service_s)}")
    print(f"{'crossing sample -> subscriber':<28} {row(total_s)}")
    detector_s = [t - s for t, s in zip(total_s, service_s, strict=True)]
    print(f"{'  of which detector delay':<28} {row(detector_s)}")
    print(f"target: service + MQTT p99 <= {TARGET_P99_MS:.0f} ms")


if __name__ == "__main__":
    main()
