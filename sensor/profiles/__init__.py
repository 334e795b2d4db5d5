"""Byte-exact BLE device profiles by name: witmotion, movesense, thingy52, backspotter.

Pure bytes to samples and back; may import :mod:`sensor.samples`, ``sensor.profiles.*`` and
numpy.
"""

from __future__ import annotations

from sensor.profiles.backspotter import BACKSPOTTER
from sensor.profiles.base import (
    DecodedFrame,
    DecodedFrames,
    Decoder,
    DecoderStats,
    DeviceClock,
    DeviceCommand,
    Encoder,
    GattWrite,
    Profile,
)
from sensor.profiles.movesense import MOVESENSE
from sensor.profiles.thingy52 import THINGY52
from sensor.profiles.witmotion import WITMOTION

#: Every supported profile by name.
PROFILES: dict[str, Profile] = {
    profile.name: profile for profile in (WITMOTION, MOVESENSE, THINGY52, BACKSPOTTER)
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``KeyError`` names the known ones."""
    try:
        return PROFILES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown device profile {name!r}; known profiles: {known}") from None


__all__ = [
    "PROFILES",
    "DecodedFrame",
    "DecodedFrames",
    "Decoder",
    "DecoderStats",
    "DeviceClock",
    "DeviceCommand",
    "Encoder",
    "GattWrite",
    "Profile",
    "get_profile",
]
