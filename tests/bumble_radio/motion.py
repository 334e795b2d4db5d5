"""Simulated motion sampled on a device's clock and encoded in that device's own bytes.

The player is the emulated sensor's measurement side. ``motion.t_s`` is world time, the
simulated clock shared by every emulated sensor and the host, so two sensors sample the same
body at the same moments whenever each of them started. Each sample is encoded with the
profile's encoder, and the player remembers which samples every packet carries so a test
can prove what arrived, what was lost and what was duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sensor.profiles import Encoder, Profile
from sensor.samples import SampleBatch

PacketKind = Literal["data", "reply", "garbage"]


@dataclass(frozen=True, slots=True)
class Packet:
    """One notification the device wants to send, and which samples it carries."""

    payload: bytes
    kind: PacketKind = "data"
    #: Index (in the device's sample count) of the first sample carried.
    first_sample: int = 0
    n_samples: int = 0


class MotionPlayer:
    """Samples ``motion`` at the device's rate from the moment the device starts measuring."""

    def __init__(
        self,
        profile: Profile,
        motion: SampleBatch,
        *,
        device_clock_offset_s: float = 1000.0,
        stream_id: int = 0,
    ) -> None:
        self.profile = profile
        self.motion = motion
        self._clock_offset_s = device_clock_offset_s
        self._stream_id = stream_id
        self.rate_hz = profile.snap_rate_hz(None)
        #: Motion index and world time of every sample taken so far, in device order.
        self.motion_index: list[int] = []
        self.world_s: list[float] = []
        self.started = False
        self._base_s = 0.0
        self._base_sample = 0
        self._encoder: Encoder | None = None
        self._packets = 0
        self._pending_first = 0

    @property
    def samples_taken(self) -> int:
        """Samples measured so far."""
        return len(self.motion_index)

    @property
    def finished(self) -> bool:
        """Whether the device has sampled to the end of the motion."""
        return self.started and self._next_time_s() > self.motion.t_s[-1]

    def start(self, now_s: float) -> None:
        """Begin measuring at world time ``now_s`` (later calls change nothing)."""
        if not self.started:
            self.started = True
            self._base_s = now_s
            self._encoder = self._new_encoder()

    def set_rate(self, rate_hz: float) -> list[Packet]:
        """Change the output rate from the next sample on; returns the flushed partial packet."""
        rate = self.profile.snap_rate_hz(rate_hz)
        if rate == self.rate_hz:
            return []
        flushed = self._flush() if self._encoder is not None else []
        self._base_s, self._base_sample = self._next_time_s(), self.samples_taken
        self.rate_hz = rate
        if self._encoder is not None:
            self._encoder = self._new_encoder()
        return flushed

    def take_due(self, now_s: float) -> list[Packet]:
        """Sample everything due by world time ``now_s``; the packets that became complete."""
        if self._encoder is None:
            return []
        packets: list[Packet] = []
        while not self.finished and self._next_time_s() <= now_s:
            packets.extend(self._take_one())
        if self.finished:
            packets.extend(self._flush())
        return packets

    def _next_time_s(self) -> float:
        """World time of the next sample."""
        return self._base_s + (self.samples_taken - self._base_sample) / self.rate_hz

    def _take_one(self) -> list[Packet]:
        """Measure one sample (the motion row at that world time) and encode it."""
        assert self._encoder is not None
        world_s = self._next_time_s()
        index = int(np.searchsorted(self.motion.t_s, world_s - 1e-9))
        index = min(index, len(self.motion.t_s) - 1)
        self.motion_index.append(index)
        self.world_s.append(world_s)
        row = slice(index, index + 1)
        mag = None if self.motion.mag_ut is None else self.motion.mag_ut[row]
        payloads = self._encoder.encode(self.motion.accel_mps2[row], self.motion.gyro_rps[row], mag)
        return self._packets_from(payloads)

    def _flush(self) -> list[Packet]:
        """Send the encoder's partial batch."""
        assert self._encoder is not None
        return self._packets_from(self._encoder.flush())

    def _packets_from(self, payloads: list[bytes]) -> list[Packet]:
        """Attribute the samples taken since the last packet to ``payloads``."""
        packets = []
        for payload in payloads:
            n = self.samples_taken - self._pending_first
            packets.append(Packet(payload, "data", self._pending_first, n))
            self._pending_first = self.samples_taken
            self._packets += 1
        return packets

    def _new_encoder(self) -> Encoder:
        """An encoder that continues the packet counter and the device clock."""
        return self.profile.new_encoder(
            self.rate_hz,
            first_sequence=self._packets % (self.profile.sequence_modulus or 1),
            device_time_s=self._clock_offset_s + self._next_time_s(),
            stream_id=self._stream_id,
        )
