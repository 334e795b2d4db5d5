"""``backspotter decode``: decode raw BLE notifications of a device profile and print JSON.

For lifters checking their sensor (copy notifications from nRF Connect or a BlueZ log) and
for bug reports: each argument is one notification in hex, decoded in order by one decoder,
as a live connection would.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sensor.profiles.base import DecodedFrame, Profile

#: Characters people put between hex bytes (nRF Connect uses '-', BlueZ logs spaces).
_SEPARATORS = " :-_\t\r\n"
_SEPARATOR_TABLE = str.maketrans("", "", _SEPARATORS)
_HEX_DIGITS = "0123456789abcdefABCDEF"


def register(subparsers: Any) -> None:
    """Add the ``decode`` subcommand."""
    parser = subparsers.add_parser(
        "decode",
        help="decode raw BLE notifications of a device profile as JSON",
        description="Decode raw notifications (hex, one per argument, in arrival order) "
        "with a device profile and print the samples in SI units as JSON.",
    )
    parser.add_argument(
        "--profile",
        required=True,
        help="device profile: witmotion, movesense, thingy52 or backspotter",
    )
    parser.add_argument(
        "notifications",
        nargs="+",
        metavar="HEX",
        help="one notification in hex (spaces, ':' or '-' between bytes allowed); "
        "'-' reads one notification per line from standard input",
    )
    parser.set_defaults(func=run)


def parse_hex(text: str, label: str) -> bytes:
    """The bytes written in ``text``; ``ValueError`` names ``label`` and the bad column."""
    start = 2 if text.lower().startswith("0x") else 0
    for column, char in enumerate(text[start:], start=start + 1):
        if char not in _HEX_DIGITS and char not in _SEPARATORS:
            raise ValueError(f"{label}, column {column}: {char!r} is not a hex digit")
    digits = text[start:].translate(_SEPARATOR_TABLE)
    if len(digits) % 2:
        raise ValueError(f"{label}: odd number of hex digits ({len(digits)}), a byte is cut")
    return bytes.fromhex(digits)


def _labelled_inputs(arguments: list[str], stdin: Iterable[str]) -> list[tuple[str, str]]:
    """Each notification's text with a label saying where it came from."""
    inputs: list[tuple[str, str]] = []
    for position, argument in enumerate(arguments, start=1):
        if argument != "-":
            inputs.append((f"argument {position}", argument))
            continue
        lines = (line for line in stdin if line.strip())
        inputs.extend((f"stdin line {n}", line) for n, line in enumerate(lines, start=1))
    return inputs


def frame_json(index: int, payload: bytes, frame: DecodedFrame, profile: Profile) -> dict[str, Any]:
    """One notification's decoded samples and raw timing fields as JSON-ready data."""
    samples = [
        {"accel_mps2": accel, "gyro_rps": gyro}
        for accel, gyro in zip(frame.accel_mps2.tolist(), frame.gyro_rps.tolist(), strict=True)
    ]
    if frame.mag_ut is not None:
        for sample, mag in zip(samples, frame.mag_ut.tolist(), strict=True):
            sample["mag_ut"] = mag
    device_time_s = None
    if profile.clock is not None and frame.device_ticks is not None:
        device_time_s = frame.device_ticks * profile.clock.tick_s
    return {
        "index": index,
        "hex": payload.hex(),
        "bytes": len(payload),
        "sequence": frame.sequence,
        "device_ticks": frame.device_ticks,
        "device_time_s": device_time_s,
        "sample_period_s": frame.sample_period_s,
        "samples": samples,
    }


def decode_notifications(profile: Profile, payloads: list[bytes]) -> dict[str, Any]:
    """The JSON document ``decode`` prints for ``payloads`` decoded in order."""
    decoder = profile.new_decoder()
    frames = [frame_json(i, p, decoder.feed(p), profile) for i, p in enumerate(payloads)]
    return {"profile": profile.name, "notifications": frames, "stats": decoder.stats.as_dict()}


def run(args: argparse.Namespace) -> int:
    """Decode the notifications given on the command line and print them as JSON."""
    from sensor.profiles import get_profile

    try:
        profile = get_profile(args.profile)
        inputs = _labelled_inputs(args.notifications, sys.stdin)
        payloads = [parse_hex(text, label) for label, text in inputs]
    except (KeyError, ValueError) as error:
        message = error.args[0] if error.args else str(error)
        print(f"backspotter decode: error: {message}", file=sys.stderr)
        return 2
    from processing.wire.json_text import to_json_text

    print(to_json_text(decode_notifications(profile, payloads), indent=2))
    return 0
