"""Sources by URL: parsing and errors, replay and simulator pacing, combining, and the
``record`` / ``scan`` commands on real files and a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from processing.commands.record import record
from processing.commands.scan import format_found
from sensor.ble import BleSource, FoundSensor
from sensor.exc import SourceURLError
from sensor.recording import read_recording, write_recording
from sensor.recording.replay import ReplaySource, paced
from sensor.samples import SampleBatch
from sensor.simsource import SimSource
from sensor.simulate import SensorSpec, SessionSpec, SetSpec, simulate_session, stream_session
from sensor.sources import SourceItem, combine_sources, open_source, open_sources

asyncio_test = pytest.mark.asyncio


@pytest.fixture(scope="module")
def two_sensor_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real recording file: two sensors at 50 Hz, one set of three reps."""
    spec = SessionSpec(
        seed=5,
        sensors={"upper": SensorSpec(rate_hz=50.0), "lower": SensorSpec(rate_hz=50.0)},
        sets=(SetSpec(reps=3),),
    )
    path = tmp_path_factory.mktemp("replay") / "two.csv"
    write_recording(path, simulate_session(spec).recording)
    return path


async def drain(source: AsyncIterator[SourceItem]) -> list[SourceItem]:
    """Every item of a finite stream."""
    return [item async for item in source]


def joined(items: list[SourceItem], role: str) -> SampleBatch:
    """The samples of ``role`` among ``items``, as one batch."""
    batches = [item for item in items if isinstance(item, SampleBatch) and item.role == role]
    return SampleBatch(
        role,
        np.concatenate([b.t_s for b in batches]),
        np.concatenate([b.accel_mps2 for b in batches]),
        np.concatenate([b.gyro_rps for b in batches]),
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://x", "unknown source; use one of ble://, replay://, sim://"),
        ("WT901", "unknown source"),
        ("ble://WT901", "no profile: add profile=<backspotter, movesense, thingy52, witmotion>"),
        ("ble://WT901?profile=fitbit", "unknown profile 'fitbit'"),
        ("ble://?profile=witmotion", "no device given"),
        ("ble://WT901?profile=witmotion&role=middle", "role must be one of lumbar, upper, lower"),
        ("ble://WT901?profile=witmotion&rate=fast", "rate must be a number, not 'fast'"),
        ("ble://WT901?profile=witmotion&rate=-5", "rate must be positive, not '-5'"),
        ("ble://WT901?profile=witmotion&colour=red", "unknown parameter 'colour'"),
        ("ble://WT901?profile=witmotion&profile=movesense", "parameter 'profile' given twice"),
        ("replay://", "no recording file given"),
        ("replay://no/such/file.csv", "no such recording file: no/such/file.csv"),
        ("sim://?seed=seven", "seed must be a non-negative integer, not 'seven'"),
        ("sim://?seed=1&mode=triple", "mode must be dual or single, not 'triple'"),
        ("sim://?speed=0", "speed must be positive, not '0'"),
        ("sim://?speed=inf", "speed must be positive, not 'inf'"),
        ("sim://7", "a simulated session has no target"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(url: str, message: str) -> None:
    with pytest.raises(SourceURLError) as error:
        open_source(url)
    assert str(error.value).startswith(f"{url}: ")
    assert message in str(error.value)


@asyncio_test
async def test_ble_url_names_device_profile_role_and_rate() -> None:
    source = open_source("ble://Movesense%20175030001?profile=Movesense&role=lower&rate=104")

    assert isinstance(source, BleSource)
    assert source.roles == ("lower",)
    assert (source.spec.target, source.spec.profile.name) == ("Movesense 175030001", "movesense")
    assert source.spec.stream_rate_hz == 104.0


@asyncio_test
async def test_ble_url_defaults_to_the_lumbar_role_and_the_nominal_rate() -> None:
    source = open_source("ble://AA:BB:CC:DD:EE:FF?profile=witmotion")

    assert isinstance(source, BleSource)
    assert source.spec.target == "AA:BB:CC:DD:EE:FF"
    assert source.roles == ("lumbar",)
    assert source.spec.stream_rate_hz == 50.0


@asyncio_test
async def test_replay_at_max_speed_delivers_the_whole_file(two_sensor_file: Path) -> None:
    source = open_source(f"replay://{two_sensor_file}?speed=max")
    recording = read_recording(two_sensor_file)

    items = await drain(source.stream())

    assert source.roles == recording.roles
    for role, expected in recording.sensors.items():
        received = joined(items, role)
        np.testing.assert_array_equal(received.t_s, expected.t_s)
        np.testing.assert_array_equal(received.accel_mps2, expected.accel_mps2)
        np.testing.assert_array_equal(received.gyro_rps, expected.gyro_rps)


@asyncio_test
async def test_max_speed_delivers_the_same_samples_in_fewer_longer_batches(
    two_sensor_file: Path,
) -> None:
    link_items = await drain(ReplaySource(two_sensor_file, speed=1000.0).stream())
    max_items = await drain(ReplaySource(two_sensor_file, speed=None).stream())

    # Fewer calls into the pipeline is what makes ``max`` fast; the samples stay the same.
    assert len(max_items) * 5 < len(link_items)
    for role in ("upper", "lower"):
        np.testing.assert_array_equal(joined(max_items, role).t_s, joined(link_items, role).t_s)


@asyncio_test
async def test_replay_maps_recording_time_to_wall_time(two_sensor_file: Path) -> None:
    source = ReplaySource(two_sensor_file, speed=100.0)
    loop = asyncio.get_running_loop()
    started_s = loop.time()
    yielded: list[tuple[float, float]] = []

    async for item in source.stream():
        assert isinstance(item, SampleBatch)
        yielded.append((float(item.t_s[-1]), loop.time() - started_s))

    recording_s = np.array([t for t, _ in yielded]) - yielded[0][0]
    wall_s = np.array([w for _, w in yielded])
    # No batch comes before its recording time (scaled); a live source cannot be early.
    assert np.all(wall_s >= recording_s / 100.0 - 1e-3)


@asyncio_test
async def test_max_speed_still_lets_other_tasks_run() -> None:
    batches = [
        SampleBatch("lumbar", np.array([i * 0.1]), np.zeros((1, 3)), np.zeros((1, 3)))
        for i in range(50)
    ]
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    count = 0
    async for _ in paced(batches, None):
        count += 1
    other.cancel()

    assert count == 50
    assert turns >= 49


@asyncio_test
async def test_sim_url_streams_the_seeded_session_in_the_asked_wear() -> None:
    source = open_source("sim://?seed=4&mode=single&speed=max")
    assert isinstance(source, SimSource)
    assert source.roles == ("lumbar",)

    items = await drain(source.stream())

    expected = list(stream_session(source.spec))
    assert sum(len(item) for item in items if isinstance(item, SampleBatch)) == sum(
        len(b) for b in expected
    )
    np.testing.assert_array_equal(
        joined(items, "lumbar").t_s, np.concatenate([b.t_s for b in expected])
    )


@asyncio_test
async def test_sim_dual_mode_gives_upper_and_lower() -> None:
    assert open_source("sim://?seed=4&mode=dual").roles == ("upper", "lower")


@asyncio_test
async def test_combined_sources_deliver_both_streams(two_sensor_file: Path, tmp_path: Path) -> None:
    recording = read_recording(two_sensor_file)
    lower_only = tmp_path / "lower.csv"
    write_recording(lower_only, [recording.sensors["lower"]])
    single = simulate_session(
        SessionSpec(seed=9, sensors={"upper": SensorSpec(rate_hz=25.0)}, sets=(SetSpec(reps=1),))
    )
    upper_only = tmp_path / "upper.csv"
    write_recording(upper_only, [single.recording.sensors["upper"]])

    source = open_sources([f"replay://{upper_only}?speed=max", f"replay://{lower_only}?speed=max"])
    items = await drain(source.stream())

    assert source.roles == ("upper", "lower")
    upper_t_s = read_recording(upper_only).sensors["upper"].t_s
    np.testing.assert_array_equal(joined(items, "upper").t_s, upper_t_s)
    np.testing.assert_array_equal(joined(items, "lower").t_s, recording.sensors["lower"].t_s)


def test_combining_two_sources_of_one_role_is_refused(two_sensor_file: Path) -> None:
    url = f"replay://{two_sensor_file}"
    with pytest.raises(SourceURLError, match="two sources stream the same role: lower, upper"):
        combine_sources([open_source(url), open_source(url)])


def test_no_source_is_refused() -> None:
    with pytest.raises(SourceURLError, match="no source given"):
        open_sources([])


@asyncio_test
async def test_record_writes_what_the_source_streams(two_sensor_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.csv.gz"

    summary = await record([f"replay://{two_sensor_file}?speed=max"], out)

    original, copy = read_recording(two_sensor_file), read_recording(out)
    assert summary.samples == {role: len(b) for role, b in original.sensors.items()}
    for role, batch in original.sensors.items():
        np.testing.assert_allclose(copy.sensors[role].t_s, batch.t_s, atol=1e-6)
        np.testing.assert_allclose(copy.sensors[role].accel_mps2, batch.accel_mps2, rtol=1e-5)
    assert copy.meta["sensors"]["upper"] == {
        "source": f"replay://{two_sensor_file}?speed=max",
        "placement": "L1",
    }


@asyncio_test
async def test_record_duration_limits_the_recording(tmp_path: Path) -> None:
    out = tmp_path / "ten.csv"

    summary = await record(["sim://?seed=2&mode=dual&speed=max"], out, duration_s=10.0)

    # Cut at the duration, not at the end of the batch that crossed it (1 s at max speed).
    assert 10.0 - 0.05 < summary.duration_s <= 10.0
    recording = read_recording(out)
    assert recording.duration_s == pytest.approx(summary.duration_s, abs=0.2)


def test_record_command_stops_on_ctrl_c_and_leaves_a_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "live.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "processing.cli", "record", "sim://?seed=3&speed=5", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the recorder says so once rows are on disk
            if "Ctrl-C stops" in line:
                break
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == 0
    assert stdout.startswith(f"wrote {out}")
    assert len(read_recording(out).sensors) >= 1


def test_scan_table_lists_profile_name_address_rssi_and_url() -> None:
    found = [
        FoundSensor("WT901BLE68", "F1:00:00:00:00:01", -48, "witmotion"),
        FoundSensor(None, "F1:00:00:00:00:02", -71, "movesense"),
    ]

    lines = format_found(found)

    assert lines[0].split() == ["PROFILE", "NAME", "ADDRESS", "RSSI", "URL"]
    assert lines[1].split() == [
        "witmotion",
        "WT901BLE68",
        "F1:00:00:00:00:01",
        "-48",
        "dBm",
        "ble://F1:00:00:00:00:01?profile=witmotion",
    ]
    assert lines[2].split()[1] == "?"
    assert format_found([])[0].startswith("no supported sensor found")
