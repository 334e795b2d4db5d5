"""The open Backspotter profile for DIY firmware (ESP32, nRF52): our own byte layout, version 1.

Every notification carries a packet sequence number, the sensor's microsecond clock at its
first sample, the sample period and the full-scale ranges, then several int16 samples, so
lost packets and connection-interval bursts can be reconstructed exactly. The layout is
specified in ``docs/devices.md``; this module is its reference implementation.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sensor.profiles.base import (
    MPS2_PER_G,
    RAD_PER_DEG,
    DecodedFrames,
    Decoder,
    DeviceClock,
    DeviceCommand,
    Encoder,
    GattWrite,
    Profile,
    as_xyz,
    quantize_int16,
)
from sensor.samples import FloatArray


def _uuid(short: int) -> str:
    """A Backspotter UUID: ``95c9xxxx`` on our random 128-bit base."""
    return f"95c9{short:04x}-9b3e-4776-bc69-21b9d89c9398"


SERVICE_UUID = _uuid(0x0001)
DATA_UUID = _uuid(0x0002)
CONTROL_UUID = _uuid(0x0003)

VERSION = 1
#: version, flags, sequence, first-sample time (us), sample period (us), count, accel FS (g),
#: gyro FS (deg/s).
HEADER = struct.Struct("<BBHIIBBH")
FLAG_MAGNETOMETER = 0x01
#: The firmware dropped samples (its buffer overflowed) before this packet.
FLAG_OVERFLOW = 0x02
_KNOWN_FLAGS = FLAG_MAGNETOMETER | FLAG_OVERFLOW
MAX_PAYLOAD_BYTES = 244  # ATT MTU 247 minus the 3-byte notification header
SAMPLE_BYTES = 12
SAMPLE_BYTES_WITH_MAG = 18
MAG_UT_PER_LSB = 1.0 / 16.0
ACCEL_RANGES_G = (2, 4, 8, 16)
GYRO_RANGES_DPS = (125, 250, 500, 1000, 2000)
DEFAULT_ACCEL_RANGE_G = 8
DEFAULT_GYRO_RANGE_DPS = 2000
#: A packet holds the samples of at most this long (or as many as fit), to bound latency.
MAX_PACKET_SPAN_S = 0.04

OP_START, OP_STOP = 0x01, 0x02
START_FORMAT = struct.Struct("<BHBH")  # op, rate Hz, accel FS g, gyro FS deg/s
MIN_RATE_HZ, MAX_RATE_HZ = 1, 1000


def max_samples_per_packet(with_mag: bool) -> int:
    """How many samples fit one notification at MTU 247 (19, or 12 with magnetometer)."""
    stride = SAMPLE_BYTES_WITH_MAG if with_mag else SAMPLE_BYTES
    return (MAX_PAYLOAD_BYTES - HEADER.size) // stride


def start_command(
    rate_hz: float,
    accel_range_g: int = DEFAULT_ACCEL_RANGE_G,
    gyro_range_dps: int = DEFAULT_GYRO_RANGE_DPS,
) -> bytes:
    """The control write that starts streaming at ``rate_hz`` with the given ranges."""
    return START_FORMAT.pack(OP_START, round(rate_hz), accel_range_g, gyro_range_dps)


class PacketHeader(NamedTuple):
    """The header fields of one version-1 packet (``n_samples`` 0: the packet is bad)."""

    sequence: int
    t_us: int
    period_us: int
    n_samples: int
    accel_range_g: int
    gyro_range_dps: int
    with_mag: bool


#: What a bad packet contributes: no samples.
BAD_PACKET = PacketHeader(0, 0, 0, 0, 0, 0, False)


def parse_header(payload: bytes) -> PacketHeader:
    """The header of ``payload``, or :data:`BAD_PACKET` unless every field and the length
    follow the specification."""
    if len(payload) <= HEADER.size:
        return BAD_PACKET
    version, flags, seq, t_us, period_us, count, accel_fs, gyro_fs = HEADER.unpack_from(payload)
    with_mag = bool(flags & FLAG_MAGNETOMETER)
    stride = SAMPLE_BYTES_WITH_MAG if with_mag else SAMPLE_BYTES
    valid = (
        version == VERSION
        and not flags & ~_KNOWN_FLAGS
        and period_us > 0
        and count > 0
        and len(payload) == HEADER.size + count * stride
        and accel_fs in ACCEL_RANGES_G
        and gyro_fs in GYRO_RANGES_DPS
    )
    if not valid:
        return BAD_PACKET
    return PacketHeader(seq, t_us, period_us, count, accel_fs, gyro_fs, with_mag)


class BackspotterDecoder(Decoder):
    """Checks every header field against the specification; a packet that fails is bad."""

    def _decode_many(self, payloads: list[bytes]) -> DecodedFrames:
        """Decode version-1 packets: headers one by one, the samples of all at once."""
        headers = list(map(parse_header, payloads))
        sequence, t_us, period_us, counts, accel_fs, gyro_fs, with_mag = map(
            list, zip(*headers, strict=True)
        )
        self.keep_valid(payloads, list(map(len, payloads)), list(map(bool, counts)))
        raw, mag_counts = _sample_counts(payloads, counts, with_mag)
        accel_lsb, gyro_lsb = _lsb(accel_fs, gyro_fs, counts)
        mixed = mag_counts is not None and not all(itertools.compress(with_mag, counts))
        return DecodedFrames(
            np.multiply(raw[:, 0:3], accel_lsb, dtype=np.float64),
            np.multiply(raw[:, 3:6], gyro_lsb, dtype=np.float64),
            counts,
            mag_ut=None if mag_counts is None else np.multiply(mag_counts, MAG_UT_PER_LSB),
            with_mag=with_mag if mixed else None,
            sequence=sequence,
            device_ticks=t_us,
            sample_period_s=[period * 1e-6 for period in period_us],
        )


def _lsb(
    accel_fs: list[int], gyro_fs: list[int], counts: list[int]
) -> tuple[float | FloatArray, float | FloatArray]:
    """Accel (m/s^2) and gyro (rad/s) per count: for the batch, or per sample (a column).

    Each packet states its own ranges; a firmware keeps them for the whole stream, so one
    pair for the batch is the common case.
    """
    ranges = set(itertools.compress(zip(accel_fs, gyro_fs, strict=True), counts))
    if len(ranges) == 1:
        ((accel_range_g, gyro_range_dps),) = ranges
        return accel_range_g / 32768.0 * MPS2_PER_G, gyro_range_dps / 32768.0 * RAD_PER_DEG
    per_packet = np.column_stack([accel_fs, gyro_fs]) / 32768.0 * [MPS2_PER_G, RAD_PER_DEG]
    per_sample = np.repeat(per_packet, counts, axis=0)
    return per_sample[:, 0:1], per_sample[:, 1:2]


def _sample_counts(
    payloads: list[bytes], counts: list[int], with_mag: list[bool]
) -> tuple[NDArray[np.int16], NDArray[np.int16] | None]:
    """Accel-and-gyro counts (n, 6) of the valid packets, and magnetometer counts if any.

    Packets with and without magnetometer in one batch have different strides: each kind is
    read on its own and their rows put back in arrival order (the others' mag rows are 0).
    """
    if not any(with_mag):
        return _rows(itertools.compress(payloads, counts), SAMPLE_BYTES), None
    is_plain = [n > 0 and not m for n, m in zip(counts, with_mag, strict=True)]
    plain = _rows(itertools.compress(payloads, is_plain), SAMPLE_BYTES)
    magged = _rows(itertools.compress(payloads, with_mag), SAMPLE_BYTES_WITH_MAG)
    if not len(plain):
        return magged[:, 0:6], magged[:, 6:9]
    mag_sample = np.repeat(with_mag, counts)
    raw = np.empty((len(mag_sample), 6), dtype=np.int16)
    raw[~mag_sample] = plain
    raw[mag_sample] = magged[:, 0:6]
    mag = np.zeros((len(mag_sample), 3), dtype=np.int16)
    mag[mag_sample] = magged[:, 6:9]
    return raw, mag


def _rows(packets: Iterable[bytes], stride: int) -> NDArray[np.int16]:
    """The int16 sample rows of ``packets`` (headers dropped), ``stride`` bytes each."""
    body = b"".join(packet[HEADER.size :] for packet in packets)
    rows: NDArray[np.int16] = np.frombuffer(body, dtype="<i2").reshape(-1, stride // 2)
    return rows


class BackspotterEncoder(Encoder):
    """Batches samples as the reference firmware does: full packets or 40 ms, whichever first."""

    def __init__(
        self,
        rate_hz: float,
        first_sequence: int,
        device_time_s: float,
        accel_range_g: int = DEFAULT_ACCEL_RANGE_G,
        gyro_range_dps: int = DEFAULT_GYRO_RANGE_DPS,
    ) -> None:
        self._period_us = round(1e6 / rate_hz)
        self._sequence = first_sequence
        self._start_us = round(device_time_s * 1e6)
        self._accel_range_g = accel_range_g
        self._gyro_range_dps = gyro_range_dps
        self._sent = 0
        self._rows: list[FloatArray] = []
        self._with_mag: bool | None = None

    def encode(
        self, accel_mps2: FloatArray, gyro_rps: FloatArray, mag_ut: FloatArray | None = None
    ) -> list[bytes]:
        """Notifications for every full batch; the rest waits for more samples."""
        n = len(accel_mps2)
        self._with_mag = mag_ut is not None
        columns = [
            quantize_int16(as_xyz(accel_mps2, n, "accel_mps2"), self._accel_lsb()),
            quantize_int16(as_xyz(gyro_rps, n, "gyro_rps"), self._gyro_lsb()),
        ]
        if mag_ut is not None:
            columns.append(quantize_int16(as_xyz(mag_ut, n, "mag_ut"), MAG_UT_PER_LSB))
        rows = np.concatenate([*self._rows, np.hstack(columns).astype(np.float64)])
        per_packet = self._per_packet()
        full = len(rows) - len(rows) % per_packet
        self._rows = [rows[full:]]
        return [self._packet(rows[i : i + per_packet]) for i in range(0, full, per_packet)]

    def flush(self) -> list[bytes]:
        """A last, shorter packet with the samples still waiting."""
        rows = np.concatenate(self._rows) if self._rows else np.zeros((0, 6))
        self._rows = []
        return [self._packet(rows)] if len(rows) else []

    def _per_packet(self) -> int:
        """Samples per packet: what 40 ms holds at this rate, at least 1, at most what fits."""
        span = max(1, int(MAX_PACKET_SPAN_S * 1e6 // self._period_us))
        return min(span, max_samples_per_packet(bool(self._with_mag)))

    def _packet(self, rows: FloatArray) -> bytes:
        """One packet of already-quantized sample rows."""
        flags = FLAG_MAGNETOMETER if rows.shape[1] == 9 else 0
        header = HEADER.pack(
            VERSION,
            flags,
            self._sequence,
            (self._start_us + self._sent * self._period_us) % (1 << 32),
            self._period_us,
            len(rows),
            self._accel_range_g,
            self._gyro_range_dps,
        )
        self._sequence = (self._sequence + 1) % (1 << 16)
        self._sent += len(rows)
        return header + rows.astype("<i2").tobytes()

    def _accel_lsb(self) -> float:
        """m/s^2 per count at the configured range."""
        return self._accel_range_g / 32768.0 * MPS2_PER_G

    def _gyro_lsb(self) -> float:
        """rad/s per count at the configured range."""
        return self._gyro_range_dps / 32768.0 * RAD_PER_DEG


@dataclass(frozen=True)
class BackspotterProfile(Profile):
    """The open profile: start and stop through the control characteristic."""

    def start_commands(self, rate_hz: float | None = None) -> list[GattWrite]:
        """START at ``rate_hz`` with +-8 g and +-2000 deg/s."""
        return [(CONTROL_UUID, start_command(self.snap_rate_hz(rate_hz)))]

    def stop_commands(self) -> list[GattWrite]:
        """STOP."""
        return [(CONTROL_UUID, bytes((OP_STOP,)))]

    def new_decoder(self) -> Decoder:
        """A fresh version-1 decoder."""
        return BackspotterDecoder()

    def new_encoder(
        self,
        rate_hz: float | None = None,
        *,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> Encoder:
        """An encoder starting at packet ``first_sequence`` and clock ``device_time_s``."""
        return BackspotterEncoder(self.snap_rate_hz(rate_hz), first_sequence, device_time_s)

    def parse_write(self, char_uuid: str, data: bytes) -> DeviceCommand:
        """Reads START and STOP control writes."""
        if char_uuid.lower() != CONTROL_UUID or not data:
            return DeviceCommand("unknown")
        if data == bytes((OP_STOP,)):
            return DeviceCommand("stop")
        if len(data) != START_FORMAT.size or data[0] != OP_START:
            return DeviceCommand("unknown")
        _, rate_hz, accel_fs, gyro_fs = START_FORMAT.unpack(data)
        valid = (
            MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ
            and accel_fs in ACCEL_RANGES_G
            and gyro_fs in GYRO_RANGES_DPS
        )
        return DeviceCommand("start", rate_hz=float(rate_hz)) if valid else DeviceCommand("unknown")


BACKSPOTTER = BackspotterProfile(
    name="backspotter",
    service_uuid=SERVICE_UUID,
    notify_uuid=DATA_UUID,
    write_uuid=CONTROL_UUID,
    nominal_rate_hz=100.0,
    supported_rates_hz=tuple(float(r) for r in range(MIN_RATE_HZ, MAX_RATE_HZ + 1)),
    name_prefixes=("Backspotter",),
    clock=DeviceClock(tick_s=1e-6, modulus=1 << 32),
    sequence_modulus=1 << 16,
)
