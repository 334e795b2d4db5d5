"""Decoders never raise, count every bad notification, and keep decoding valid ones after
garbage; the WitMotion stream decoder re-frames any split of its byte stream."""

from __future__ import annotations

import itertools
import math
import struct

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sensor.profiles import PROFILES, get_profile
from sensor.profiles.base import DecodedFrame, Decoder

FUZZ = settings(max_examples=150, deadline=None)
NAMES = st.sampled_from(sorted(PROFILES))


def valid_notifications(name: str, seed: int, n_samples: int) -> list[bytes]:
    """Notifications of ``name`` for random motion (full packets only)."""
    profile = get_profile(name)
    rng = np.random.default_rng(seed)
    accel = rng.uniform(-30, 30, (n_samples, 3))
    gyro = rng.uniform(-8, 8, (n_samples, 3))
    mag = rng.uniform(-60, 60, (n_samples, 3)) if profile.has_magnetometer else None
    encoder = profile.new_encoder(100, first_sequence=seed % 65536, device_time_s=seed % 1000)
    return encoder.encode(accel, gyro, mag)


def feed_all(decoder: Decoder, payloads: list[bytes]) -> list[DecodedFrame]:
    """Feed every payload, checking each result is well formed."""
    frames = []
    for payload in payloads:
        frame = decoder.feed(payload)
        for block in (frame.accel_mps2, frame.gyro_rps, frame.mag_ut):
            if block is not None:
                assert block.shape == (frame.n_samples, 3)
                assert np.isfinite(block).all()
        frames.append(frame)
    return frames


def samples_of(frames: list[DecodedFrame]) -> np.ndarray:
    """All accel and gyro samples of ``frames`` side by side."""
    blocks = [np.hstack([f.accel_mps2, f.gyro_rps]) for f in frames if f.n_samples]
    return np.concatenate(blocks) if blocks else np.zeros((0, 6))


@FUZZ
@given(name=NAMES, payloads=st.lists(st.binary(max_size=300), max_size=30))
def test_random_bytes_never_raise(name: str, payloads: list[bytes]) -> None:
    decoder = get_profile(name).new_decoder()
    frames = feed_all(decoder, payloads)
    stats = decoder.stats
    assert stats.packets == len(payloads)
    assert stats.samples == sum(f.n_samples for f in frames)
    assert stats.bad_packets <= stats.packets


def _garbage_movesense(draw: st.DrawFn, valid: bytes) -> bytes:
    """A notification the SensorData protocol cannot accept."""
    kind = draw(st.sampled_from(["type", "nan", "part2", "cut", "empty", "joined"]))
    if kind == "type":
        return bytes([draw(st.integers(4, 255))]) + draw(st.binary(max_size=120))
    if kind == "nan":
        return valid[:6] + struct.pack("<f", math.nan) + valid[10:]
    if kind == "part2":
        return b"\x03" + draw(st.binary(max_size=120))
    if kind == "cut":
        cut = draw(st.integers(7, len(valid) - 1).filter(lambda c: (c - 6) % 24 != 0))
        return valid[:cut]
    return b"" if kind == "empty" else valid + valid


def _garbage_backspotter(draw: st.DrawFn, valid: bytes) -> bytes:
    """A version-1 packet with one header field broken, cut short or doubled."""
    offset, value = draw(
        st.sampled_from([(0, 2), (0, 0), (1, 0x80), (12, 0), (12, 200), (13, 3), (14, 7)])
    )
    kind = draw(st.sampled_from(["field", "cut", "joined"]))
    if kind == "field":
        return valid[:offset] + bytes([value]) + valid[offset + 1 :]
    if kind == "cut":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    return valid + valid


def _garbage_witmotion(draw: st.DrawFn, valid: bytes) -> bytes:
    """Bytes with no frame header in them, or a frame cut short."""
    if draw(st.booleans()):
        return draw(st.binary(min_size=1, max_size=60).filter(lambda b: 0x55 not in b))
    body = draw(st.binary(max_size=17).filter(lambda b: 0x55 not in b))
    return b"\x55\x61" + body


def _garbage_thingy52(draw: st.DrawFn, valid: bytes) -> bytes:
    """Anything but 18 bytes."""
    return draw(st.binary(max_size=60).filter(lambda b: len(b) != 18))


GARBAGE = {
    "movesense": _garbage_movesense,
    "backspotter": _garbage_backspotter,
    "witmotion": _garbage_witmotion,
    "thingy52": _garbage_thingy52,
}


@st.composite
def stream_with_garbage(draw: st.DrawFn) -> tuple[str, list[bytes], list[bool]]:
    """Valid notifications with garbage after some of them (each garbage followed by a valid)."""
    name = draw(NAMES)
    valid = valid_notifications(name, draw(st.integers(0, 2**31)), 4 * draw(st.integers(2, 10)))
    payloads, is_garbage = [valid[0]], [False]
    for notification in valid[1:]:
        if draw(st.booleans()):
            payloads.append(GARBAGE[name](draw, payloads[-1]))
            is_garbage.append(True)
        payloads.append(notification)
        is_garbage.append(False)
    return name, payloads, is_garbage


@FUZZ
@given(case=stream_with_garbage())
def test_valid_notifications_survive_garbage(case: tuple[str, list[bytes], list[bool]]) -> None:
    name, payloads, is_garbage = case
    if name == "witmotion":
        # A cut frame is only known to be cut when the next frame fails to line up with it.
        for (bad, after), garbage in zip(itertools.pairwise(payloads), is_garbage, strict=False):
            rest = after[20 - len(bad) :]
            lines_up = rest in (b"", b"\x55") or rest[:2] in (b"\x55\x61", b"\x55\x71")
            assume(not (garbage and bad[:1] == b"\x55" and lines_up))
    clean = samples_of(
        feed_all(
            get_profile(name).new_decoder(),
            [p for p, g in zip(payloads, is_garbage, strict=True) if not g],
        )
    )
    decoder = get_profile(name).new_decoder()
    frames = feed_all(decoder, payloads)

    np.testing.assert_array_equal(samples_of(frames), clean)
    assert decoder.stats.bad_packets == sum(is_garbage)


@st.composite
def split_stream(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """WitMotion frames and register replies as one byte stream, cut at random points."""
    frames = valid_notifications("witmotion", draw(st.integers(0, 2**31)), draw(st.integers(1, 12)))
    reply = bytes.fromhex("5571030008000000000000000000000000000000")
    parts = [reply if draw(st.booleans()) and i % 3 == 0 else f for i, f in enumerate(frames)]
    stream = b"".join(parts)
    cuts = sorted(draw(st.sets(st.integers(1, len(stream) - 1), max_size=8)))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    # A chunk that starts mid-frame with bytes that look like a header is ambiguous.
    for start in cuts:
        assume(start % 20 == 0 or stream[start : start + 2] not in (b"\x55\x61", b"\x55\x71"))
    return stream, chunks


@FUZZ
@given(case=split_stream())
def test_witmotion_reframes_any_split_and_merge(case: tuple[bytes, list[bytes]]) -> None:
    stream, chunks = case
    whole = get_profile("witmotion").new_decoder()
    split = get_profile("witmotion").new_decoder()
    expected = samples_of(feed_all(whole, [stream]))
    np.testing.assert_array_equal(samples_of(feed_all(split, chunks)), expected)
    assert split.stats.bad_packets == 0
    assert split.stats.replies == whole.stats.replies
    assert split.stats.samples == len(expected) == len(stream) // 20 - whole.stats.replies


@FUZZ
@given(name=NAMES, seed=st.integers(0, 2**31), data=st.data())
def test_concatenated_fixed_layout_notifications_are_bad(
    name: str, seed: int, data: st.DataObject
) -> None:
    assume(name != "witmotion")  # WitMotion is a byte stream: concatenation is legal
    valid = valid_notifications(name, seed, 12)
    joined = data.draw(st.integers(0, len(valid) - 2))
    payloads = [*valid[:joined], valid[joined] + valid[joined + 1], *valid[joined + 2 :], valid[0]]
    decoder = get_profile(name).new_decoder()
    feed_all(decoder, payloads)
    assert decoder.stats.bad_packets == 1
