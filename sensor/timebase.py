"""Sample times on the host's clock for decoded BLE notifications of one sensor.

Where the profile has a device clock, each sample's device time comes from it (counters
unwrapped, lost packets reported as gaps, never filled in). Otherwise samples are counted
and spaced at the nominal rate, a virtual device clock. Either way device time is mapped
to host time by a running fit of the lower envelope of ``arrival - device time``: latency
is never negative, so the least-delayed notifications show the clock offset, and the
slope of their envelope is the drift. Notifications bunched by the connection interval do
not move the envelope, so they come out evenly spaced. Two sensors mapped this way share
the host time base. Notifications BlueZ delivers twice after a reconnect (bleak issue
2002) are dropped by sequence number / device time, or by content for profiles with none.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from sensor.profiles.base import DecodedFrame, Profile
from sensor.samples import FloatArray, SampleBatch

GapReason = Literal["lost_packets", "silence", "clock_reset", "rate_slip", "link_lost"]


@dataclass(frozen=True, slots=True)
class TimebaseConfig:
    """Tuning of the host-time mapping; the defaults suit 20-400 Hz sensors."""

    #: Length (device seconds, and at least 10 sample periods) of the blocks whose minimum
    #: delay forms the lower envelope.
    block_s: float = 1.0
    #: Blocks kept for the offset-and-drift fit (30 s with 1 s blocks).
    fit_blocks: int = 30
    #: Largest plausible clock drift or rate error (5 %); larger fitted slopes are clipped.
    max_drift: float = 0.05
    #: No notification for this long (and 5 sample periods): a counterless sensor starts a
    #: new anchor and a gap.
    silence_s: float = 0.5
    #: Counterless sensors: arrivals later than the envelope by more than this (and 2 sample
    #: periods) ...
    slip_bound_s: float = 0.15
    #: ... for this much sample time mean samples were lost: re-anchor and report a gap.
    slip_confirm_s: float = 0.5
    #: Counterless sensors: identical content arriving within this time is a duplicate.
    duplicate_window_s: float = 0.02
    #: Recent (sequence, device time) keys remembered for dropping duplicates.
    recent_keys: int = 512


@dataclass(frozen=True, slots=True)
class Gap:
    """Samples missing between two host times; ``lost_samples`` when the device proves it."""

    role: str
    start_s: float | None
    end_s: float
    lost_samples: int | None
    reason: GapReason


@dataclass(frozen=True, slots=True)
class Placement:
    """What one notification contributed: new samples, a gap before them, or a duplicate."""

    batch: SampleBatch | None
    gap: Gap | None = None
    duplicate: bool = False


class HostClockFit:
    """Maps device seconds to host seconds from the lower envelope of the arrival delays."""

    def __init__(self, config: TimebaseConfig) -> None:
        self._config = config
        # (block start, device time of the block's least delay, that delay), in seconds.
        self._blocks: deque[tuple[float, float, float]] = deque(maxlen=config.fit_blocks)
        self._line: tuple[float, float, float] | None = None

    @property
    def empty(self) -> bool:
        """Whether no arrival has been recorded since the last reset."""
        return self._line is None

    def reset(self) -> None:
        """Forget the envelope (the device clock restarted, or a new anchor)."""
        self._blocks.clear()
        self._line = None

    def add(self, device_s: float, arrival_s: float) -> None:
        """Record that a sample taken at ``device_s`` had arrived by ``arrival_s``."""
        delay = arrival_s - device_s
        blocks = self._blocks
        if not blocks or device_s - blocks[-1][0] >= self._config.block_s:
            blocks.append((device_s, device_s, delay))
        elif delay < blocks[-1][2]:
            blocks[-1] = (blocks[-1][0], device_s, delay)
        else:
            return
        self._line = self._fit()

    def _fit(self) -> tuple[float, float, float]:
        """Line (reference, offset, slope) through the minima of the completed blocks.

        The block still filling is left out once others exist: its minimum starts high
        (the first notification of a block may have waited a whole connection interval).
        """
        points = np.array(self._blocks)[:, 1:]
        done = points[:-1] if len(points) > 1 else points
        reference = float(done[-1, 0])
        if len(done) < 2:
            return reference, float(done[:, 1].min()), 0.0
        slope, offset = np.polyfit(done[:, 0] - reference, done[:, 1], 1)
        limit = self._config.max_drift
        return reference, float(offset), float(np.clip(slope, -limit, limit))

    def delay_s(self, device_s: float) -> float:
        """The envelope's delay at ``device_s`` (host minus device seconds)."""
        reference, offset, slope = self._require_line()
        return offset + slope * (device_s - reference)

    def host_times(self, device_s: FloatArray) -> FloatArray:
        """Host seconds of the given device seconds."""
        reference, offset, slope = self._require_line()
        return device_s + offset + slope * (device_s - reference)

    def _require_line(self) -> tuple[float, float, float]:
        """The fitted line; an arrival must have been recorded."""
        if self._line is None:
            raise RuntimeError("no arrival recorded yet")
        return self._line


class SlipWatch:
    """Tells when arrivals have stayed later than the envelope for too long to be a burst."""

    def __init__(self, config: TimebaseConfig) -> None:
        self._confirm_s = config.slip_confirm_s
        self._late_since_s: float | None = None

    def persisted(self, late: bool, device_s: float) -> bool:
        """Update with one notification; true once lateness has lasted the confirm time."""
        if not late:
            self._late_since_s = None
            return False
        if self._late_since_s is None:
            self._late_since_s = device_s
        if device_s - self._late_since_s < self._confirm_s:
            return False
        self._late_since_s = None
        return True


class CounterUnwrapper:
    """Unwraps a counter that wraps at ``modulus``, using host time to count whole wraps."""

    def __init__(self, modulus: int, tick_s: float) -> None:
        self._modulus = modulus
        self._tick_s = tick_s
        self._last: tuple[int, int, float] | None = None

    def unwrap(self, raw: int, arrival_s: float) -> int:
        """The unwrapped value of ``raw``; may step backwards if the device restarted."""
        if self._last is None:
            self._last = (raw, raw, arrival_s)
            return raw
        last_raw, last_value, last_arrival = self._last
        step = (raw - last_raw) % self._modulus
        host_ticks = (arrival_s - last_arrival) / self._tick_s
        wraps = round((host_ticks - step) / self._modulus)
        value = last_value + step + wraps * self._modulus
        self._last = (raw, value, arrival_s)
        return value


class Timebase:
    """Places the decoded notifications of one sensor on the host time base.

    Feed every decoded frame with its host arrival time (monotonic seconds); keep one
    ``Timebase`` per sensor across reconnects and call :meth:`link_lost` when the link drops.
    """

    def __init__(
        self,
        role: str,
        profile: Profile,
        rate_hz: float | None = None,
        config: TimebaseConfig | None = None,
    ) -> None:
        self.role = role
        self._config = config or TimebaseConfig()
        self._period_s = 1.0 / profile.snap_rate_hz(rate_hz)
        self._silence_s = max(self._config.silence_s, 5 * self._period_s)
        self._slip_bound_s = max(self._config.slip_bound_s, 2 * self._period_s)
        block_s = max(self._config.block_s, 10 * self._period_s)
        self._fit = HostClockFit(replace(self._config, block_s=block_s))
        self._device = _DeviceClockTimer(profile, self._config) if profile.clock else None
        self._virtual = _VirtualClockTimer()
        self._slip = SlipWatch(self._config)
        self._last_t_s: float | None = None
        self._last_arrival_s: float | None = None
        self._link_lost = False

    def link_lost(self) -> None:
        """The link dropped: a counterless sensor starts a new anchor at the next packet."""
        self._link_lost = True

    def place(self, frame: DecodedFrame, arrival_s: float) -> Placement:
        """Host times for the samples of ``frame``, which arrived at ``arrival_s``."""
        if frame.n_samples == 0:
            return Placement(None)
        if self._is_duplicate(frame, arrival_s):
            return Placement(None, duplicate=True)
        lost: int | None = None
        if self._device is not None:
            device_s, reason, lost = self._device.times(frame, arrival_s, self._period_s)
        else:
            device_s = self._virtual.times(frame.n_samples, self._period_s)
            reason = self._anchor_reason(arrival_s)
        reason = self._update_fit(float(device_s[-1]), arrival_s, reason)
        return self._emit(frame, device_s, reason, lost, arrival_s)

    def _is_duplicate(self, frame: DecodedFrame, arrival_s: float) -> bool:
        """Whether ``frame`` repeats one already placed."""
        if self._device is not None:
            return self._device.is_duplicate(frame)
        last = self._last_arrival_s
        recent = last is not None and arrival_s - last <= self._config.duplicate_window_s
        return recent and self._virtual.same_content(frame)

    def _anchor_reason(self, arrival_s: float) -> GapReason | None:
        """Why a counterless sensor must start a new anchor here, if it must."""
        if self._link_lost:
            return "link_lost"
        last = self._last_arrival_s
        if last is not None and arrival_s - last > self._silence_s:
            return "silence"
        return None

    def _update_fit(
        self, device_s: float, arrival_s: float, reason: GapReason | None
    ) -> GapReason | None:
        """Feed the envelope; restart it on a new anchor or a confirmed slip.

        Late arrivals stay out of the envelope while they may still be a backlog; if they
        stay late, samples were lost (counterless sensors, reported as a slip) or the
        latency really changed (device clock, no samples lost): the envelope restarts.
        """
        counterless = self._device is None
        restart = reason == "clock_reset" or (counterless and reason is not None)
        if not restart and not self._fit.empty:
            late = arrival_s - device_s - self._fit.delay_s(device_s) > self._slip_bound_s
            if not self._slip.persisted(late, device_s):
                if not late:
                    self._fit.add(device_s, arrival_s)
                return reason
            restart = True
            reason = "rate_slip" if counterless else reason
        if restart:
            self._fit.reset()
        self._fit.add(device_s, arrival_s)
        return reason

    def _emit(
        self,
        frame: DecodedFrame,
        device_s: FloatArray,
        reason: GapReason | None,
        lost: int | None,
        arrival_s: float,
    ) -> Placement:
        """The batch on host time, strictly after the previous one, and its gap if any."""
        t_s = self._monotonic(self._fit.host_times(device_s))
        gap = None
        if reason is not None and (self._last_t_s is not None or lost):
            gap = Gap(self.role, self._last_t_s, float(t_s[0]), lost, reason)
        self._last_t_s = float(t_s[-1])
        self._last_arrival_s = arrival_s
        self._link_lost = False
        self._virtual.remember(frame)
        batch = SampleBatch(self.role, t_s, frame.accel_mps2, frame.gyro_rps, frame.mag_ut)
        return Placement(batch, gap)

    def _monotonic(self, t_s: FloatArray) -> FloatArray:
        """``t_s`` raised where needed to stay at least half a period after the last sample."""
        if self._last_t_s is None:
            return t_s
        floor = self._last_t_s + 0.5 * self._period_s * np.arange(1, len(t_s) + 1)
        raised: FloatArray = np.maximum(t_s, floor)
        return raised


class _DeviceClockTimer:
    """Device times from the profile's clock; gaps from its jumps; duplicates by key."""

    def __init__(self, profile: Profile, config: TimebaseConfig) -> None:
        assert profile.clock is not None
        self._tick_s = profile.clock.tick_s
        self._ticks = CounterUnwrapper(profile.clock.modulus, profile.clock.tick_s)
        self._next_s: float | None = None
        self._keys: deque[tuple[int | None, int | None]] = deque(maxlen=config.recent_keys)
        self._key_set: set[tuple[int | None, int | None]] = set()

    def is_duplicate(self, frame: DecodedFrame) -> bool:
        """Whether a frame with the same sequence number and device time was seen recently."""
        key = (frame.sequence, frame.device_ticks)
        if key in self._key_set:
            return True
        if len(self._keys) == self._keys.maxlen:
            self._key_set.discard(self._keys[0])
        self._keys.append(key)
        self._key_set.add(key)
        return False

    def times(
        self, frame: DecodedFrame, arrival_s: float, nominal_period_s: float
    ) -> tuple[FloatArray, GapReason | None, int | None]:
        """Device seconds of each sample, and the gap before them that the clock proves."""
        assert frame.device_ticks is not None
        start_s = self._ticks.unwrap(frame.device_ticks, arrival_s) * self._tick_s
        period_s = frame.sample_period_s or nominal_period_s
        reason, lost = self._classify(start_s, period_s)
        self._next_s = start_s + frame.n_samples * period_s
        device_s = start_s + period_s * np.arange(frame.n_samples, dtype=np.float64)
        return device_s, reason, lost

    def _classify(self, start_s: float, period_s: float) -> tuple[GapReason | None, int | None]:
        """Whether the clock jumped forwards (lost samples) or back (the device restarted)."""
        if self._next_s is None:
            return None, None
        missing = round((start_s - self._next_s) / period_s)
        if missing >= 1:
            return "lost_packets", missing
        if missing < -1:
            return "clock_reset", None
        return None, None


class _VirtualClockTimer:
    """Counts the samples of a counterless sensor and remembers the last content."""

    def __init__(self) -> None:
        self._count = 0
        self._last_fingerprint: int | None = None

    def times(self, n: int, period_s: float) -> FloatArray:
        """Virtual device seconds of the next ``n`` samples."""
        start = self._count
        self._count += n
        return period_s * np.arange(start, start + n, dtype=np.float64)

    def same_content(self, frame: DecodedFrame) -> bool:
        """Whether ``frame`` has the bytes of the previous notification."""
        fingerprint = frame.fingerprint
        return fingerprint is not None and fingerprint == self._last_fingerprint

    def remember(self, frame: DecodedFrame) -> None:
        """Keep the content fingerprint of the frame just placed."""
        self._last_fingerprint = frame.fingerprint
