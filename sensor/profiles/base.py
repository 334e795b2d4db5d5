"""What every BLE device profile provides: GATT identity, start/stop writes, decoder, encoder.

A profile is the byte-exact knowledge of one device family. The bleak client asks it which
characteristics to use, what to write to start and stop streaming, and for a fresh
:class:`Decoder` per connection. The emulated peripherals ask it for an :class:`Encoder`
(the inverse of the decoder, producing the firmware's own notification bytes) and to read
the writes a client sends (:meth:`Profile.parse_write`).
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sensor.samples import GRAVITY_MPS2, FloatArray

#: Raw bytes as bleak hands them to a notification callback.
Payload = bytes | bytearray | memoryview
#: One GATT write: (characteristic UUID, value).
GattWrite = tuple[str, bytes]

#: Degrees to radians, for gyroscopes that report deg/s.
RAD_PER_DEG = math.pi / 180.0
#: Metres per second squared in one g, for accelerometers that report g.
MPS2_PER_G = GRAVITY_MPS2

_EMPTY_XYZ: FloatArray = np.zeros((0, 3), dtype=np.float64)
_EMPTY_XYZ.setflags(write=False)


@dataclass(frozen=True, slots=True)
class DeviceClock:
    """A free-running counter the device stamps on its packets (``ticks * tick_s`` seconds)."""

    tick_s: float
    #: The counter wraps to 0 when it reaches this value (2**32 for a u32 counter).
    modulus: int


class DecodedFrame(NamedTuple):
    """The samples decoded from one notification, in SI units, with the device's timing.

    ``accel_mps2`` and ``gyro_rps`` have shape (n, 3); ``mag_ut`` too when the device sends a
    magnetometer. ``n`` may be 0 (a partial frame, a command reply, a bad packet).
    ``sequence`` is the raw packet counter as sent (wraps at ``Profile.sequence_modulus``),
    ``device_ticks`` the raw device clock of the first sample (wraps at
    ``Profile.clock.modulus``), ``sample_period_s`` the spacing the packet states; each is
    ``None`` when the device does not send it. ``fingerprint`` identifies the payload bytes
    (for spotting notifications delivered twice) on profiles with neither counter nor clock.
    A named tuple rather than a dataclass: one is built per notification, and this is the
    cheapest immutable record to build.
    """

    accel_mps2: FloatArray
    gyro_rps: FloatArray
    mag_ut: FloatArray | None = None
    sequence: int | None = None
    device_ticks: int | None = None
    sample_period_s: float | None = None
    fingerprint: int | None = None

    @property
    def n_samples(self) -> int:
        """Number of samples in the frame."""
        return len(self.accel_mps2)

    @classmethod
    def empty(cls) -> DecodedFrame:
        """A frame with no samples and no timing."""
        return _EMPTY_FRAME


_EMPTY_FRAME = DecodedFrame(_EMPTY_XYZ, _EMPTY_XYZ)


class DecodedFrames(NamedTuple):
    """The samples of consecutive notifications, concatenated, with each notification's timing.

    What :meth:`Decoder.feed_many` returns: ``accel_mps2``, ``gyro_rps`` (and ``mag_ut``) hold
    every sample in arrival order; the per-notification lists have one entry per notification
    fed: ``counts`` says how many samples it carried (0 for a bad packet, a reply, a partial
    frame) and the others hold the frame-level fields of :class:`DecodedFrame` (meaningless
    where the count is 0). A column is ``None`` when the device does not send that field.
    :meth:`frames` gives each notification's :class:`DecodedFrame` back.
    """

    accel_mps2: FloatArray
    gyro_rps: FloatArray
    counts: list[int]
    mag_ut: FloatArray | None = None
    #: Which notifications sent magnetometer values; ``None``: all of them when ``mag_ut`` is
    #: set (the others' rows in ``mag_ut`` hold no measurement).
    with_mag: list[bool] | None = None
    sequence: list[int] | None = None
    device_ticks: list[int] | None = None
    sample_period_s: list[float] | None = None
    fingerprint: list[int] | None = None

    @classmethod
    def empty(cls, n_notifications: int) -> DecodedFrames:
        """``n_notifications`` notifications that carried no samples."""
        return cls(_EMPTY_XYZ, _EMPTY_XYZ, [0] * n_notifications)

    @property
    def n_samples(self) -> int:
        """Samples of all the notifications."""
        return len(self.accel_mps2)

    def frame(self, index: int) -> DecodedFrame:
        """The samples and timing of notification ``index``, as :meth:`Decoder.feed` gives them."""
        return self._frame(index, sum(self.counts[:index]))

    def frames(self) -> Iterator[DecodedFrame]:
        """Every notification's frame, in order."""
        start = 0
        for index, count in enumerate(self.counts):
            yield self._frame(index, start)
            start += count

    def _frame(self, index: int, start: int) -> DecodedFrame:
        """Notification ``index``, whose samples start at row ``start``."""
        stop = start + self.counts[index]
        if start == stop:
            return _EMPTY_FRAME
        mag = self.mag_ut
        if mag is not None and (self.with_mag is None or self.with_mag[index]):
            mag = mag[start:stop]
        else:
            mag = None
        return DecodedFrame(
            self.accel_mps2[start:stop],
            self.gyro_rps[start:stop],
            mag,
            None if self.sequence is None else self.sequence[index],
            None if self.device_ticks is None else self.device_ticks[index],
            None if self.sample_period_s is None else self.sample_period_s[index],
            None if self.fingerprint is None else self.fingerprint[index],
        )


@dataclass(slots=True)
class DecoderStats:
    """Running counts of what a decoder has seen (reported by ``decode`` and on link loss)."""

    #: Notifications fed.
    packets: int = 0
    #: Samples decoded.
    samples: int = 0
    #: Notifications from which bytes had to be thrown away (malformed, truncated, unknown).
    bad_packets: int = 0
    #: Times a stream decoder skipped bytes to find the next frame header.
    resyncs: int = 0
    #: Bytes thrown away in total.
    skipped_bytes: int = 0
    #: Command responses or register replies recognised (not samples).
    replies: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict."""
        return asdict(self)


class Decoder(ABC):
    """Turns notification payloads into decoded samples; never raises on bad bytes.

    Bad bytes are counted in :attr:`stats` and skipped. One decoder per connection: stream
    decoders keep a partial frame between notifications. :meth:`feed_many` is the working
    path (the BLE client hands over every notification of one event-loop pass at once, so
    numpy's per-call cost is paid once per batch); :meth:`feed` is a batch of one.
    """

    def __init__(self) -> None:
        self.stats = DecoderStats()

    def feed(self, payload: Payload) -> DecodedFrame:
        """Decode one notification's payload."""
        return self.feed_many((payload,)).frame(0)

    def feed_many(self, payloads: Sequence[Payload]) -> DecodedFrames:
        """Decode consecutive notifications, exactly as feeding them one by one would."""
        if not payloads:
            return DecodedFrames.empty(0)
        data = [p if type(p) is bytes else bytes(p) for p in payloads]
        frames = self._decode_many(data)
        self.stats.packets += len(data)
        self.stats.samples += frames.n_samples
        return frames

    def reject(self, payload: bytes) -> None:
        """Count ``payload`` as a bad packet; nothing is decoded from it."""
        self.stats.bad_packets += 1
        self.stats.skipped_bytes += len(payload)

    def keep_valid(
        self, payloads: list[bytes], lengths: list[int], valid: list[bool]
    ) -> list[bytes]:
        """The payloads where ``valid`` holds; the others are counted as bad packets."""
        if all(valid):
            return payloads
        bad_lengths = list(itertools.compress(lengths, [not ok for ok in valid]))
        self.stats.bad_packets += len(bad_lengths)
        self.stats.skipped_bytes += sum(bad_lengths)
        return list(itertools.compress(payloads, valid))

    @abstractmethod
    def _decode_many(self, payloads: list[bytes]) -> DecodedFrames:
        """Decode consecutive payloads (at least one, already copied to ``bytes``)."""


class Encoder(ABC):
    """Turns SI samples into notification payloads, byte for byte as the device's firmware.

    Samples that do not yet fill a notification wait for the next :meth:`encode` call, as a
    device batches them; :meth:`flush` sends what is left.
    """

    @abstractmethod
    def encode(
        self, accel_mps2: FloatArray, gyro_rps: FloatArray, mag_ut: FloatArray | None = None
    ) -> list[bytes]:
        """Append samples (arrays of shape (n, 3)) and return the notifications now complete."""

    def flush(self) -> list[bytes]:
        """Return the notification holding the samples still waiting, if the device batches."""
        return []


@dataclass(frozen=True, slots=True)
class DeviceCommand:
    """What a client's write asks of a device, as its firmware understands it."""

    action: Literal["start", "stop", "configure", "unlock", "hello", "unknown"]
    rate_hz: float | None = None
    #: Device-specific stream tag (the Movesense reference byte); 0 when unused.
    stream_id: int = 0
    #: Notifications the device sends in answer (command results), before any data.
    replies: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Profile(ABC):
    """GATT identity and byte-level behaviour of one device family."""

    name: str
    service_uuid: str
    notify_uuid: str
    write_uuid: str | None
    nominal_rate_hz: float
    #: Rates the device can stream at, ascending (``start_commands`` snaps to the nearest).
    supported_rates_hz: tuple[float, ...]
    #: Advertised-name prefixes that identify the device when it does not advertise its service.
    name_prefixes: tuple[str, ...]
    #: The device's own sample clock, or ``None`` when packets carry no timestamp.
    clock: DeviceClock | None = None
    #: Packet counter modulus, or ``None`` when packets carry no sequence number.
    sequence_modulus: int | None = None
    has_magnetometer: bool = False
    extra_service_uuids: tuple[str, ...] = field(default=())

    @property
    def has_device_clock(self) -> bool:
        """Whether sample times can come from the device's own counter."""
        return self.clock is not None

    def snap_rate_hz(self, rate_hz: float | None) -> float:
        """The supported rate nearest ``rate_hz`` (the nominal rate when ``None``)."""
        if rate_hz is None:
            return self.nominal_rate_hz
        return min(self.supported_rates_hz, key=lambda r: (abs(r - rate_hz), r))

    def matches(self, advertisement_name: str | None, service_uuids: Sequence[str]) -> bool:
        """Whether a scanned advertisement belongs to this kind of device."""
        wanted = {self.service_uuid.lower(), *(u.lower() for u in self.extra_service_uuids)}
        if any(u.lower() in wanted for u in service_uuids):
            return True
        name = advertisement_name or ""
        return any(name.startswith(prefix) for prefix in self.name_prefixes)

    @abstractmethod
    def start_commands(self, rate_hz: float | None = None) -> list[GattWrite]:
        """Writes that start streaming at ``rate_hz`` once notifications are enabled."""

    @abstractmethod
    def stop_commands(self) -> list[GattWrite]:
        """Writes that stop streaming before notifications are disabled."""

    @abstractmethod
    def new_decoder(self) -> Decoder:
        """A fresh decoder for one connection."""

    @abstractmethod
    def new_encoder(
        self,
        rate_hz: float | None = None,
        *,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> Encoder:
        """An encoder producing this device's notifications, as an emulated peripheral needs.

        ``first_sequence`` and ``device_time_s`` start the packet counter and the device
        clock (for profiles that send them); ``stream_id`` is the device's stream tag
        (``None``: the tag our own client subscribes with).
        """

    @abstractmethod
    def parse_write(self, char_uuid: str, data: bytes) -> DeviceCommand:
        """What the device's firmware makes of a client's write (for emulated peripherals)."""

    def encode(
        self,
        accel_mps2: FloatArray,
        gyro_rps: FloatArray,
        mag_ut: FloatArray | None = None,
        *,
        rate_hz: float | None = None,
        first_sequence: int = 0,
        device_time_s: float = 0.0,
        stream_id: int | None = None,
    ) -> list[bytes]:
        """All notifications for the given samples, including a final partial batch."""
        encoder = self.new_encoder(
            rate_hz,
            first_sequence=first_sequence,
            device_time_s=device_time_s,
            stream_id=stream_id,
        )
        return encoder.encode(accel_mps2, gyro_rps, mag_ut) + encoder.flush()


def quantize_int16(values: FloatArray, units_per_lsb: float) -> NDArray[np.int16]:
    """Physical values as int16 counts, rounded and saturated as a sensor register would be."""
    counts = np.rint(np.asarray(values, dtype=np.float64) / units_per_lsb)
    return np.clip(counts, -32768, 32767).astype(np.int16)


def as_xyz(values: FloatArray | None, n: int, name: str) -> FloatArray:
    """``values`` as a float64 (n, 3) array, zeros when ``None``; rejects other shapes."""
    if values is None:
        return np.zeros((n, 3), dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n, 3):
        raise ValueError(f"{name} must have shape ({n}, 3), not {arr.shape}")
    return arr
