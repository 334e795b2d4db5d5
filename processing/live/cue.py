"""The audible cue on a flexion alert: the lifter is mid-rep and cannot look at a screen.

``bell`` rings the terminal bell; ``tone`` plays a short generated beep through the first audio
player found (``paplay``, ``pw-play``, ``aplay``, ``afplay``), falling back to the bell where
there is none; ``off`` is silent.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Protocol, TextIO

log = logging.getLogger(__name__)

CUE_KINDS = ("off", "bell", "tone")
AUDIO_PLAYERS = ("paplay", "pw-play", "aplay", "afplay")
TONE_HZ = 1000.0
TONE_S = 0.15
_RATE_HZ = 16000


class Cue(Protocol):
    """Something that makes the lifter notice an alert."""

    def alert(self) -> None:
        """Sound the cue now (must not block)."""
        ...


class SilentCue:
    """``--cue off``."""

    def alert(self) -> None:
        """Nothing."""


class BellCue:
    """The terminal bell (BEL), written to the terminal the lifter hears."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal

    def alert(self) -> None:
        """Ring."""
        self.terminal.write("\a")
        self.terminal.flush()


class ToneCue:
    """A short sine beep played by an external audio player, without waiting for it."""

    def __init__(self, player: str, wav_path: Path) -> None:
        self.command = [player, str(wav_path)]

    def alert(self) -> None:
        """Start the player; a beep that overlaps the previous one is fine."""
        subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cue(kind: str, terminal: TextIO) -> Cue:
    """The cue ``--cue kind`` asks for (``tone`` falls back to the bell without audio)."""
    if kind == "off":
        return SilentCue()
    if kind == "tone":
        player = next((p for p in AUDIO_PLAYERS if shutil.which(p)), None)
        if player is not None:
            return ToneCue(player, write_tone(Path(tempfile.gettempdir()) / "backspotter-cue.wav"))
        log.info("no audio player (%s) found: using the terminal bell", ", ".join(AUDIO_PLAYERS))
    return BellCue(terminal)


def write_tone(path: Path, frequency_hz: float = TONE_HZ, duration_s: float = TONE_S) -> Path:
    """Write a mono 16-bit WAV beep with 10 ms fades (no clicks) to ``path``."""
    count = round(duration_s * _RATE_HZ)
    fade = round(0.01 * _RATE_HZ)
    frames = bytearray()
    for i in range(count):
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        sample = 0.5 * envelope * math.sin(2 * math.pi * frequency_hz * i / _RATE_HZ)
        frames += struct.pack("<h", round(sample * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_RATE_HZ)
        out.writeframes(bytes(frames))
    return path
