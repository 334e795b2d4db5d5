"""What a BLE sensor link needs to know: which device, which bleak backend, how patient to be."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from sensor.profiles import Profile
from sensor.samples import DEFAULT_ROLE

#: Seconds on the session's host time base (the ``t`` of every batch and status).
HostClock = Callable[[], float]

# Every BLE sensor of the process shares one host time base, so sources opened one by one
# and combined later still agree; it starts near 0 when the first sensor is opened.
_ORIGIN_S = time.monotonic()


def host_clock() -> float:
    """Monotonic seconds since this process first opened a BLE sensor (the default clock)."""
    return time.monotonic() - _ORIGIN_S


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One sensor to stream: the device (address or advertised name), its profile and role."""

    target: str
    profile: Profile
    role: str = DEFAULT_ROLE
    #: Requested output rate; ``None`` means the profile's nominal rate.
    rate_hz: float | None = None

    @property
    def stream_rate_hz(self) -> float:
        """The rate the device will actually stream at."""
        return self.profile.snap_rate_hz(self.rate_hz)


@dataclass(frozen=True, slots=True)
class BleBackend:
    """Bleak backend classes to use; ``None`` picks bleak's backend for this platform."""

    client: type[BaseBleakClient] | None = None
    scanner: type[BaseBleakScanner] | None = None


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """How long to look, how often to retry, when silence counts as an outage (seconds)."""

    #: Scan this long for the device before one connection attempt counts as failed.
    find_timeout_s: float = 5.0
    #: One connection attempt (connect, discover, subscribe, start) takes at most this long.
    connect_timeout_s: float = 10.0
    #: The first connection must be up by then, else :class:`~sensor.exc.DeviceError`.
    first_connect_timeout_s: float = 30.0
    #: Attempts bleak-retry-connector makes per connection attempt.
    retry_attempts: int = 2
    #: Backoff after a failed attempt: doubles from ``backoff_min_s`` up to ``backoff_max_s``.
    backoff_min_s: float = 0.1
    backoff_max_s: float = 1.0
    #: No notification for this long (host clock) on an open link is reported as an outage.
    silence_s: float = 1.0
    #: Stop writes and disconnect on close take at most this long.
    close_timeout_s: float = 2.0
