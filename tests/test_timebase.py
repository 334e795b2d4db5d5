"""Sample times on the host clock: counter wraps, lost packets as gaps, bursts re-spaced,
drift, duplicate deliveries after a reconnect, and two independent clocks aligned.

The sensors here are the profiles' own encoders driven by a simulated radio: each sample is
taken at a known host time, notifications leave at connection events (so several arrive
together) and a few milliseconds later reach the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from sensor.profiles import get_profile
from sensor.timebase import CounterUnwrapper, Gap, Timebase


@dataclass
class Link:
    """How notifications travel: connection interval, latency and outages (host seconds)."""

    ci_s: float = 0.03
    phase_s: float = 0.0
    latency_s: float = 0.004
    drop: tuple[float, float] | None = None
    #: Notifications ready in this window wait for its end (a stall, then a backlog).
    stall: tuple[float, float] | None = None
    seed: int = 0


@dataclass
class Delivered:
    """Notifications with their host arrival times and the true host time of each sample."""

    payloads: list[bytes] = field(default_factory=list)
    arrivals_s: list[float] = field(default_factory=list)
    truth_s: list[np.ndarray] = field(default_factory=list)


def transmit(
    name: str,
    seconds: float,
    rate_hz: float,
    link: Link,
    *,
    rate_error: float = 0.0,
    device_time_s: float = 0.0,
    first_sequence: int = 0,
    start_s: float = 100.0,
) -> Delivered:
    """Simulate a sensor whose clock runs ``rate_error`` fast, streaming over ``link``."""
    profile = get_profile(name)
    rate_hz = profile.snap_rate_hz(rate_hz)
    n = round(seconds * rate_hz)
    sample_s = start_s + np.arange(n) / (rate_hz * (1 + rate_error))
    rng = np.random.default_rng(link.seed)
    accel, gyro = rng.normal(0, 3, (n, 3)), rng.normal(0, 1, (n, 3))
    mag = rng.normal(0, 40, (n, 3)) if profile.has_magnetometer else None
    encoder = profile.new_encoder(
        rate_hz, first_sequence=first_sequence, device_time_s=device_time_s
    )
    out, first = Delivered(), 0
    for k in range(n):
        one_mag = None if mag is None else mag[k : k + 1]
        for payload in encoder.encode(accel[k : k + 1], gyro[k : k + 1], one_mag):
            ready = sample_s[k]
            truth, first = sample_s[first : k + 1], k + 1
            if link.drop and link.drop[0] <= ready < link.drop[1]:
                continue
            if link.stall and link.stall[0] <= ready < link.stall[1]:
                ready = link.stall[1]
            events = np.ceil((ready - link.phase_s) / link.ci_s)
            arrival = link.phase_s + events * link.ci_s + link.latency_s
            out.payloads.append(payload)
            out.arrivals_s.append(arrival + rng.uniform(0, 0.0005))
            out.truth_s.append(truth)
    return out


@dataclass
class Placed:
    """What a timebase made of a delivery: sample times, their truth, gaps, duplicates."""

    t_s: np.ndarray
    truth_s: np.ndarray
    gaps: list[Gap]
    duplicates: int


def place_all(name: str, delivered: Delivered, rate_hz: float, *, twice: bool = False) -> Placed:
    """Decode and place every notification (each one twice when ``twice``)."""
    profile = get_profile(name)
    decoder, timebase = profile.new_decoder(), Timebase("lumbar", profile, rate_hz)
    times, truths, gaps, duplicates = [], [], [], 0
    for payload, arrival, truth in zip(
        delivered.payloads, delivered.arrivals_s, delivered.truth_s, strict=True
    ):
        for copy in range(2 if twice else 1):
            placement = timebase.place(decoder.feed(payload), arrival + copy * 1e-5)
            duplicates += placement.duplicate
            if placement.gap:
                gaps.append(placement.gap)
            if placement.batch is not None:
                times.append(placement.batch.t_s)
                truths.append(truth)
    t_s = np.concatenate(times)
    assert np.all(np.diff(t_s) > 0), "sample times must strictly increase"
    return Placed(t_s, np.concatenate(truths), gaps, duplicates)


def settled_error_s(placed: Placed, after_s: float = 3.0) -> np.ndarray:
    """Host time minus true time of every sample later than ``after_s`` into the stream."""
    keep = placed.truth_s >= placed.truth_s[0] + after_s
    error: np.ndarray = placed.t_s[keep] - placed.truth_s[keep]
    return error


@pytest.mark.parametrize(
    ("name", "device_time_s"),
    [
        ("backspotter", (2**32 - 2_000_000) * 1e-6),  # u32 microseconds wrap after 2 s
        ("movesense", (2**32 - 2_000) * 1e-3),  # u32 milliseconds wrap after 2 s
    ],
)
def test_device_counters_unwrap_without_gaps(name: str, device_time_s: float) -> None:
    delivered = transmit(name, 6, 100, Link(), device_time_s=device_time_s, first_sequence=65000)
    placed = place_all(name, delivered, 100)
    assert placed.gaps == []
    assert len(placed.t_s) == len(placed.truth_s)
    error = settled_error_s(placed, after_s=1.0)
    assert np.ptp(error) < 0.004
    assert 0 < np.median(error) < 0.015


def test_counter_unwrapper_counts_whole_wraps_from_host_time() -> None:
    unwrap = CounterUnwrapper(modulus=2**16, tick_s=1e-3)
    assert unwrap.unwrap(65_000, 0.0) == 65_000
    assert unwrap.unwrap(500, 1.036) == 65_536 + 500
    # 140 s later: two more wraps (131.072 s) and 8.928 s, which host time alone can't pin.
    assert unwrap.unwrap(9_428, 141.036) == 3 * 65_536 + 9_428
    assert unwrap.unwrap(9_427, 141.037) == 3 * 65_536 + 9_427  # a step back stays a step back


@pytest.mark.parametrize("name", ["backspotter", "movesense"])
def test_lost_packets_are_a_gap_never_invented_samples(name: str) -> None:
    delivered = transmit(name, 8, 100, Link(drop=(103.0, 104.5)))
    placed = place_all(name, delivered, 100)

    assert len(placed.gaps) == 1
    gap = placed.gaps[0]
    sent = round(8 * get_profile(name).snap_rate_hz(100))
    assert gap.reason == "lost_packets"
    assert gap.lost_samples == sent - len(placed.t_s)
    assert gap.start_s is not None and 1.4 < gap.end_s - gap.start_s < 1.6
    error = settled_error_s(placed)
    assert np.ptp(error) < 0.005  # samples after the gap keep the device clock's spacing


@pytest.mark.parametrize(("name", "rate_hz"), [("witmotion", 100), ("thingy52", 50)])
def test_connection_interval_bursts_are_respaced(name: str, rate_hz: float) -> None:
    # Three 100 Hz samples every 30 ms (or 50 Hz samples every 45 ms) arrive together.
    link = Link(ci_s=0.03 if rate_hz == 100 else 0.045)
    placed = place_all(name, transmit(name, 20, rate_hz, link), rate_hz)

    arrival_steps = np.diff(np.round(np.array(transmit(name, 20, rate_hz, link).arrivals_s), 3))
    assert (arrival_steps < 0.001).mean() > 0.4  # the bursts are real
    error = settled_error_s(placed)
    spacing = np.diff(placed.t_s[-len(error) :])
    np.testing.assert_allclose(spacing, 1 / rate_hz, atol=0.001)
    assert np.ptp(error) < 0.005
    assert placed.gaps == []


@pytest.mark.parametrize(
    ("name", "rate_error"),
    [("witmotion", -0.01), ("thingy52", 0.02), ("backspotter", 1e-4), ("movesense", -1e-4)],
)
def test_drift_does_not_accumulate(name: str, rate_error: float) -> None:
    delivered = transmit(name, 90, 50, Link(ci_s=0.0375, seed=4), rate_error=rate_error)
    placed = place_all(name, delivered, 50)

    assert placed.gaps == []
    error = settled_error_s(placed, after_s=5.0)
    assert np.abs(error - np.median(error)).max() < 0.01
    assert 0 < np.median(error) < 0.03


def test_slow_sensors_are_not_silent_between_samples() -> None:
    placed = place_all("thingy52", transmit("thingy52", 30, 1, Link()), 1)
    assert placed.gaps == []
    # The first samples may move by up to a connection interval while the envelope settles.
    np.testing.assert_allclose(np.diff(placed.t_s[3:]), 1.0, atol=0.005)


def test_long_silence_starts_a_new_anchor_and_is_a_gap() -> None:
    delivered = transmit("witmotion", 10, 100, Link(drop=(103.0, 105.0)))
    placed = place_all("witmotion", delivered, 100)

    assert [gap.reason for gap in placed.gaps] == ["silence"]
    assert placed.gaps[0].lost_samples is None  # a counterless sensor cannot prove a count
    assert 1.9 < placed.gaps[0].end_s - (placed.gaps[0].start_s or 0) < 2.1
    error = placed.t_s - placed.truth_s
    after = placed.truth_s > 105.5
    assert np.abs(error[after] - np.median(error[~after])).max() < 0.02


def test_samples_lost_without_silence_are_found_by_the_slip() -> None:
    # 0.3 s of notifications lost: shorter than a silence, so only the late arrivals tell.
    delivered = transmit("witmotion", 10, 100, Link(drop=(103.0, 103.3)))
    placed = place_all("witmotion", delivered, 100)

    assert [gap.reason for gap in placed.gaps] == ["rate_slip"]
    late = placed.truth_s > 104.0
    error = placed.t_s - placed.truth_s
    assert np.abs(error[late] - np.median(error[placed.truth_s < 103])).max() < 0.02


def test_a_short_stall_and_its_backlog_is_not_a_gap() -> None:
    delivered = transmit("witmotion", 10, 100, Link(stall=(103.0, 103.3)))
    placed = place_all("witmotion", delivered, 100)

    assert placed.gaps == []
    assert len(placed.t_s) == 1000
    error = placed.t_s - placed.truth_s
    settled = np.median(error[placed.truth_s < 103])
    assert np.abs(error[placed.truth_s > 103.5] - settled).max() < 0.01


@pytest.mark.parametrize("name", ["backspotter", "movesense", "witmotion", "thingy52"])
def test_notifications_delivered_twice_are_dropped(name: str) -> None:
    delivered = transmit(name, 5, 50, Link())
    once = place_all(name, delivered, 50)
    twice = place_all(name, delivered, 50, twice=True)

    assert twice.duplicates == len(delivered.payloads)
    np.testing.assert_array_equal(twice.t_s, once.t_s)


def test_identical_content_apart_in_time_is_not_a_duplicate() -> None:
    profile = get_profile("thingy52")
    timebase, decoder = Timebase("lumbar", profile, 50), profile.new_decoder()
    payload = profile.encode(np.array([[0.0, 0.0, 9.8]]), np.zeros((1, 3)), np.ones((1, 3)))[0]
    first = timebase.place(decoder.feed(payload), 10.00)
    again = timebase.place(decoder.feed(payload), 10.02 + 0.001)
    assert not again.duplicate and again.batch is not None and first.batch is not None
    assert again.batch.t_s[0] > first.batch.t_s[0]


def test_two_independent_clocks_land_on_one_time_base() -> None:
    upper = transmit(
        "backspotter",
        30,
        100,
        Link(ci_s=0.03, phase_s=0.011, seed=1),
        rate_error=8e-5,
        device_time_s=1234.5,
    )
    lower = transmit(
        "movesense",
        30,
        104,
        Link(ci_s=0.0225, phase_s=0.004, seed=2),
        rate_error=-6e-5,
        device_time_s=5.0,
    )
    upper_placed = place_all("backspotter", upper, 100)
    lower_placed = place_all("movesense", lower, 104)

    # The same true instant, interpolated on each sensor's placed times, agrees within 10 ms.
    instants = np.linspace(105, 129, 200)
    upper_host = np.interp(instants, upper_placed.truth_s, upper_placed.t_s)
    lower_host = np.interp(instants, lower_placed.truth_s, lower_placed.t_s)
    assert np.abs(upper_host - lower_host).max() < 0.01
    assert np.abs(upper_host - instants).max() < 0.015


def test_link_lost_reanchors_a_counterless_sensor() -> None:
    profile = get_profile("witmotion")
    timebase, decoder = Timebase("upper", profile, 100), profile.new_decoder()
    frames = profile.encode(np.tile([0.0, 0.0, 9.8], (3, 1)), np.eye(3))
    timebase.place(decoder.feed(frames[0]), 1.000)
    timebase.link_lost()
    placement = timebase.place(decoder.feed(frames[1]), 1.080)
    assert placement.gap is not None
    assert (placement.gap.role, placement.gap.reason) == ("upper", "link_lost")
    assert placement.batch is not None and placement.batch.role == "upper"


def test_device_restart_is_a_clock_reset_gap() -> None:
    before = transmit("backspotter", 3, 100, Link(), device_time_s=500.0)
    after = transmit("backspotter", 3, 100, Link(seed=3), device_time_s=0.0, start_s=104.0)
    joined = Delivered(
        before.payloads + after.payloads,
        before.arrivals_s + after.arrivals_s,
        before.truth_s + after.truth_s,
    )
    placed = place_all("backspotter", joined, 100)
    assert [gap.reason for gap in placed.gaps] == ["clock_reset"]
    assert len(placed.t_s) == len(placed.truth_s)
    assert np.abs(settled_error_s(placed, after_s=5.0) - 0.004).max() < 0.01
