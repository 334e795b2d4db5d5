"""Movesense sensors with the GATT SensorData protocol (``gatt_sensordata_app``), IMU6 stream.

A data notification is ``[0x02, ref, u32 timestamp ms]`` then N accelerometer xyz float32
(m/s^2) followed by N gyroscope xyz float32 (deg/s): array-major, not interleaved. The
timestamp is the first sample's. Sources: the Movesense GATT SensorData protocol page and
movesense-device-lib ``samples/gatt_sensordata_app``; see ``docs/devices.md``.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import struct
from dataclasses import dataclass

import numpy as np

from sensor.profiles.base import (
    RAD_PER_DEG,
    DecodedFrames,
    Decoder,
    DeviceClock,
    DeviceCommand,
    Encoder,
    GattWrite,
    Profile,
    as_xyz,
)
from sensor.samples import FloatArray

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

# Commands (client to sensor) and responses (sensor to client), by first byte.
CMD_HELLO, CMD_SUBSCRIBE, CMD_UNSUBSCRIBE = 0, 1, 2
RESP_COMMAND_RESULT, RESP_DATA, RESP_DATA_PART2 = 1, 2, 3
#: The reference byte our client tags its IMU subscription with (any non-zero byte works).
IMU_REFERENCE = 0x4D
HTTP_OK = 200

HEADER = struct.Struct("<BBI")
SAMPLE_BYTES = 2 * 3 * 4  # acc xyz + gyro xyz, float32 each
#: Samples per notification our encoder sends (the count observed at 52 Hz).
SAMPLES_PER_PACKET = 4
RATES_HZ = (13.0, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0)
_IMU6_PATH = re.compile(rb"^/?Meas/IMU6/(\d+)\x00?$")


def subscribe_command(rate_hz: float, reference: int = IMU_REFERENCE) -> bytes:
    """The SUBSCRIBE write for ``/Meas/IMU6/<rate>``."""
    return bytes((CMD_SUBSCRIBE, reference)) + f"/Meas/IMU6/{round(rate_hz)}".encode()


def command_result(reference: int, status: int = HTTP_OK) -> bytes:
    """A COMMAND_RESULT notification with an HTTP-style status."""
    return struct.pack("<BBH", RESP_COMMAND_RESULT, reference, status)


class MovesenseDecoder(Decoder):
    """Decodes DATA notifications; joins a DATA_PART2 continuation to its first part."""

    def __init__(self) -> None:
        super().__init__()
        self._first_part = b""

    def _decode_many(self, payloads: list[bytes]) -> DecodedFrames:
        """Assemble whole DATA messages one notification at a time, then decode them together."""
        messages: list[bytes] = []
        owners: list[int] = []
        for index, payload in enumerate(payloads):
            message = self._message(payload)
            if message:
                messages.append(message)
                owners.append(index)
        return self._samples(messages, owners, len(payloads))

    def _message(self, payload: bytes) -> bytes:
        """The whole DATA message ``payload`` completes, or ``b""`` (DATA first: most common)."""
        kind = payload[0] if payload else None
        if kind == RESP_DATA and len(payload) > HEADER.size:
            if self._first_part:
                self._drop_first_part()
            if (len(payload) - HEADER.size) % SAMPLE_BYTES == 0:
                return payload
            self._first_part = payload
            return b""
        if kind == RESP_COMMAND_RESULT and len(payload) >= 2:
            self.stats.replies += 1
            return b""
        if kind == RESP_DATA_PART2:
            return self._second_part(payload)
        self.reject(payload)
        return b""

    def _samples(self, messages: list[bytes], owners: list[int], n_payloads: int) -> DecodedFrames:
        """Samples of whole DATA messages, one ``frombuffer`` per run of equal-sized messages."""
        counts, ticks = [0] * n_payloads, [0] * n_payloads
        lengths = list(map(len, messages))
        blocks = [
            self._run(messages[start:stop], owners[start:stop], counts, ticks)
            for start, stop in _equal_runs(lengths)
        ]
        if not blocks:
            return DecodedFrames.empty(n_payloads)
        values = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        return DecodedFrames(
            values[:, 0:3], values[:, 3:6] * RAD_PER_DEG, counts, device_ticks=ticks
        )

    def _run(
        self, messages: list[bytes], owners: list[int], counts: list[int], ticks: list[int]
    ) -> FloatArray:
        """Samples (accel xyz, gyro xyz in deg/s per row) of equal-sized messages without NaN.

        Fills in the sample count and device clock of the notifications that completed them;
        a message with a NaN or infinity is bad.
        """
        n = (len(messages[0]) - HEADER.size) // SAMPLE_BYTES
        records = np.frombuffer(b"".join(messages), dtype=_message_dtype(n))
        values = records["values"].astype(np.float64)
        # A NaN or infinity anywhere makes the sum non-finite (float32 values cannot
        # overflow a float64 sum); one reduction is cheaper than an element-wise test.
        finite = [True] * len(messages)
        if not math.isfinite(values.sum()):
            finite = np.isfinite(values.reshape(len(messages), -1).sum(axis=1)).tolist()
            self.keep_valid(messages, list(map(len, messages)), finite)
            values = values[finite]
        for owner, ok, timestamp_ms in zip(
            owners, finite, records["timestamp_ms"].tolist(), strict=True
        ):
            if ok:
                counts[owner], ticks[owner] = n, timestamp_ms
        # (message, accel|gyro, sample, xyz) to one row per sample: accel xyz, gyro xyz.
        rows: FloatArray = values.transpose(0, 2, 1, 3).reshape(-1, 6)
        return rows

    def _second_part(self, payload: bytes) -> bytes:
        """This continuation joined to the waiting first part, if they fit together."""
        first, self._first_part = self._first_part, b""
        joined = first + payload[2:]
        same_reference = len(payload) >= 2 and first[1:2] == payload[1:2]
        if not first or not same_reference or (len(joined) - HEADER.size) % SAMPLE_BYTES:
            self.stats.skipped_bytes += len(first)
            self.reject(payload)
            return b""
        return joined

    def _drop_first_part(self) -> None:
        """Count a first part whose continuation never came."""
        if self._first_part:
            self.stats.bad_packets += 1
            self.stats.skipped_bytes += len(self._first_part)
            self._first_part = b""


def _equal_runs(lengths: list[int]) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal lengths; one run in a steady stream."""
    if min(lengths, default=0) == max(lengths, default=0):
        return [(0, len(lengths))] if lengths else []
    bounds = [
        0,
        *itertools.accumulate(sum(1 for _ in run) for _, run in itertools.groupby(lengths)),
    ]
    return list(itertools.pairwise(bounds))


@functools.cache
def _message_dtype(n_samples: int) -> np.dtype[np.void]:
    """A DATA message of ``n_samples`` IMU6 samples as a numpy record (array-major values)."""
    return np.dtype(
        [
            ("kind", "u1"),
            ("reference", "u1"),
            ("timestamp_ms", "<u4"),
            ("values", "<f4", (2, n_samples, 3)),
        ]
    )


class MovesenseEncoder(Encoder):
    """Batches samples into DATA notifications stamped with the device's millisecond clock."""

    def __init__(self, rate_hz: float, device_time_s: float, reference: int) -> None:
        self._period_ms = 1000.0 / rate_hz
        self._start_ms = device_time_s * 1000.0
        self._reference = reference
        self._sent = 0
        self._accel: list[FloatArray] = []
        self._gyro: list[FloatArray] = []

    def encode(
        self, accel_mps2: FloatArray, gyro_rps: FloatArray, mag_ut: FloatArray | None = None
    ) -> list[bytes]:
        """Notifications for every full batch of :data:`SAMPLES_PER_PACKET` samples."""
        n = len(accel_mps2)
        self._accel.append(as_xyz(accel_mps2, n, "accel_mps2"))
        self._gyro.append(as_xyz(gyro_rps, n, "gyro_rps") / RAD_PER_DEG)
        accel, gyro = np.concatenate(self._accel), np.concatenate(self._gyro)
        full = len(accel) - len(accel) % SAMPLES_PER_PACKET
        self._accel, self._gyro = [accel[full:]], [gyro[full:]]
        return [
            self._message(accel[i : i + SAMPLES_PER_PACKET], gyro[i : i + SAMPLES_PER_PACKET])
            for i in range(0, full, SAMPLES_PER_PACKET)
        ]

    def flush(self) -> list[bytes]:
        """A last, shorter notification with the samples still waiting."""
        accel, gyro = np.concatenate(self._accel), np.concatenate(self._gyro)
        self._accel, self._gyro = [accel[:0]], [gyro[:0]]
        return [self._message(accel, gyro)] if len(accel) else []

    def _message(self, accel: FloatArray, gyro_dps: FloatArray) -> bytes:
        """One DATA message; the timestamp is the first sample's, in device milliseconds."""
        timestamp_ms = round(self._start_ms + self._sent * self._period_ms) % (1 << 32)
        self._sent += len(accel)
        header = HEADER.pack(RESP_DATA, self._reference, timestamp_ms)
        body = np.concatenate([accel, gyro_dps]).astype("<f4")
        return header + body.tobytes()


@dataclass(frozen=True)
class MovesenseProfile(Profile):
    """Movesense: subscribe to ``/Meas/IMU6/<rate>`` over the SensorData write characteristic."""

    def start_commands(self, rate_hz: float | None = None) -> list[GattWrite]:
        """SUBSCRIBE ``/Meas/IMU6/<rate>`` with our reference byte."""
        return [(WRITE_UUID, subscribe_command(self.snap_rate_hz(rate_hz)))]

    def stop_commands(self) -> list[GattWrite]:
        """UNSUBSCRIBE our reference."""
        return [(WRITE_UUID, bytes((CMD_UNSUBSCRIBE, IMU_REFERENCE)))]

    def new_decoder(self) -> Decoder:
        """A fresh SensorData decoder."""
        return MovesenseDecoder()

    def new_encoder(
        self,
        rate_hz: float | None = None,
        *,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> Encoder:
        """An encoder whose clock reads ``device_time_s`` at the first sample."""
        return MovesenseEncoder(
            self.snap_rate_hz(rate_hz),
            device_time_s,
            IMU_REFERENCE if stream_id is None else stream_id,
        )

    def parse_write(self, char_uuid: str, data: bytes) -> DeviceCommand:
        """Reads HELLO, SUBSCRIBE ``/Meas/IMU6/<rate>`` and UNSUBSCRIBE."""
        if char_uuid.lower() != WRITE_UUID or len(data) < 2:
            return DeviceCommand("unknown")
        command, reference = data[0], data[1]
        if command == CMD_HELLO:
            return DeviceCommand(
                "hello", replies=(bytes((RESP_COMMAND_RESULT, reference)) + b"Hello",)
            )
        if command == CMD_UNSUBSCRIBE:
            return DeviceCommand("stop", stream_id=reference, replies=(command_result(reference),))
        match = _IMU6_PATH.match(data[2:]) if command == CMD_SUBSCRIBE else None
        if match is None or float(match.group(1)) not in RATES_HZ:
            return DeviceCommand("unknown")
        return DeviceCommand(
            "start",
            rate_hz=float(match.group(1)),
            stream_id=reference,
            replies=(command_result(reference),),
        )


MOVESENSE = MovesenseProfile(
    name="movesense",
    service_uuid=SERVICE_UUID,
    notify_uuid=NOTIFY_UUID,
    write_uuid=WRITE_UUID,
    nominal_rate_hz=52.0,
    supported_rates_hz=RATES_HZ,
    name_prefixes=("Movesense",),
    clock=DeviceClock(tick_s=0.001, modulus=1 << 32),
)
