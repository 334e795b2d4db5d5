"""Simulated motion sampled at a device's rate and encoded in that device's own bytes.

The player is the emulated sensor's measurement side: it samples a recorded or simulated
trace on the device's clock and turns each sample into notification payloads with the
profile's encoder, remembering which samples every packet carries so a test can prove what
arrived, what was lost and what was duplicated.
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
    """Samples ``motion`` at the device's rate from the moment streaming starts."""

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
        self._motion_t_s = motion.t_s - motion.t_s[0]
        self._clock_offset_s = device_clock_offset_s
        self._stream_id = stream_id
        self.rate_hz = profile.snap_rate_hz(None)
        #: Motion index of every sample taken so far, in device order.
        self.motion_index: list[int] = []
        self.started_at_s: float | None = None
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
        """Whether the whole motion has been sampled."""
        return self.started_at_s is not None and self._next_time_s() > self._motion_t_s[-1]

    def start(self, now_s: float) -> None:
        """Begin sampling at simulated time ``now_s`` (motion time 0)."""
        if self.started_at_s is None:
            self.started_at_s = now_s
            self._encoder = self._new_encoder()

    def set_rate(self, rate_hz: float, now_s: float) -> list[Packet]:
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
        """Sample everything due by simulated ``now_s``; the packets that became complete."""
        if self.started_at_s is None or self._encoder is None:
            return []
        packets: list[Packet] = []
        motion_now_s = now_s - self.started_at_s
        while not self.finished and self._next_time_s() <= motion_now_s:
            packets.extend(self._take_one())
        if self.finished:
            packets.extend(self._flush())
        return packets

    def _next_time_s(self) -> float:
        """Motion time of the next sample."""
        return self._base_s + (self.samples_taken - self._base_sample) / self.rate_hz

    def _take_one(self) -> list[Packet]:
        """Measure one sample and encode it."""
        assert self._encoder is not None
        index = int(np.searchsorted(self._motion_t_s, self._next_time_s() - 1e-9))
        index = min(index, len(self._motion_t_s) - 1)
        self.motion_index.append(index)
        mag = None if self.motion.mag_ut is None else self.motion.mag_ut[index : index + 1]
        payloads = self._encoder.encode(
            self.motion.accel_mps2[index : index + 1], self.motion.gyro_rps[index : index + 1], mag
        )
        return self._packets_from(payloads)

    def _flush(self) -> list[Packet]:
        """Send the encoder's partial batch."""
        assert self._encoder is not None
        return self._packets_from(self._encoder.flush())

    def _packets_from(self, payloads: list[bytes]) -> list[Packet]:
        """Attribute the samples taken since the last packet to ``payloads`` (all to the last)."""
        packets = []
        for payload in payloads:
            n = self.samples_taken - self._pending_first
            packets.append(Packet(payload, "data", self._pending_first, n))
            self._pending_first = self.samples_taken
            self._packets += 1
        return packets

    def _new_encoder(self) -> Encoder:
        """An encoder that continues the packet counter and device clock."""
        return self.profile.new_encoder(
            self.rate_hz,
            first_sequence=self._packets % (self.profile.sequence_modulus or 1),
            device_time_s=self._clock_offset_s + self._next_time_s(),
            stream_id=self._stream_id,
        )
