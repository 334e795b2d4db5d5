"""Nordic Thingy:52 motion service, raw data characteristic: 18 bytes, 9 x int16, no timestamp.

Layout, Q formats and configuration follow NordicSemiconductor/Nordic-Thingy52-FW
(``include/ble_services/ble_tms.h``, ``source/modules/m_motion.c``); see ``docs/devices.md``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
)
from sensor.samples import FloatArray


def _tms_uuid(short: int) -> str:
    """A Thingy motion-service UUID on Nordic's ``EF68xxxx-9B35-4933-9B10-52FFA9740042`` base."""
    return f"ef68{short:04x}-9b35-4933-9b10-52ffa9740042"


SERVICE_UUID = _tms_uuid(0x0400)
#: The Thingy configuration service, the one the Thingy advertises.
CONFIGURATION_SERVICE_UUID = _tms_uuid(0x0100)
CONFIG_UUID = _tms_uuid(0x0401)
RAW_UUID = _tms_uuid(0x0406)

RAW_BYTES = 18
#: Fractional bits of the Q formats the firmware packs into int16 (Q6.10, Q11.5, Q12.4).
ACCEL_FRACTION_BITS = 10
GYRO_FRACTION_BITS = 5
COMPASS_FRACTION_BITS = 4
ACCEL_G_PER_LSB = 1.0 / (1 << ACCEL_FRACTION_BITS)
GYRO_DPS_PER_LSB = 1.0 / (1 << GYRO_FRACTION_BITS)
COMPASS_UT_PER_LSB = 1.0 / (1 << COMPASS_FRACTION_BITS)
_SCALE_SI = np.array(
    [
        [ACCEL_G_PER_LSB * MPS2_PER_G] * 3
        + [GYRO_DPS_PER_LSB * RAD_PER_DEG] * 3
        + [COMPASS_UT_PER_LSB] * 3
    ]
)

#: ``ble_tms_config_t``: pedometer ms, temperature ms, compass ms, motion Hz, wake on motion.
CONFIG_FORMAT = struct.Struct("<HHHHB")
#: The firmware's ``MOTION_DEFAULT_CONFIG`` intervals, kept when only the rate changes.
DEFAULT_PEDOMETER_MS = 1000
DEFAULT_TEMPERATURE_MS = 500
DEFAULT_COMPASS_MS = 500
DEFAULT_WAKE_ON_MOTION = 1
MIN_RATE_HZ, MAX_RATE_HZ = 1, 200


def config_payload(rate_hz: float) -> bytes:
    """The motion configuration write selecting ``rate_hz``, other settings at the defaults."""
    return CONFIG_FORMAT.pack(
        DEFAULT_PEDOMETER_MS,
        DEFAULT_TEMPERATURE_MS,
        DEFAULT_COMPASS_MS,
        round(rate_hz),
        DEFAULT_WAKE_ON_MOTION,
    )


class Thingy52Decoder(Decoder):
    """One raw-motion notification is exactly one sample; any other length is bad."""

    def _decode_many(self, payloads: list[bytes]) -> DecodedFrames:
        """Decode 18-byte raw notifications, all with one ``frombuffer``."""
        lengths = list(map(len, payloads))
        valid = [length == RAW_BYTES for length in lengths]
        whole = self.keep_valid(payloads, lengths, valid)
        values = np.frombuffer(b"".join(whole), dtype="<i2").reshape(-1, 9) * _SCALE_SI
        return DecodedFrames(
            values[:, 0:3],
            values[:, 3:6],
            list(map(int, valid)),
            mag_ut=values[:, 6:9],
            fingerprint=list(map(hash, payloads)),
        )


def _firmware_counts(values: FloatArray, fraction_bits: int) -> NDArray[np.int16]:
    """The firmware's int16: Q16.16 shifted to ``fraction_bits``, integer part saturated.

    ``m_motion.c`` clamps the integer part to the signed range of the Q format's integer
    bits before the arithmetic shift, so the top value is ``(2**(i-1) - 1)`` exactly.
    """
    integer_bits = 16 - fraction_bits
    upper = float((1 << (integer_bits - 1)) - 1)
    lower = float(-(1 << (integer_bits - 1)))
    clamped = np.clip(values, lower, upper)
    return np.floor(clamped * (1 << fraction_bits)).astype(np.int16)


class Thingy52Encoder(Encoder):
    """One 18-byte raw notification per sample."""

    def encode(
        self, accel_mps2: FloatArray, gyro_rps: FloatArray, mag_ut: FloatArray | None = None
    ) -> list[bytes]:
        """Raw notifications: accel in g, gyro in deg/s, compass in microtesla."""
        n = len(accel_mps2)
        counts = np.empty((n, 9), dtype="<i2")
        counts[:, 0:3] = _firmware_counts(
            as_xyz(accel_mps2, n, "accel_mps2") / MPS2_PER_G, ACCEL_FRACTION_BITS
        )
        counts[:, 3:6] = _firmware_counts(
            as_xyz(gyro_rps, n, "gyro_rps") / RAD_PER_DEG, GYRO_FRACTION_BITS
        )
        counts[:, 6:9] = _firmware_counts(as_xyz(mag_ut, n, "mag_ut"), COMPASS_FRACTION_BITS)
        return [row.tobytes() for row in counts]


@dataclass(frozen=True)
class Thingy52Profile(Profile):
    """Thingy:52: enabling raw notifications starts the motion sensor; rate via the config."""

    def start_commands(self, rate_hz: float | None = None) -> list[GattWrite]:
        """Write the motion configuration with the chosen rate (the firmware stores it)."""
        return [(CONFIG_UUID, config_payload(self.snap_rate_hz(rate_hz)))]

    def stop_commands(self) -> list[GattWrite]:
        """Nothing: disabling notifications stops the raw feature."""
        return []

    def new_decoder(self) -> Decoder:
        """A fresh raw-motion decoder."""
        return Thingy52Decoder()

    def new_encoder(
        self,
        rate_hz: float | None = None,
        *,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> Encoder:
        """An encoder of raw-motion notifications (no counter or clock to start)."""
        return Thingy52Encoder()

    def parse_write(self, char_uuid: str, data: bytes) -> DeviceCommand:
        """Reads a ``ble_tms_config_t`` write; the firmware rejects other lengths."""
        if char_uuid.lower() != CONFIG_UUID or len(data) != CONFIG_FORMAT.size:
            return DeviceCommand("unknown")
        rate_hz = CONFIG_FORMAT.unpack(data)[3]
        if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
            return DeviceCommand("unknown")
        return DeviceCommand("configure", rate_hz=float(rate_hz))


THINGY52 = Thingy52Profile(
    name="thingy52",
    service_uuid=SERVICE_UUID,
    notify_uuid=RAW_UUID,
    write_uuid=CONFIG_UUID,
    nominal_rate_hz=50.0,
    supported_rates_hz=tuple(float(r) for r in range(MIN_RATE_HZ, MAX_RATE_HZ + 1)),
    name_prefixes=("Thingy",),
    has_magnetometer=True,
    extra_service_uuids=(CONFIGURATION_SERVICE_UUID,),
)
