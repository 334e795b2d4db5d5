"""Encoders produce what the decoders read back (within one quantisation step), and the
GATT writes each profile sends are byte-exact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensor.profiles import PROFILES, get_profile
from sensor.profiles.base import DecodedFrame, Profile

G = 9.80665
DEG = math.pi / 180.0

#: One quantisation step (accel m/s^2, gyro rad/s, mag uT) from each device's documented
#: scale; ``None`` where the wire carries float32 (checked relatively instead).
STEPS: dict[str, tuple[float, float, float] | None] = {
    "witmotion": (16 / 32768 * G, 2000 / 32768 * DEG, 0.0),
    "movesense": None,
    "thingy52": (G / 1024, DEG / 32, 1 / 16),
    "backspotter": (8 / 32768 * G, 2000 / 32768 * DEG, 1 / 16),
}


def motion(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plausible lifting motion: accel within 3 g, gyro within 5 rad/s, field within 60 uT."""
    rng = np.random.default_rng(seed)
    accel = rng.uniform(-3 * G, 3 * G, (n, 3))
    gyro = rng.uniform(-5, 5, (n, 3))
    mag = rng.uniform(-60, 60, (n, 3))
    return accel, gyro, mag


def decode_all(profile: Profile, payloads: list[bytes]) -> list[DecodedFrame]:
    """Every payload through one fresh decoder."""
    decoder = profile.new_decoder()
    frames = [decoder.feed(p) for p in payloads]
    assert decoder.stats.bad_packets == 0
    return frames


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_encode_then_decode_is_within_one_step(name: str) -> None:
    profile = get_profile(name)
    accel, gyro, mag = motion(50, seed=len(name))
    mag_in = mag if profile.has_magnetometer else None
    frames = decode_all(profile, profile.encode(accel, gyro, mag_in, rate_hz=100))

    accel_out = np.concatenate([f.accel_mps2 for f in frames])
    gyro_out = np.concatenate([f.gyro_rps for f in frames])
    step = STEPS[name]
    if step is None:
        np.testing.assert_allclose(accel_out, accel, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(gyro_out, gyro, rtol=1e-6, atol=1e-7)
        return
    assert np.abs(accel_out - accel).max() <= step[0]
    assert np.abs(gyro_out - gyro).max() <= step[1]
    if mag_in is not None:
        mag_out = np.concatenate([f.mag_ut for f in frames if f.mag_ut is not None])
        assert np.abs(mag_out - mag).max() <= step[2]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_streaming_encoder_matches_one_shot_encode(name: str) -> None:
    profile = get_profile(name)
    accel, gyro, mag = motion(23, seed=3)
    mag_in = mag if profile.has_magnetometer else None
    encoder = profile.new_encoder(100, first_sequence=7, device_time_s=12.5)
    streamed: list[bytes] = []
    for i in range(len(accel)):
        one_mag = None if mag_in is None else mag_in[i : i + 1]
        streamed += encoder.encode(accel[i : i + 1], gyro[i : i + 1], one_mag)
    streamed += encoder.flush()
    one_shot = profile.encode(
        accel, gyro, mag_in, rate_hz=100, first_sequence=7, device_time_s=12.5
    )
    assert streamed == one_shot


def test_movesense_packets_carry_first_sample_time_in_ms() -> None:
    profile = get_profile("movesense")
    accel, gyro, _ = motion(12, seed=1)
    frames = decode_all(profile, profile.encode(accel, gyro, rate_hz=52, device_time_s=100.0))
    # 4 samples per notification at 52 Hz: 4 / 52 s = 76.923 ms between timestamps.
    assert [f.device_ticks for f in frames] == [100_000, 100_077, 100_154]
    assert [f.n_samples for f in frames] == [4, 4, 4]


def test_backspotter_sequence_and_microsecond_clock_wrap() -> None:
    profile = get_profile("backspotter")
    accel, gyro, _ = motion(12, seed=2)
    start_s = (2**32 - 15_000) * 1e-6
    frames = decode_all(
        profile,
        profile.encode(accel, gyro, rate_hz=100, first_sequence=65535, device_time_s=start_s),
    )
    # 100 Hz: 40 ms of samples (4) per notification, 10000 us apart.
    assert [f.sequence for f in frames] == [65535, 0, 1]
    assert [f.device_ticks for f in frames] == [2**32 - 15_000, 25_000, 65_000]
    assert {f.sample_period_s for f in frames} == {0.01}


def test_saturation_matches_the_firmware() -> None:
    big = np.array([[40 * G, -40 * G, 0.0]])
    spin = np.array([[40.0, -40.0, 0.0]])
    wit = decode_all(get_profile("witmotion"), get_profile("witmotion").encode(big, spin))[0]
    np.testing.assert_allclose(wit.accel_mps2[0, :2], [32767 / 2048 * G, -16 * G])
    thingy = get_profile("thingy52")
    frame = decode_all(thingy, thingy.encode(big, spin, big / G))[0]
    # m_motion.c clamps the integer part: +31 g, -32 g; +1023 deg/s, -1024 deg/s.
    np.testing.assert_allclose(frame.accel_mps2[0, :2], [31 * G, -32 * G])
    np.testing.assert_allclose(frame.gyro_rps[0, :2], [1023 * DEG, -1024 * DEG])


@pytest.mark.parametrize(
    ("name", "rate_hz", "expected"),
    [
        (
            "witmotion",
            50,
            [
                ("0000ffe9-0000-1000-8000-00805f9a34fb", "ffaa6988b5"),
                ("0000ffe9-0000-1000-8000-00805f9a34fb", "ffaa030800"),
            ],
        ),
        (
            "witmotion",
            100,
            [
                ("0000ffe9-0000-1000-8000-00805f9a34fb", "ffaa6988b5"),
                ("0000ffe9-0000-1000-8000-00805f9a34fb", "ffaa030900"),
            ],
        ),
        (
            "movesense",
            52,
            [("34800001-7185-4d5d-b431-630e7050e8f0", "014d" + b"/Meas/IMU6/52".hex())],
        ),
        # pedometer 1000 ms, temperature 500 ms, compass 500 ms, 50 Hz, wake on motion
        ("thingy52", 50, [("ef680401-9b35-4933-9b10-52ffa9740042", "e803f401f401320001")]),
        # START, 100 Hz, +-8 g, +-2000 deg/s
        ("backspotter", 100, [("95c90003-9b3e-4776-bc69-21b9d89c9398", "01640008d007")]),
    ],
)
def test_start_commands_are_byte_exact(
    name: str, rate_hz: float, expected: list[tuple[str, str]]
) -> None:
    writes = get_profile(name).start_commands(rate_hz)
    assert [(uuid, data.hex()) for uuid, data in writes] == expected


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_device_understands_our_start_and_stop(name: str) -> None:
    profile = get_profile(name)
    rate = profile.snap_rate_hz(100)
    commands = [profile.parse_write(uuid, data) for uuid, data in profile.start_commands(rate)]
    assert commands[-1].rate_hz == rate
    assert commands[-1].action in ("start", "configure")
    for uuid, data in profile.stop_commands():
        assert profile.parse_write(uuid, data).action == "stop"
    assert profile.parse_write(profile.notify_uuid, b"\x00").action == "unknown"


def test_movesense_subscribe_is_answered_and_tagged() -> None:
    profile = get_profile("movesense")
    command = profile.parse_write(*profile.start_commands(208)[0])
    assert (command.action, command.rate_hz, command.stream_id) == ("start", 208.0, 0x4D)
    assert command.replies == (bytes.fromhex("014dc800"),)
    assert profile.parse_write(profile.write_uuid or "", b"\x01\x4d/Meas/IMU6/50").action == (
        "unknown"
    )


def test_rates_snap_to_what_the_device_supports() -> None:
    assert get_profile("witmotion").snap_rate_hz(60) == 50
    assert get_profile("movesense").snap_rate_hz(100) == 104
    assert get_profile("thingy52").snap_rate_hz(500) == 200
    assert get_profile("backspotter").snap_rate_hz(None) == 100


@pytest.mark.parametrize(
    ("name", "adv_name", "uuids", "expected"),
    [
        ("witmotion", "WT901BLE68", [], True),
        ("witmotion", None, ["0000FFE5-0000-1000-8000-00805F9A34FB"], True),
        # The SIG base (9b34fb) is a different UUID.
        ("witmotion", None, ["0000ffe5-0000-1000-8000-00805f9b34fb"], False),
        ("movesense", "Movesense 174630000192", [], True),
        ("thingy52", "Thingy", [], True),
        ("thingy52", "my-thingy", ["EF680100-9B35-4933-9B10-52FFA9740042"], True),
        ("thingy52", "Polar H10", ["0000180d-0000-1000-8000-00805f9b34fb"], False),
        ("backspotter", "ESP32", ["95c90001-9b3e-4776-bc69-21b9d89c9398"], True),
    ],
)
def test_scan_matching(name: str, adv_name: str | None, uuids: list[str], expected: bool) -> None:
    assert get_profile(name).matches(adv_name, uuids) is expected


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="backspotter, movesense, thingy52, witmotion"):
        get_profile("polar")
