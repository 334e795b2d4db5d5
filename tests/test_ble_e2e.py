"""End to end over an emulated radio: scan, stream, bursts, lost links, stalls, garbage, silence.

The host side is the real application code (``sensor.ble`` through ``sensor.sources``) using
only bleak's public API; the bleak backend runs on Bumble with an in-process controller, and
each sensor is a Bumble peripheral with a real GATT server streaming simulated motion in its
device's own bytes. Simulated time runs ``SPEED`` times faster than real time on a clock the
emulators and the host share, so 10 s of motion stream in a fraction of that.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from bumble.device import Device
from bumble_radio import (
    BumbleBleakClient,
    BumbleBleakScanner,
    EmulatedSensor,
    LinkPacing,
    SimClock,
    VirtualRadio,
)
from source_collector import SourceCollector

from processing.commands.record import record
from processing.offline.analysis import analyze_recording
from sensor.ble import BleBackend, BleSource, LinkPolicy, LinkStats, scan
from sensor.exc import DeviceError
from sensor.profiles import get_profile
from sensor.recording import read_recording
from sensor.samples import GRAVITY_MPS2, SampleBatch
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, SimulatedSession, simulate_session
from sensor.sources import BleOptions, Source, open_sources

# Every test here drives the BLE client on the event loop: none may block it.
pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("no_blocking")]

SPEED = 5.0
RECORD_SPEED = 8.0
BACKEND = BleBackend(client=BumbleBleakClient, scanner=BumbleBleakScanner)
POLICY = LinkPolicy(
    find_timeout_s=0.5,
    connect_timeout_s=1.0,
    first_connect_timeout_s=1.5,
    silence_s=2.0,
)
RAD_PER_DEG = math.pi / 180
#: One count of each device's registers (vendor data sheets), as (accel m/s^2, gyro rad/s).
LSB = {
    "backspotter": (8 * GRAVITY_MPS2 / 32768, 2000 * RAD_PER_DEG / 32768),
    "witmotion": (16 * GRAVITY_MPS2 / 32768, 2000 * RAD_PER_DEG / 32768),
    "movesense": (1e-5, 1e-5),  # float32: well below this
    "thingy52": (GRAVITY_MPS2 / 1024, RAD_PER_DEG / 32),
}

Launch = Callable[..., Awaitable[EmulatedSensor]]


@pytest.fixture(scope="module")
def simulated() -> SimulatedSession:
    """A minute of simulated training: two sensors at 100 Hz, one set of five reps."""
    spec = SessionSpec(
        seed=11,
        sensors={"upper": SensorSpec(rate_hz=100.0), "lower": SensorSpec(rate_hz=100.0)},
        sets=(SetSpec(reps=5),),
    )
    return simulate_session(spec)


@pytest.fixture(scope="module")
def session(simulated: SimulatedSession) -> dict[str, SampleBatch]:
    """The simulated motion each sensor measures, per role (t is world time)."""
    return dict(simulated.recording.sensors)


def window(batch: SampleBatch, start_s: float, seconds: float) -> SampleBatch:
    """``seconds`` of ``batch`` from ``start_s``, moved to start at world time 0."""
    keep = (batch.t_s >= start_s) & (batch.t_s < start_s + seconds)
    t_s = batch.t_s[keep] - start_s
    return SampleBatch(batch.role, t_s, batch.accel_mps2[keep], batch.gyro_rps[keep])


@pytest_asyncio.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    """A fresh virtual radio on this test's event loop."""
    radio = await VirtualRadio.open()
    yield radio
    await radio.close()


@pytest_asyncio.fixture
async def clock(radio: VirtualRadio, request: pytest.FixtureRequest) -> SimClock:
    """World time for the emulators and the host, ``SPEED`` x real time unless parametrized."""
    return SimClock(getattr(request, "param", SPEED))


@pytest_asyncio.fixture
async def launch(radio: VirtualRadio, clock: SimClock) -> AsyncIterator[Launch]:
    """Factory starting emulated sensors on ``radio``; stops them after the test."""
    started: list[EmulatedSensor] = []

    async def start(profile: str, motion: SampleBatch, **options: object) -> EmulatedSensor:
        sensor = EmulatedSensor(radio, get_profile(profile), motion, clock, **options)  # type: ignore[arg-type]
        await sensor.start()
        started.append(sensor)
        return sensor

    yield start
    for sensor in started:
        await sensor.close()


@pytest_asyncio.fixture
async def collect(clock: SimClock) -> AsyncIterator[Callable[[list[str]], SourceCollector]]:
    """Factory opening source URLs on the emulated radio and draining them; closed after."""
    made: list[SourceCollector] = []

    def open_urls(urls: list[str]) -> SourceCollector:
        source: Source = open_sources(urls, BleOptions(BACKEND, POLICY, clock.now_s))
        collector = SourceCollector(source)
        made.append(collector)
        return collector

    yield open_urls
    for collector in made:
        await collector.close()


def link_stats(collector: SourceCollector) -> LinkStats:
    """What the supervisor of a one-sensor BLE source counted."""
    source = collector.source
    assert isinstance(source, BleSource)
    return source.stats


def delivered_indices(sensor: EmulatedSensor) -> list[int]:
    """Device sample indices carried by the sent notifications, each once, in order."""
    seen: dict[int, None] = {}
    for packet in sensor.sent_data():
        for index in range(packet.first_sample, packet.first_sample + packet.n_samples):
            seen.setdefault(index)
    return list(seen)


def assert_same_samples(received: SampleBatch, sensor: EmulatedSensor, indices: list[int]) -> None:
    """The received samples are the emulator's samples ``indices``, within one count."""
    motion_rows = [sensor.player.motion_index[i] for i in indices]
    accel_lsb, gyro_lsb = LSB[sensor.profile.name]
    assert len(received) == len(indices)
    np.testing.assert_allclose(
        received.accel_mps2, sensor.player.motion.accel_mps2[motion_rows], rtol=0, atol=accel_lsb
    )
    np.testing.assert_allclose(
        received.gyro_rps, sensor.player.motion.gyro_rps[motion_rows], rtol=0, atol=gyro_lsb
    )


async def streamed_to_the_end(collector: SourceCollector, **sensors: EmulatedSensor) -> None:
    """Wait until every emulator (by role) sampled its motion and the host holds all it sent."""
    for sensor in sensors.values():
        await asyncio.wait_for(sensor.finished.wait(), timeout=20)
    await collector.wait_for(
        lambda: all(
            collector.count(role) >= len(delivered_indices(s)) for role, s in sensors.items()
        )
    )


async def test_scan_lists_recognised_sensors_with_name_address_and_rssi(
    launch: Launch, session: dict[str, SampleBatch]
) -> None:
    motion = window(session["upper"], 0.0, 5.0)
    await launch("witmotion", motion, name="WT901BLE68", address="F1:00:00:00:00:01", rssi_dbm=-48)
    await launch(
        "movesense", motion, name="Movesense 2034", address="F1:00:00:00:00:02", rssi_dbm=-71
    )
    await launch(
        "backspotter", motion, name="Backspotter-7", address="F1:00:00:00:00:03", rssi_dbm=-60
    )
    await launch("thingy52", motion, name="Thingy", address="F1:00:00:00:00:04", rssi_dbm=-80)

    found = await scan(0.5, BACKEND)

    assert [(f.profile, f.name, f.address, f.rssi_dbm) for f in found] == [
        ("witmotion", "WT901BLE68", "F1:00:00:00:00:01", -48),
        ("backspotter", "Backspotter-7", "F1:00:00:00:00:03", -60),
        ("movesense", "Movesense 2034", "F1:00:00:00:00:02", -71),
        ("thingy52", "Thingy", "F1:00:00:00:00:04", -80),
    ]
    assert found[1].url("upper") == "ble://F1:00:00:00:00:03?profile=backspotter&role=upper"


async def test_scan_ignores_devices_of_no_known_profile(
    radio: VirtualRadio, launch: Launch, session: dict[str, SampleBatch]
) -> None:
    headphones = radio.new_device("Headphones", "F1:00:00:00:00:09", Device)
    await headphones.power_on()
    await headphones.start_advertising(advertising_interval_min=20.0, advertising_interval_max=20.0)
    await launch("backspotter", session["upper"], name="Backspotter-1", address="F1:00:00:00:00:01")

    found = await scan(0.5, BACKEND)

    assert [f.address for f in found] == ["F1:00:00:00:00:01"]


async def test_two_sensors_stream_what_the_emulators_sent_on_one_time_base(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    upper = await launch(
        "backspotter",
        window(session["upper"], 20.0, 10.0),
        name="Backspotter-upper",
        address="F1:00:00:00:00:01",
        device_clock_offset_s=1000.0,
    )
    lower = await launch(
        "movesense",
        window(session["lower"], 20.0, 10.0),
        name="Movesense-lower",
        address="F1:00:00:00:00:02",
        device_clock_offset_s=37.25,
    )
    collector = collect(
        [
            "ble://F1:00:00:00:00:01?profile=backspotter&role=upper&rate=100",
            "ble://Movesense-lower?profile=movesense&role=lower",
        ]
    )

    await streamed_to_the_end(collector, upper=upper, lower=lower)

    for role, sensor in (("upper", upper), ("lower", lower)):
        received = collector.joined(role)
        assert_same_samples(received, sensor, list(range(sensor.player.samples_taken)))
        # Host times are the world times the samples were taken at, plus little latency:
        # both device clocks (offset 1000 s and 37.25 s) land on the one host time base.
        latency_s = received.t_s - np.array(sensor.player.world_s)
        assert np.all(np.abs(latency_s) < 0.1), (role, latency_s.min(), latency_s.max())
        assert np.median(np.diff(received.t_s)) == pytest.approx(1 / sensor.player.rate_hz, 0.02)
        assert [s.connected for s in collector.statuses_of(role)] == [True]
    assert lower.player.rate_hz == 52.0 and upper.player.rate_hz == 100.0


@pytest.mark.parametrize(
    ("profile", "name"),
    [
        ("witmotion", "WT901BLE68"),
        ("movesense", "Movesense 175030001"),
        ("thingy52", "Thingy"),
        ("backspotter", "Backspotter-2"),
    ],
)
async def test_every_profile_streams_its_device_bytes_to_samples(
    launch: Launch,
    collect: Callable[[list[str]], SourceCollector],
    session: dict[str, SampleBatch],
    profile: str,
    name: str,
) -> None:
    sensor = await launch(
        profile, window(session["upper"], 20.0, 4.0), name=name, address="F1:00:00:00:00:01"
    )
    collector = collect([f"ble://{name.replace(' ', '%20')}?profile={profile}"])

    await streamed_to_the_end(collector, lumbar=sensor)

    received = collector.joined("lumbar")
    assert_same_samples(received, sensor, list(range(sensor.player.samples_taken)))
    assert np.all(np.diff(received.t_s) > 0)
    assert link_stats(collector).bad_packets == 0


async def test_connection_interval_bursts_are_respaced_at_the_nominal_rate(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    # WitMotion frames carry no timestamp: a 60 ms connection interval delivers six 100 Hz
    # frames at once, and only the host can space them out again.
    pacing = LinkPacing(connection_interval_s=0.060, max_packets_per_event=8)
    sensor = await launch(
        "witmotion",
        window(session["upper"], 20.0, 10.0),
        name="WT901-lumbar",
        address="F1:00:00:00:00:01",
        pacing=pacing,
    )
    collector = collect(["ble://F1:00:00:00:00:01?profile=witmotion&role=lumbar&rate=100"])

    await streamed_to_the_end(collector, lumbar=sensor)

    assert np.median(sensor.burst_sizes) >= 5
    received = collector.joined("lumbar")
    assert_same_samples(received, sensor, list(range(sensor.player.samples_taken)))
    spacing_s = np.diff(received.t_s[len(received) // 5 :])  # after the clock fit settles
    assert np.percentile(np.abs(spacing_s - 0.010), 90) < 0.002


async def test_link_dropped_mid_set_resumes_without_losing_or_repeating_samples(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    # Firmware that keeps unsent packets across the drop and, unsure what arrived, sends its
    # last three packets again: sequence numbers and device time prove the host got each
    # sample exactly once.
    pacing = LinkPacing(buffer_packets=512, keep_unsent_on_disconnect=True, resend_on_reconnect=3)
    sensor = await launch(
        "backspotter",
        window(session["upper"], 20.0, 8.0),
        name="Backspotter-upper",
        address="F1:00:00:00:00:01",
        pacing=pacing,
    )
    collector = collect(["ble://F1:00:00:00:00:01?profile=backspotter&role=upper"])
    await collector.wait_for(lambda: collector.count("upper") >= 300)

    await sensor.drop_link()
    await collector.wait_for(lambda: len(collector.statuses) == 3)
    await streamed_to_the_end(collector, upper=sensor)

    lost, again = collector.statuses[1:3]
    assert (lost.connected, lost.reason) == (False, "link lost")
    assert (again.connected, again.reason) == (True, "streaming again")
    stats = link_stats(collector)
    assert stats.link_losses == 1 and stats.duplicates == 3 and stats.lost_samples == 0
    received = collector.joined("upper")
    assert_same_samples(received, sensor, list(range(sensor.player.samples_taken)))
    assert np.all(np.diff(received.t_s) > 0)


async def test_sensor_back_in_range_streams_again_within_two_seconds(
    launch: Launch,
    collect: Callable[[list[str]], SourceCollector],
    session: dict[str, SampleBatch],
    clock: SimClock,
) -> None:
    sensor = await launch(
        "backspotter",
        window(session["upper"], 20.0, 8.0),
        name="Backspotter-upper",
        address="F1:00:00:00:00:01",
    )
    collector = collect(["ble://F1:00:00:00:00:01?profile=backspotter&role=upper"])
    await collector.wait_for(lambda: collector.count("upper") >= 200)

    await sensor.disappear()
    await collector.wait_for(lambda: len(collector.statuses) == 2)
    await clock.sleep_until(clock.now_s() + 1.5)  # out of range for 1.5 s of the set
    batches_before = len(collector.batches["upper"])
    await sensor.reappear()
    await collector.wait_for(lambda: len(collector.batches["upper"]) > batches_before)
    assert sensor.reappeared_at is not None
    back_after_s = collector.received_at["upper"][batches_before] - sensor.reappeared_at
    await streamed_to_the_end(collector, upper=sensor)

    assert back_after_s < 2.0
    stats = link_stats(collector)
    received = collector.joined("upper")
    # The device's sequence numbers and clock prove every sample missing, none is invented.
    assert stats.lost_samples == sensor.player.samples_taken - len(received)
    assert stats.lost_samples >= 100 * 1.5
    assert_same_samples(received, sensor, delivered_indices(sensor))
    again = collector.statuses[2]
    assert again.connected and again.details["lost_samples"] == stats.lost_samples


async def test_five_second_radio_stall_is_a_reported_gap_with_no_invented_samples(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    sensor = await launch(
        "witmotion",
        window(session["upper"], 20.0, 10.0),
        name="WT901-lumbar",
        address="F1:00:00:00:00:01",
        pacing=LinkPacing(buffer_packets=32),
    )
    collector = collect(["ble://F1:00:00:00:00:01?profile=witmotion&role=lumbar&rate=50"])
    await collector.wait_for(lambda: collector.count("lumbar") >= 50)

    sensor.stall(5.0)
    await collector.wait_for(lambda: len(collector.statuses) == 3)
    await streamed_to_the_end(collector, lumbar=sensor)

    lost, again = collector.statuses[1:3]
    assert not lost.connected and lost.reason == "no data for 2 s"
    assert again.connected and again.reason == "streaming again"
    received = collector.joined("lumbar")
    assert sensor.dropped_packets > 0
    assert_same_samples(received, sensor, delivered_indices(sensor))
    gap_s = np.diff(received.t_s).max()
    assert 3.0 < gap_s < 5.5
    assert link_stats(collector).gaps


async def test_garbage_notifications_are_counted_and_skipped(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    sensor = await launch(
        "backspotter",
        window(session["upper"], 20.0, 5.0),
        name="Backspotter-upper",
        address="F1:00:00:00:00:01",
    )
    collector = collect(["ble://F1:00:00:00:00:01?profile=backspotter&role=upper"])
    await collector.wait_for(lambda: collector.count("upper") >= 100)

    garbage = [b"", b"\x00", b"\xff" * 30, bytes(range(244)), b"\x02" + bytes(40)]
    sensor.inject_garbage(garbage)
    await streamed_to_the_end(collector, upper=sensor)

    assert sum(p.kind == "garbage" for p in sensor.sent) == len(garbage)
    stats = link_stats(collector)
    assert stats.bad_packets == len(garbage)
    assert_same_samples(collector.joined("upper"), sensor, list(range(sensor.player.samples_taken)))


async def test_device_that_never_answers_is_a_clear_bounded_error(
    launch: Launch, collect: Callable[[list[str]], SourceCollector], session: dict[str, SampleBatch]
) -> None:
    await launch(
        "movesense", session["upper"], name="Movesense 9", address="F1:00:00:00:00:01", silent=True
    )
    collector = collect(["ble://Movesense 9?profile=movesense&role=upper"])

    with pytest.raises(
        DeviceError, match=r"Movesense 9.*found at F1:00:00:00:00:01 but did not answer"
    ):
        await collector.wait_for(lambda: False, timeout_s=POLICY.first_connect_timeout_s + 2)


async def test_device_that_is_not_there_is_a_clear_bounded_error(
    radio: VirtualRadio, collect: Callable[[list[str]], SourceCollector]
) -> None:
    collector = collect(["ble://F1:00:00:00:00:07?profile=witmotion"])

    with pytest.raises(DeviceError, match=r"F1:00:00:00:00:07.*not found within 1\.5 s"):
        await collector.wait_for(lambda: False, timeout_s=POLICY.first_connect_timeout_s + 2)


async def test_no_bluetooth_adapter_is_a_clear_immediate_error() -> None:
    # No virtual radio on this loop: the backend reports Bluetooth unavailable, as BlueZ does
    # when there is no adapter, and the first connection does not wait out its time limit.
    source = open_sources(["ble://WT901BLE68?profile=witmotion"], BleOptions(BACKEND, POLICY))
    collector = SourceCollector(source)
    try:
        with pytest.raises(
            DeviceError, match=r"WT901BLE68.*no Bluetooth adapter found: is bluetoothd"
        ):
            await collector.wait_for(lambda: False, timeout_s=POLICY.first_connect_timeout_s / 2)
    finally:
        await collector.close()


@pytest.mark.parametrize("clock", [RECORD_SPEED], indirect=True)
async def test_record_from_two_sensors_analyzes_to_the_reps_of_the_motion(
    launch: Launch, clock: SimClock, simulated: SimulatedSession, tmp_path: Path
) -> None:
    motion = simulated.recording.sensors
    upper = await launch(
        "backspotter", motion["upper"], name="Backspotter-U", address="F1:00:00:00:00:01"
    )
    lower = await launch(
        "movesense", motion["lower"], name="Movesense 77", address="F1:00:00:00:00:02"
    )
    stop = asyncio.Event()

    async def stop_when_the_motion_ends() -> None:
        await upper.finished.wait()
        await lower.finished.wait()
        stop.set()

    ender = asyncio.create_task(stop_when_the_motion_ends())
    urls = [
        "ble://Backspotter-U?profile=backspotter&role=upper",
        "ble://F1:00:00:00:00:02?profile=movesense&role=lower",
    ]
    out = tmp_path / "session.csv"
    summary = await asyncio.wait_for(
        record(urls, out, ble=BleOptions(BACKEND, POLICY, clock.now_s), stop=stop), timeout=30
    )
    await ender

    recording = await asyncio.to_thread(read_recording, out)  # not on the checked loop
    assert set(recording.roles) == {"upper", "lower"}
    assert summary.duration_s > 55
    assert len(recording.sensors["upper"]) == summary.samples["upper"]
    recorded = analyze_recording(recording)
    assert recorded.mode == "dual"
    truth_sets = simulated.truth["sets"]
    assert [len(st.reps) for st in recorded.sets] == [len(st["reps"]) for st in truth_sets]
    # Recording time is the world time the motion was simulated in (plus BLE latency), so
    # each rep found is the truth's rep: its lockout where the truth has it (the analyzer's
    # own accuracy is measured by ``backspotter evaluate``, not here).
    found = [rep for st in recorded.sets for rep in st.reps]
    lockouts_s = [rep["lockout"] for st in truth_sets for rep in st["reps"]]
    for rep, lockout_s in zip(found, lockouts_s, strict=True):
        assert rep.start < lockout_s < rep.end
        assert rep.lockout == pytest.approx(lockout_s, abs=0.5)
