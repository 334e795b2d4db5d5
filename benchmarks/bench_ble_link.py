"""The BLE client over the emulated radio: connect, reconnect, loss, duplicates, throughput.

Run: ``.venv/bin/python benchmarks/bench_ble_link.py [--rounds 5]``. The host side is the
real ``sensor.ble`` code on bleak's public API; the radio is the Bumble backend and the
emulated sensors of ``tests/bumble_radio`` (one process, one core). Times are real seconds.
Targets: streaming again within 2 s of a sensor reappearing; zero samples lost or duplicated
across a dropped link that the device's sequence numbers can prove.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bumble_radio import (
    BumbleBleakClient,
    BumbleBleakScanner,
    EmulatedSensor,
    LinkPacing,
    SimClock,
    VirtualRadio,
)
from source_collector import SourceCollector

from sensor.ble import BleBackend, LinkPolicy, SensorSpec, find_device
from sensor.ble.client import SensorLink
from sensor.ble.source import BleSource
from sensor.profiles import get_profile
from sensor.samples import SampleBatch
from sensor.simulate import SensorSpec as SimSensor
from sensor.simulate import SessionSpec, SetSpec, simulate_session
from sensor.sources import BleOptions, open_sources

BACKEND = BleBackend(BumbleBleakClient, BumbleBleakScanner)
POLICY = LinkPolicy(find_timeout_s=0.5, connect_timeout_s=2.0, silence_s=2.0)
TARGET_RECONNECT_S = 2.0
ADDRESS = "F1:00:00:00:00:01"


def motion(rate_hz: float) -> SampleBatch:
    """A simulated minute of one sensor at ``rate_hz``."""
    spec = SessionSpec(seed=11, sensors={"upper": SimSensor(rate_hz=rate_hz)}, sets=(SetSpec(),))
    return simulate_session(spec).recording.sensors["upper"]


def reached(current: Callable[[], int], target: int) -> Callable[[], bool]:
    """A condition that holds once ``current()`` reaches ``target``."""
    return lambda: current() >= target


async def sensor_on(
    radio: VirtualRadio, clock: SimClock, profile: str, rate_hz: float = 100.0, **options: Any
) -> EmulatedSensor:
    """An emulated sensor measuring motion simulated at its own rate, started."""
    sensor = EmulatedSensor(
        radio,
        get_profile(profile),
        motion(rate_hz),
        clock,
        name="Sensor-1",
        address=ADDRESS,
        **options,
    )
    await sensor.start()
    return sensor


async def connect_subscribe_s(rounds: int) -> list[float]:
    """Seconds from connect to notifications on and start commands written."""
    radio, times = await VirtualRadio.open(), []
    sensor = await sensor_on(radio, SimClock(1.0), "backspotter")
    device = await find_device(ADDRESS, 2.0, BACKEND)
    assert device is not None
    for _ in range(rounds):
        link = SensorLink(
            SensorSpec(ADDRESS, get_profile("backspotter")),
            time.monotonic,
            lambda f, t: None,
            BACKEND,
        )
        started = time.perf_counter()
        await link.open(device, POLICY)
        times.append(time.perf_counter() - started)
        await link.close(1.0)
    await sensor.close()
    await radio.close()
    return times


async def reconnect_s(rounds: int) -> list[float]:
    """Seconds from a sensor reappearing to its next batch reaching the source's consumer."""
    radio = await VirtualRadio.open()
    clock = SimClock(1.0)
    sensor = await sensor_on(radio, clock, "backspotter")
    url = f"ble://{ADDRESS}?profile=backspotter&role=upper"
    collector = SourceCollector(open_sources([url], BleOptions(BACKEND, POLICY, clock.now_s)))
    times = []
    for _ in range(rounds):
        await collector.wait_for(lambda: bool(collector.batches["upper"]))
        lost = len(collector.statuses) + 1
        await sensor.disappear()
        await collector.wait_for(reached(lambda: len(collector.statuses), lost))
        await asyncio.sleep(0.3)  # out of range for a moment (scenario, not synchronisation)
        before = len(collector.batches["upper"])
        await sensor.reappear()
        await collector.wait_for(reached(lambda: len(collector.batches["upper"]), before + 1))
        assert sensor.reappeared_at is not None
        times.append(collector.received_at["upper"][before] - sensor.reappeared_at)
    await collector.close()
    await sensor.close()
    await radio.close()
    return times


async def drop_accounting() -> tuple[int, int, int, int]:
    """(samples taken, received, duplicates dropped, lost) across three dropped links."""
    radio, clock = await VirtualRadio.open(), SimClock(5.0)
    pacing = LinkPacing(buffer_packets=512, keep_unsent_on_disconnect=True, resend_on_reconnect=3)
    sensor = await sensor_on(radio, clock, "backspotter", pacing=pacing)
    url = f"ble://{ADDRESS}?profile=backspotter&role=upper"
    collector = SourceCollector(open_sources([url], BleOptions(BACKEND, POLICY, clock.now_s)))
    for round_ in range(1, 4):
        wanted = 1000 * round_
        await collector.wait_for(reached(lambda: collector.count("upper"), wanted), timeout_s=30)
        await sensor.drop_link()
    await asyncio.wait_for(sensor.finished.wait(), 60)
    taken = sensor.player.samples_taken
    await collector.wait_for(lambda: collector.count("upper") >= taken, timeout_s=30)
    stats = cast(BleSource, collector.source).stats
    result = (taken, collector.count("upper"), stats.duplicates, stats.lost_samples)
    await collector.close()
    await sensor.close()
    await radio.close()
    return result


async def throughput(profile: str, rate_hz: float, speed: float) -> tuple[float, int, int, float]:
    """(notifications/s received, sent, received, CPU fraction) streaming a minute fast."""
    # The world must not pause for a starved process here: this measures the ceiling.
    radio, clock = await VirtualRadio.open(), SimClock(speed, max_step_s=1.0)
    pacing = LinkPacing(max_packets_per_event=12, buffer_packets=4096)
    sensor = await sensor_on(radio, clock, profile, rate_hz, pacing=pacing)
    url = f"ble://{ADDRESS}?profile={profile}&role=upper&rate={rate_hz:g}"
    collector = SourceCollector(open_sources([url], BleOptions(BACKEND, POLICY, clock.now_s)))
    await collector.wait_for(lambda: bool(collector.batches["upper"]), timeout_s=10)
    wall, cpu = time.perf_counter(), time.process_time()
    stats = cast(BleSource, collector.source).stats
    first = stats.notifications
    await asyncio.wait_for(sensor.finished.wait(), 120)
    sent_samples = sum(packet.n_samples for packet in sensor.sent_data())
    await collector.wait_for(lambda: collector.count("upper") >= sent_samples, timeout_s=30)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    received = stats.notifications
    sent = len(sensor.sent_data())
    await collector.close()
    await sensor.close()
    await radio.close()
    return (received - first) / wall, sent, received, cpu / wall


async def main(rounds: int) -> None:
    """Measure everything and print a table."""
    connect = await connect_subscribe_s(rounds)
    print(
        "connect + discover + subscribe + start: "
        f"median {statistics.median(connect) * 1e3:.0f} ms, "
        f"max {max(connect) * 1e3:.0f} ms ({rounds} rounds)"
    )
    back = await reconnect_s(rounds)
    verdict = "ok" if max(back) < TARGET_RECONNECT_S else "MISSED"
    print(
        f"reappeared -> streaming again: median {statistics.median(back) * 1e3:.0f} ms, "
        f"max {max(back) * 1e3:.0f} ms (target {TARGET_RECONNECT_S:g} s: {verdict})"
    )
    taken, received, duplicates, lost = await drop_accounting()
    print(
        f"3 dropped links, device resends 3 packets each: {taken} samples taken, {received} "
        f"received, {duplicates} duplicate packets dropped, {lost} lost, "
        f"{received - taken} extra"
    )
    for profile, rate, speed in (
        ("witmotion", 200.0, 10.0),
        ("witmotion", 200.0, 30.0),
        ("backspotter", 200.0, 20.0),
    ):
        rate_s, sent, got, cpu = await throughput(profile, rate, speed)
        print(
            f"{profile} {rate:g} Hz at {speed:g}x real time: {rate_s:,.0f} notifications/s "
            f"received ({got}/{sent} of those sent), CPU {cpu:.0%} of one core (both ends)"
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
