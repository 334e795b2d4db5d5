"""WitMotion BLE 5.0 IMUs (WT901BLECL, BWT901BLECL5.0): 20-byte ``55 61`` frames, no timestamp.

Byte layout and scale factors follow the vendor's SDK (WITMOTION/WitBluetooth_BWT901BLE5_0,
``device_model.py``); see ``docs/devices.md``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from sensor.profiles.base import (
    MPS2_PER_G,
    RAD_PER_DEG,
    DecodedFrames,
    Decoder,
    DeviceCommand,
    Encoder,
    GattWrite,
    Profile,
    as_xyz,
    quantize_int16,
)
from sensor.samples import FloatArray

# The vendor's UUID base ends 9a34fb, not the Bluetooth SIG's 9b34fb.
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

FRAME_BYTES = 20
DATA_HEADER = b"\x55\x61"
REPLY_HEADER = b"\x55\x71"
_HEADERS = (DATA_HEADER, REPLY_HEADER)

ACCEL_G_PER_LSB = 16.0 / 32768.0
GYRO_DPS_PER_LSB = 2000.0 / 32768.0
ANGLE_DEG_PER_LSB = 180.0 / 32768.0
_ACCEL_MPS2_PER_LSB = ACCEL_G_PER_LSB * MPS2_PER_G
_GYRO_RPS_PER_LSB = GYRO_DPS_PER_LSB * RAD_PER_DEG
_SCALE_SI = np.array([_ACCEL_MPS2_PER_LSB] * 3 + [_GYRO_RPS_PER_LSB] * 3)

#: Register 0x03 (RRATE) codes by output rate in Hz.
RATE_CODES: dict[float, int] = {10.0: 0x06, 20.0: 0x07, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0A}
#: Register writes take effect only after this unlock write.
UNLOCK_COMMAND = b"\xff\xaa\x69\x88\xb5"
_COMMAND_PREFIX = b"\xff\xaa"
_RATE_REGISTER = 0x03
_UNLOCK_REGISTER = 0x69
_SAVE_REGISTER = 0x00


def rate_command(rate_hz: float) -> bytes:
    """The ``FF AA 03 rr 00`` write that sets the output rate."""
    return _COMMAND_PREFIX + bytes((_RATE_REGISTER, RATE_CODES[rate_hz], 0x00))


class WitMotionDecoder(Decoder):
    """Re-frames the byte stream on ``55 61`` / ``55 71`` headers across notifications."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = b""

    def _decode_many(self, payloads: list[bytes]) -> DecodedFrames:
        """Decode every whole data frame; notifications of whole data frames need no re-framing."""
        lengths = list(map(len, payloads))
        joined = b"".join(payloads)
        if self._pending or not _whole_data_frames(joined, lengths):
            frames = [self._reframe(payload) for payload in payloads]
            joined = b"".join(itertools.chain.from_iterable(frames))
            counts = list(map(len, frames))
        else:
            counts = [length // FRAME_BYTES for length in lengths]
        raw = np.frombuffer(joined, dtype="<i2").reshape(-1, FRAME_BYTES // 2)
        values = raw[:, 1:7] * _SCALE_SI
        fingerprints = list(map(hash, payloads))
        return DecodedFrames(values[:, :3], values[:, 3:], counts, fingerprint=fingerprints)

    def _reframe(self, payload: bytes) -> list[bytes]:
        """The whole data frames in the pending bytes plus ``payload``; the rest is counted."""
        frames, skipped = self._scan(self._join(payload))
        if skipped:
            self.stats.bad_packets += 1
            self.stats.skipped_bytes += skipped
        return frames

    def _join(self, payload: bytes) -> bytes:
        """The pending partial frame plus ``payload``, or ``payload`` alone if it starts afresh.

        A notification that starts with a header and does not line up as the rest of the
        pending frame means that frame was truncated: it is dropped and counted.
        """
        pending = self._pending
        self._pending = b""
        if not pending:
            return payload
        if payload[:2] in _HEADERS and not _completes(pending, payload):
            self.stats.bad_packets += 1
            self.stats.skipped_bytes += len(pending)
            return payload
        return pending + payload

    def _scan(self, data: bytes) -> tuple[list[bytes], int]:
        """Split ``data`` into data frames; keep an incomplete tail; count skipped bytes."""
        frames: list[bytes] = []
        pos, skipped, end = 0, 0, len(data)
        while pos < end:
            if not _header_at(data, pos):
                nxt = data.find(0x55, pos + 1)
                nxt = end if nxt < 0 else nxt
                skipped += nxt - pos
                self.stats.resyncs += 1
                pos = nxt
                continue
            if end - pos < FRAME_BYTES:
                break
            if data[pos + 1] == DATA_HEADER[1]:
                frames.append(data[pos : pos + FRAME_BYTES])
            else:
                self.stats.replies += 1
            pos += FRAME_BYTES
        self._pending = data[pos:]
        return frames, skipped


def _header_at(data: bytes, pos: int) -> bool:
    """Whether a frame header (or a lone ``55`` that may start one) sits at ``pos``."""
    if data[pos] != 0x55:
        return False
    return pos + 1 == len(data) or data[pos + 1] in (DATA_HEADER[1], REPLY_HEADER[1])


def _completes(pending: bytes, payload: bytes) -> bool:
    """Whether ``payload`` continues ``pending`` into a whole frame followed by a frame start."""
    need = FRAME_BYTES - len(pending)
    if len(payload) < need:
        return False
    rest = payload[need:]
    return not rest or rest[:2] in _HEADERS or rest == b"\x55"


def _whole_data_frames(joined: bytes, lengths: list[int]) -> bool:
    """Whether every notification is whole ``55 61`` frames (as the sensor sends them)."""
    if any(length % FRAME_BYTES for length in lengths):
        return False
    n_frames = len(joined) // FRAME_BYTES
    first, second = DATA_HEADER
    return (
        joined[0::FRAME_BYTES].count(first) == n_frames
        and joined[1::FRAME_BYTES].count(second) == n_frames
    )


class WitMotionEncoder(Encoder):
    """One ``55 61`` frame per sample, as the sensor sends them."""

    def encode(
        self, accel_mps2: FloatArray, gyro_rps: FloatArray, mag_ut: FloatArray | None = None
    ) -> list[bytes]:
        """One 20-byte notification per sample; angles are roll and pitch from the tilt."""
        n = len(accel_mps2)
        accel = as_xyz(accel_mps2, n, "accel_mps2")
        gyro = as_xyz(gyro_rps, n, "gyro_rps")
        counts = np.empty((n, 10), dtype="<i2")
        counts[:, 0] = int.from_bytes(DATA_HEADER, "little")
        counts[:, 1:4] = quantize_int16(accel, _ACCEL_MPS2_PER_LSB)
        counts[:, 4:7] = quantize_int16(gyro, _GYRO_RPS_PER_LSB)
        counts[:, 7:10] = quantize_int16(_tilt_angles_deg(accel), ANGLE_DEG_PER_LSB)
        return [row.tobytes() for row in counts]


def _tilt_angles_deg(accel: FloatArray) -> FloatArray:
    """Roll and pitch (degrees) from the gravity direction; yaw left at 0."""
    ax, ay, az = accel[:, 0], accel[:, 1], accel[:, 2]
    roll = np.degrees(np.arctan2(ay, az))
    pitch = np.degrees(np.arctan2(-ax, np.hypot(ay, az)))
    return np.stack([roll, pitch, np.zeros_like(roll)], axis=1)


@dataclass(frozen=True)
class WitMotionProfile(Profile):
    """WitMotion BLE 5.0: notifications flow once enabled; rate set through register 0x03."""

    def start_commands(self, rate_hz: float | None = None) -> list[GattWrite]:
        """Unlock the registers, then set the output rate (not saved to flash)."""
        rate = self.snap_rate_hz(rate_hz)
        return [(WRITE_UUID, UNLOCK_COMMAND), (WRITE_UUID, rate_command(rate))]

    def stop_commands(self) -> list[GattWrite]:
        """Nothing: the sensor streams whenever notifications are on."""
        return []

    def new_decoder(self) -> Decoder:
        """A fresh re-framing decoder."""
        return WitMotionDecoder()

    def new_encoder(
        self,
        rate_hz: float | None = None,
        *,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> Encoder:
        """An encoder of ``55 61`` frames (no counter or clock to start)."""
        return WitMotionEncoder()

    def parse_write(self, char_uuid: str, data: bytes) -> DeviceCommand:
        """Reads ``FF AA reg lo hi`` register writes: unlock, rate, save."""
        if char_uuid.lower() != WRITE_UUID or len(data) != 5 or data[:2] != _COMMAND_PREFIX:
            return DeviceCommand("unknown")
        register, value = data[2], data[3] | data[4] << 8
        if register == _UNLOCK_REGISTER:
            return DeviceCommand("unlock")
        if register == _RATE_REGISTER:
            rate = next((r for r, code in RATE_CODES.items() if code == value), None)
            return DeviceCommand("configure", rate_hz=rate) if rate else DeviceCommand("unknown")
        if register == _SAVE_REGISTER:
            return DeviceCommand("configure")
        return DeviceCommand("unknown")


WITMOTION = WitMotionProfile(
    name="witmotion",
    service_uuid=SERVICE_UUID,
    notify_uuid=NOTIFY_UUID,
    write_uuid=WRITE_UUID,
    nominal_rate_hz=50.0,
    supported_rates_hz=tuple(sorted(RATE_CODES)),
    name_prefixes=("WT",),
)
