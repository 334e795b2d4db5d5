"""Replay at ``--speed max`` through the whole service: pipeline, outbox, MQTT, session store.

Run: ``.venv/bin/python benchmarks/bench_replay.py [--minutes 60] [--fixtures] [FILE ...]``.
The default recording is a simulated two-sensor 100 Hz session of ``--minutes`` (sets of 5
reps, 2-2.5 min rests); ``--fixtures`` adds every fixture. For each recording: the pipeline
alone (``analyze_recording``, 10 s batches), the service in process (read, pipeline in the
replay source's batches, 1 s at max speed, publish to a real Mosquitto, store, wait for every
acknowledgement), and the real ``backspotter replay FILE --speed max`` command (a fresh
process: imports included). Speeds are recording seconds per wall second. Target: at least
200x real time including publishing and storing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import FIXTURES, mosquitto

from processing.commands.replay import replay_url
from processing.detect.pipeline import PipelineConfig
from processing.live.outbox import Outbox
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.offline.analysis import analyze_recording
from processing.store.reader import SessionStore
from processing.wire.mqtt_url import BrokerURL
from sensor.recording import read_recording, write_recording
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session

TARGET_SPEED = 200.0
#: One set of 5 reps plus its rest lasts about this long, s.
SET_CYCLE_S = 165.0


def pipeline_s(path: Path) -> float:
    """Wall seconds of the pipeline alone over the recording (file already read)."""
    recording = read_recording(path)
    start = time.perf_counter()
    analyze_recording(recording, PipelineConfig())
    return time.perf_counter() - start


def service_s(path: Path, url: str, workdir: Path) -> float:
    """Wall seconds of the service replaying ``path`` at max speed, until all is acknowledged."""
    db = workdir / f"{path.stem}.sqlite3"
    outbox = workdir / f"{path.stem}.outbox.sqlite3"
    spec = LifterSpec("replay-bench", (replay_url(path, "max"),))
    config = ServiceConfig((spec,), BrokerURL.parse(url), db, outbox, embedded_broker=False)
    start = time.perf_counter()
    asyncio.run(Service(config).run())
    elapsed = time.perf_counter() - start
    assert Outbox(outbox).count() == 0, "events left unacknowledged"
    with SessionStore(db) as store:
        assert store.list_sessions()[0].ended_at is not None
    return elapsed


def command_s(path: Path, url: str, workdir: Path) -> float:
    """Wall seconds of ``backspotter replay FILE --speed max`` in a fresh process."""
    db = workdir / f"{path.stem}-cli.sqlite3"
    command = [sys.executable, "-m", "processing.cli", "replay", str(path), "--speed", "max"]
    start = time.perf_counter()
    subprocess.run(
        [*command, "--mqtt", url, "--db", str(db), "--lifter", "replay-cli"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def simulated_session(minutes: float, directory: Path) -> Path:
    """A dual 100 Hz session of about ``minutes`` written as a recording file."""
    link = SensorSpec(rate_hz=100.0, clock_ppm=30.0, jitter_ms=0.5, drop_rate=0.002)
    spec = SessionSpec(
        seed=1,
        sensors={"upper": link, "lower": link},
        sets=(SetSpec(reps=5),) * max(1, round(minutes * 60.0 / SET_CYCLE_S)),
        rest_s=(120.0, 150.0),
    )
    path = directory / f"simulated_{minutes:g}min.csv.gz"
    write_recording(path, simulate_session(spec).recording)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--fixtures", action="store_true", help="also every fixture")
    args = parser.parse_args()
    print(f"{'recording':<34} {'length s':>8} {'pipeline':>9} {'service':>9} {'command':>9}")
    totals = [0.0, 0.0, 0.0, 0.0]
    with mosquitto() as broker, tempfile.TemporaryDirectory() as tmp:
        files = args.files or [simulated_session(args.minutes, Path(tmp))]
        files += sorted(FIXTURES.glob("*.csv.gz")) if args.fixtures else []
        for path in files:
            length_s = read_recording(path).duration_s
            times = [
                pipeline_s(path),
                service_s(path, broker.url, Path(tmp)),
                command_s(path, broker.url, Path(tmp)),
            ]
            for i, value in enumerate([length_s, *times]):
                totals[i] += value
            speeds = " ".join(f"{length_s / t:8.0f}x" for t in times)
            print(f"{path.name:<34} {length_s:8.0f} {speeds}", flush=True)
    speeds = " ".join(f"{totals[0] / t:8.0f}x" for t in totals[1:])
    print(f"{'all':<34} {totals[0]:8.0f} {speeds}")
    print(f"target: >= {TARGET_SPEED:.0f}x real time including publishing and storing")


if __name__ == "__main__":
    main()
