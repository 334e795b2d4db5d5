"""Decoding notifications in batches (``feed_many``, as the BLE link does once per event-loop
pass) gives exactly what feeding them one by one gives: the same samples per notification,
the same frame fields, the same counts of bad packets, and the same sample times."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_profiles_fuzz import GARBAGE, valid_notifications
from test_profiles_golden import notifications

from sensor.ble.client import SensorLink
from sensor.ble.config import BleBackend, SensorSpec
from sensor.profiles import PROFILES, DecodedFrames, get_profile
from sensor.profiles.base import DecodedFrame
from sensor.timebase import Timebase

FUZZ = settings(max_examples=150, deadline=None)
GOLDEN = {
    "witmotion": "witmotion_bwt901blecl5.hex",
    "movesense": "movesense_imu6_52hz.hex",
    "thingy52": "thingy52_raw.hex",
    "backspotter": "backspotter_v1.hex",
}
#: Samples per notification of each golden file, read from the fixtures' comments.
GOLDEN_COUNTS = {
    "witmotion": [1, 2, 0, 0, 1],
    "movesense": [0, 4, 0, 4],
    "thingy52": [1, 1],
    "backspotter": [2, 1, 1],
}


def split(payloads: list[bytes], cuts: list[int]) -> list[list[bytes]]:
    """``payloads`` cut into consecutive batches at the given indices."""
    bounds = [0, *sorted(set(cuts)), len(payloads)]
    return [payloads[a:b] for a, b in itertools.pairwise(bounds)]


def one_by_one(name: str, payloads: list[bytes]) -> tuple[list[DecodedFrame], dict[str, int]]:
    """Every payload fed alone to one decoder, and its stats."""
    decoder = get_profile(name).new_decoder()
    return [decoder.feed(p) for p in payloads], decoder.stats.as_dict()


def in_batches(
    name: str, batches: list[list[bytes]]
) -> tuple[list[DecodedFrames], list[DecodedFrame], dict[str, int]]:
    """Every batch fed with ``feed_many`` to one decoder: the batches, their frames, the stats."""
    decoder = get_profile(name).new_decoder()
    decoded = [decoder.feed_many(batch) for batch in batches]
    frames = [frame for batch in decoded for frame in batch.frames()]
    return decoded, frames, decoder.stats.as_dict()


def assert_same_frame(got: DecodedFrame, want: DecodedFrame) -> None:
    """Same samples bit for bit, same magnetometer presence, same frame-level fields."""
    np.testing.assert_array_equal(got.accel_mps2, want.accel_mps2)
    np.testing.assert_array_equal(got.gyro_rps, want.gyro_rps)
    assert (got.mag_ut is None) == (want.mag_ut is None)
    if got.mag_ut is not None:
        np.testing.assert_array_equal(got.mag_ut, want.mag_ut)
    assert got[3:] == want[3:]  # sequence, device ticks, period, fingerprint


def assert_batches_match(name: str, payloads: list[bytes], cuts: list[int]) -> None:
    """Decoding ``payloads`` in the batches ``cuts`` makes equals decoding them one by one."""
    single, single_stats = one_by_one(name, payloads)
    decoded, frames, batch_stats = in_batches(name, split(payloads, cuts))
    assert len(frames) == len(payloads)
    for got, want in zip(frames, single, strict=True):
        assert_same_frame(got, want)
    assert batch_stats == single_stats
    assert sum(batch.n_samples for batch in decoded) == batch_stats["samples"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_bytes_decode_the_same_in_one_batch(name: str) -> None:
    payloads = notifications(GOLDEN[name])
    decoder = get_profile(name).new_decoder()
    batch = decoder.feed_many(payloads)

    assert batch.counts == GOLDEN_COUNTS[name]
    assert batch.n_samples == sum(GOLDEN_COUNTS[name]) == decoder.stats.samples
    assert decoder.stats.packets == len(payloads)
    assert decoder.stats.bad_packets == 0
    assert_batches_match(name, payloads, [])


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_bytes_decode_the_same_in_every_split(name: str) -> None:
    payloads = notifications(GOLDEN[name])
    inner = range(1, len(payloads))
    for k in range(len(payloads)):
        for cuts in itertools.combinations(inner, k):
            assert_batches_match(name, payloads, list(cuts))


def test_backspotter_batch_mixing_packets_with_and_without_magnetometer() -> None:
    profile = get_profile("backspotter")
    rng = np.random.default_rng(3)
    accel, gyro, mag = (rng.uniform(-20, 20, (8, 3)) for _ in range(3))
    plain = profile.encode(accel[:4], gyro[:4], rate_hz=100)
    magged = profile.encode(accel[4:], gyro[4:], mag[4:], rate_hz=100, first_sequence=1)
    payloads = [plain[0], magged[0], b"\x01garbage", plain[0]]

    batch = profile.new_decoder().feed_many(payloads)

    assert batch.counts == [4, 4, 0, 4]
    frames = list(batch.frames())
    assert frames[0].mag_ut is None and frames[3].mag_ut is None
    assert frames[1].mag_ut is not None
    assert np.abs(frames[1].mag_ut - mag[4:]).max() <= 1 / 32  # half a 1/16 uT count
    assert_batches_match("backspotter", payloads, [])


def test_an_empty_batch_decodes_to_nothing() -> None:
    decoder = get_profile("witmotion").new_decoder()
    batch = decoder.feed_many([])
    assert (len(batch.counts), batch.n_samples, decoder.stats.packets) == (0, 0, 0)


@st.composite
def batched_stream(draw: st.DrawFn) -> tuple[str, list[bytes], list[int]]:
    """Valid notifications mixed with garbage, random bytes and repeats, and batch cuts."""
    name = draw(st.sampled_from(sorted(PROFILES)))
    seed = draw(st.integers(0, 2**31))
    valid = valid_notifications(name, seed, 4 * draw(st.integers(1, 12)))
    payloads: list[bytes] = []
    for notification in valid:
        kind = draw(st.sampled_from(["valid", "valid", "garbage", "random", "repeat"]))
        if kind == "garbage":
            payloads.append(GARBAGE[name](draw, notification))
        elif kind == "random":
            payloads.append(draw(st.binary(max_size=80)))
        elif kind == "repeat" and payloads:
            payloads.append(payloads[-1])
        payloads.append(notification)
    cuts = draw(st.lists(st.integers(1, max(1, len(payloads) - 1)), max_size=len(payloads)))
    return name, payloads, cuts


@FUZZ
@given(case=batched_stream())
def test_any_batching_of_any_stream_decodes_the_same(
    case: tuple[str, list[bytes], list[int]],
) -> None:
    name, payloads, cuts = case
    assert_batches_match(name, payloads, cuts)


@FUZZ
@given(case=batched_stream(), step_s=st.sampled_from([0.002, 0.01, 0.04]))
def test_any_batching_places_the_same_sample_times(
    case: tuple[str, list[bytes], list[int]], step_s: float
) -> None:
    name, payloads, cuts = case
    profile = get_profile(name)
    arrivals_s = [10.0 + step_s * i for i in range(len(payloads))]
    single, _ = one_by_one(name, payloads)
    _, frames, _ = in_batches(name, split(payloads, cuts))
    alone, batched = Timebase("lumbar", profile), Timebase("lumbar", profile)
    for one, many, arrival_s in zip(single, frames, arrivals_s, strict=True):
        want, got = alone.place(one, arrival_s), batched.place(many, arrival_s)
        assert (got.duplicate, got.gap) == (want.duplicate, want.gap)
        assert (got.batch is None) == (want.batch is None)
        if got.batch is not None and want.batch is not None:
            np.testing.assert_array_equal(got.batch.t_s, want.batch.t_s)


async def one_loop_pass() -> None:
    """Return once the callbacks queued before this call have run (the loop runs them FIFO)."""
    loop = asyncio.get_running_loop()
    passed = loop.create_future()
    loop.call_soon(passed.set_result, None)
    await passed


@pytest.mark.asyncio
async def test_link_decodes_every_notification_of_one_loop_pass_in_one_batch() -> None:
    profile = get_profile("thingy52")
    payloads = profile.encode(np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((5, 3)))
    ticks = itertools.count()
    received: list[tuple[list[int], list[float]]] = []
    link = SensorLink(
        SensorSpec("Thingy", profile),
        lambda: float(next(ticks)),
        lambda frames, arrivals_s: received.append((frames.counts, list(arrivals_s))),
        BleBackend(),
    )
    notify = link._on_notification  # the callback bleak calls for each notification
    for payload in payloads[:3]:
        notify(None, bytearray(payload))  # type: ignore[arg-type]
    await one_loop_pass()
    for payload in payloads[3:]:
        notify(None, bytearray(payload))  # type: ignore[arg-type]
    await one_loop_pass()

    assert received == [([1, 1, 1], [0.0, 1.0, 2.0]), ([1, 1], [3.0, 4.0])]
    assert link.decoder_stats.packets == 5
