"""Golden device bytes decode to the values the vendors' documented scale factors give.

Expected values are computed here by hand from the raw integers written in each fixture's
comments and the documented scales; they never come from the decoders under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sensor.profiles import get_profile

DEVICES = Path(__file__).parent / "data" / "devices"
G = 9.80665
DEG = math.pi / 180.0


def notifications(name: str) -> list[bytes]:
    """The notifications of a fixture file, one hex line each, comments skipped."""
    lines = (DEVICES / name).read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line.strip() and not line.startswith("#")]


def test_witmotion_frames_replies_and_split_frames() -> None:
    decoder = get_profile("witmotion").new_decoder()
    frames = [decoder.feed(payload) for payload in notifications("witmotion_bwt901blecl5.hex")]

    acc_lsb, gyro_lsb = 16 / 32768 * G, 2000 / 32768 * DEG
    np.testing.assert_allclose(frames[0].accel_mps2, [[0, 0, 2048 * acc_lsb]])
    np.testing.assert_allclose(frames[0].gyro_rps, [[16 * gyro_lsb, 0, 0]])
    np.testing.assert_allclose(
        frames[1].accel_mps2, np.array([[-2048, 1024, 2048], [32767, -32768, 0]]) * acc_lsb
    )
    np.testing.assert_allclose(
        frames[1].gyro_rps, np.array([[0, -164, 328], [32767, -32768, 1]]) * gyro_lsb
    )
    assert frames[2].n_samples == 0  # the 55 71 register reply
    assert frames[3].n_samples == 0  # first 7 bytes of a split frame
    np.testing.assert_allclose(frames[4].accel_mps2, frames[0].accel_mps2)
    assert frames[0].accel_mps2[0, 2] == pytest.approx(G)
    assert frames[0].mag_ut is None and frames[0].device_ticks is None
    stats = decoder.stats.as_dict()
    assert stats == {
        "packets": 5,
        "samples": 4,
        "bad_packets": 0,
        "resyncs": 0,
        "skipped_bytes": 0,
        "replies": 1,
    }


def test_movesense_imu6_is_array_major_with_millisecond_clock() -> None:
    decoder = get_profile("movesense").new_decoder()
    frames = [decoder.feed(payload) for payload in notifications("movesense_imu6_52hz.hex")]

    acc = [0.5, -0.25, 9.8125, 0.0, 1.5, 9.75, -1.0, 2.0, 9.5, 0.125, 0.0, 10.0]
    gyro_dps = [90.0, 0.0, -45.0, 1.5, 2.5, -3.5, 0.0, 0.0, 0.0, 180.0, -180.0, 360.0]
    assert frames[0].n_samples == 0  # COMMAND_RESULT 200
    np.testing.assert_allclose(frames[1].accel_mps2, np.reshape(acc, (4, 3)))
    np.testing.assert_allclose(frames[1].gyro_rps, np.reshape(gyro_dps, (4, 3)) * DEG)
    assert frames[1].device_ticks == 1_000_000
    assert frames[1].gyro_rps[0, 0] == pytest.approx(math.pi / 2)
    # DATA + DATA_PART2: the second message (each block reversed), decoded once joined.
    assert frames[2].n_samples == 0
    np.testing.assert_allclose(frames[3].accel_mps2, np.reshape(acc[::-1], (4, 3)))
    np.testing.assert_allclose(frames[3].gyro_rps, np.reshape(gyro_dps[::-1], (4, 3)) * DEG)
    assert frames[3].device_ticks == 1_000_077
    assert decoder.stats.replies == 1
    assert decoder.stats.samples == 8
    assert decoder.stats.bad_packets == 0


def test_thingy52_raw_motion_q_formats() -> None:
    decoder = get_profile("thingy52").new_decoder()
    first, second = (decoder.feed(p) for p in notifications("thingy52_raw.hex"))

    np.testing.assert_allclose(first.accel_mps2, [[0, 0, G]])
    np.testing.assert_allclose(first.gyro_rps, [[1 * DEG, -2 * DEG, 0]])
    assert first.mag_ut is not None
    np.testing.assert_allclose(first.mag_ut, [[50, -10, 1]])
    np.testing.assert_allclose(second.accel_mps2, [[-0.5 * G, 0.25 * G, 1023 / 1024 * G]])
    np.testing.assert_allclose(second.gyro_rps, [[0, 0, 32767 / 32 * DEG]])
    assert second.mag_ut is not None
    np.testing.assert_allclose(second.mag_ut, [[0, 0, -2048]])


def test_backspotter_v1_header_fields_and_wraps() -> None:
    decoder = get_profile("backspotter").new_decoder()
    first, second, third = (decoder.feed(p) for p in notifications("backspotter_v1.hex"))

    acc8, gyro2000 = 8 / 32768 * G, 2000 / 32768 * DEG
    np.testing.assert_allclose(first.accel_mps2, np.array([[0, 0, 4096], [100, -200, 4000]]) * acc8)
    np.testing.assert_allclose(first.gyro_rps, np.array([[16384, 0, -16384], [0, 0, 1]]) * gyro2000)
    assert first.accel_mps2[0, 2] == pytest.approx(G)
    assert first.gyro_rps[0, 0] == pytest.approx(1000 * DEG)
    assert (first.sequence, first.device_ticks, first.sample_period_s) == (65535, 4294967000, 0.01)
    assert (second.sequence, second.device_ticks) == (0, 19704)
    np.testing.assert_allclose(second.gyro_rps, [[0, 32767 * gyro2000, 0]])
    assert third.mag_ut is not None
    np.testing.assert_allclose(third.accel_mps2, [[2048 * 16 / 32768 * G, 0, 0]])
    np.testing.assert_allclose(third.gyro_rps, [[0, 0, 131 * 250 / 32768 * DEG]])
    np.testing.assert_allclose(third.mag_ut, [[50, -10, 1]])
    assert third.sample_period_s == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("name", "fixture"),
    [
        ("witmotion", "witmotion_bwt901blecl5.hex"),
        ("movesense", "movesense_imu6_52hz.hex"),
        ("thingy52", "thingy52_raw.hex"),
        ("backspotter", "backspotter_v1.hex"),
    ],
)
def test_golden_bytes_are_never_counted_bad(name: str, fixture: str) -> None:
    decoder = get_profile(name).new_decoder()
    for payload in notifications(fixture):
        decoder.feed(payload)
    assert decoder.stats.bad_packets == 0
    assert decoder.stats.skipped_bytes == 0
