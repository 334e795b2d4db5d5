"""Finding sensors: which nearby advertisers match a known profile, and one device by name."""

from __future__ import annotations

from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from sensor.ble.config import BleBackend
from sensor.profiles import PROFILES, Profile


@dataclass(frozen=True, slots=True)
class FoundSensor:
    """A nearby device whose advertisement matches a supported profile."""

    name: str | None
    address: str
    rssi_dbm: int
    profile: str

    def url(self, role: str | None = None) -> str:
        """The ``ble://`` source URL that streams this sensor."""
        query = f"profile={self.profile}" + (f"&role={role}" if role else "")
        return f"ble://{self.address}?{query}"


def recognise(advertisement: AdvertisementData) -> Profile | None:
    """The profile whose service UUID or name prefix the advertisement shows, if any."""
    for profile in PROFILES.values():
        if profile.matches(advertisement.local_name, advertisement.service_uuids):
            return profile
    return None


async def scan(timeout_s: float, backend: BleBackend | None = None) -> list[FoundSensor]:
    """Listen for ``timeout_s`` seconds; recognised sensors, strongest signal first."""
    seen = await BleakScanner.discover(timeout_s, return_adv=True, **_scanner_args(backend))
    found = [_found(device, adv) for device, adv in seen.values()]
    sensors = [sensor for sensor in found if sensor is not None]
    return sorted(sensors, key=lambda s: (-s.rssi_dbm, s.address))


def _found(device: BLEDevice, advertisement: AdvertisementData) -> FoundSensor | None:
    """A :class:`FoundSensor` for a recognised advertiser, else ``None``."""
    profile = recognise(advertisement)
    if profile is None:
        return None
    name = advertisement.local_name or device.name
    return FoundSensor(name, device.address, advertisement.rssi, profile.name)


async def find_device(
    target: str, timeout_s: float, backend: BleBackend | None = None
) -> BLEDevice | None:
    """The advertiser whose address or advertised name is ``target``, or ``None`` in time."""
    wanted = target.lower()

    def is_target(device: BLEDevice, advertisement: AdvertisementData) -> bool:
        """Match on address (case-insensitive) or exact advertised name."""
        return device.address.lower() == wanted or target in (advertisement.local_name, device.name)

    return await BleakScanner.find_device_by_filter(
        is_target, timeout=timeout_s, **_scanner_args(backend)
    )


def _scanner_args(backend: BleBackend | None) -> BleakScanner.ExtraArgs:
    """Keyword arguments selecting the scanner backend (none: bleak's platform default)."""
    if backend is None or backend.scanner is None:
        return {}
    return {"backend": backend.scanner}
