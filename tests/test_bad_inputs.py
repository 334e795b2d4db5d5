"""Wrong inputs are refused or reported, never measured silently (issue 11, items 2, 3, 6, 7)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
from brokers import MosquittoBroker
from mqtt_subscriber import Received, Subscriber

from processing.commands.replay import replay_url
from processing.live.outbox import outbox_path_for
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.wire.mqtt_url import BrokerURL
from processing.wire.schemas import validator
from sensor.exc import DeviceError, SourceURLError
from sensor.plausible import drop_impossible
from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import open_sources

FIXTURE = Path(__file__).parents[1] / "fixtures" / "dual_conventional_mixed.csv.gz"


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """``backspotter analyze`` in a fresh process, as a user runs it."""
    command = [sys.executable, "-m", "processing.cli", "analyze", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def fixture_lines() -> list[str]:
    """The fixture's CSV lines (header first)."""
    return gzip.decompress(FIXTURE.read_bytes()).decode().splitlines(keepends=True)


def with_gyro_spike(tmp_path: Path, value: str) -> Path:
    """The fixture with ``gx`` of one mid-set row replaced by ``value``."""
    lines = fixture_lines()
    header = lines[0].strip().split(",")
    row = next(i for i, line in enumerate(lines[1:], 1) if float(line.split(",")[0]) >= 45.0)
    fields = lines[row].rstrip("\n").split(",")
    fields[header.index("gx")] = value
    lines[row] = ",".join(fields) + "\n"
    path = tmp_path / "spike.csv"
    path.write_text("".join(lines))
    return path


def peaks(result: dict[str, object]) -> list[float]:
    """Every rep's peak angle."""
    return [r["peak_flexion_deg"] for s in result["sets"] for r in s["reps"]]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize("value", ["1000", "1e39"])
def test_an_impossible_gyro_sample_is_dropped_counted_and_harmless(
    tmp_path: Path, value: str
) -> None:
    clean = json.loads(analyze(str(FIXTURE), "--json").stdout)
    done = analyze(str(with_gyro_spike(tmp_path, value)), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dropped_samples"] == 1 and clean["dropped_samples"] == 0
    assert "1 impossible sample(s) dropped" in done.stderr
    assert np.allclose(peaks(result), peaks(clean), atol=1.0)
    table = analyze(str(with_gyro_spike(tmp_path, value)))
    assert "1 impossible sample(s) dropped" in table.stdout


def test_drop_impossible_uses_the_default_full_scale() -> None:
    accel = np.array([[0, 0, 9.81], [0, 0, 16 * 9.80665], [0, 0, 200.0], [0, 0, 9.8]])
    gyro = np.array([[0, 0, 0], [34.9, 0, 0], [0, 0, 0], [np.nan, 0, 0]])
    batch = SampleBatch("upper", np.arange(4.0), accel, gyro)
    kept, dropped = drop_impossible(batch)
    assert dropped == 2 and kept.t_s.tolist() == [0.0, 1.0]


def test_a_truncated_gzip_recording_says_so(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(FIXTURE.read_bytes()[: FIXTURE.stat().st_size // 2])
    done = analyze(str(cut), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["truncated"] is True
    assert "the file is cut short" in done.stderr
    assert json.loads(analyze(str(FIXTURE), "--json").stdout)["truncated"] is False


def with_roles(tmp_path: Path, keep: set[str], rename: dict[str, str]) -> Path:
    """The fixture with only the rows of ``keep`` roles, renamed by ``rename``."""
    lines = fixture_lines()
    role = lines[0].strip().split(",").index("sensor")
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        if fields[role] in keep:
            fields[role] = rename.get(fields[role], fields[role])
            out.append(",".join(fields))
    path = tmp_path / "roles.csv"
    path.write_text("".join(out))
    return path


def test_a_lower_sensor_alone_is_refused(tmp_path: Path) -> None:
    done = analyze(str(with_roles(tmp_path, {"lower"}, {})))
    assert done.returncode == 2
    assert "lower (sacrum) sensor alone measures only pelvis tilt" in done.stderr
    assert "upper + lower: lumbar flexion" in done.stderr


def test_an_unknown_role_is_refused_not_dropped(tmp_path: Path) -> None:
    path = with_roles(tmp_path, {"upper", "lower"}, {"lower": "hips"})
    done = analyze(str(path))
    assert done.returncode == 2 and "unknown sensor role(s) hips" in done.stderr
    with pytest.raises(SourceURLError, match="unknown sensor role"):
        open_sources([replay_url(path, "max")])


def ended(messages: list[Received]) -> bool:
    """The service stopped cleanly: the status says ended."""
    return any(m.json().get("state") == "ended" for m in messages if m.topic.endswith("status"))


@pytest.mark.asyncio
async def test_a_replay_reports_dropped_samples_and_a_cut_file_in_status_and_store(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    spiked = with_gyro_spike(tmp_path, "1000").read_bytes()
    cut = tmp_path / "bad.csv.gz"
    cut.write_bytes(gzip.compress(spiked)[: len(gzip.compress(spiked)) * 2 // 3])
    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/status")
    db = tmp_path / "s.sqlite3"
    spec = LifterSpec(unique_lifter, (replay_url(cut, "max"),))
    config = ServiceConfig(
        (spec,), BrokerURL.parse(mosquitto.url), db, outbox_path_for(db), embedded_broker=False
    )
    await Service(config).run()
    messages = await subscriber.until(ended, what="ended status")
    statuses = [m.json() for m in messages]
    for status in statuses:
        validator("status").validate(status)
    assert statuses[-1]["dropped_samples"] == 1
    row = sqlite3.connect(db).execute("SELECT dropped_samples, truncated FROM sessions")
    assert row.fetchall() == [(1, 1)]


class _NoAdapterSource:
    """A Bluetooth source on a machine without an adapter: it fails before any sample."""

    roles = ("upper", "lower")
    dropped_samples = 0
    truncated = False

    async def stream(self) -> AsyncIterator[SampleBatch | SensorStatus]:
        raise DeviceError("Bluetooth is not available: [Errno 2] No such file or directory")
        yield  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.mark.asyncio
async def test_a_source_that_never_starts_stores_no_session(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    config = ServiceConfig((LifterSpec("nobody", ("ble://x",)),), db=db)
    with pytest.raises(DeviceError):
        await Service(config, source_factory=lambda spec: _NoAdapterSource()).run()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_a_bluetooth_start_without_adapter_says_what_to_do_and_exits_1(tmp_path: Path) -> None:
    # No BlueZ on the D-Bus of this process: bleak cannot reach an adapter.
    env = {"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"}
    db = tmp_path / "s.sqlite3"
    command = [sys.executable, "-m", "processing.cli", "run", "--no-mqtt", "--db", str(db)]
    command += ["--source", "ble://AA:BB:CC:DD:EE:FF?profile=witmotion&role=upper"]
    command += ["--source", "ble://AA:BB:CC:DD:EE:01?profile=witmotion&role=lower"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1, done.stderr
    assert "no Bluetooth adapter found: is bluetoothd running" in done.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM sessions").fetchone() == (0,)
