"""``backspotter scan [--timeout S]``: nearby sensors whose advertisement matches a profile."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from processing.commands.option_ranges import SCAN_TIMEOUT_S

if TYPE_CHECKING:
    from sensor.ble import FoundSensor


def register(subparsers: Any) -> None:
    """Add the ``scan`` subcommand."""
    parser = subparsers.add_parser(
        "scan",
        help="list nearby sensors with a recognised profile",
        description="Listen for Bluetooth LE advertisements and list the devices that match "
        "a supported profile (WitMotion, Movesense, Thingy:52, Backspotter), strongest first, "
        "with the ble:// URL that streams each.",
    )
    parser.add_argument(
        "--timeout",
        type=SCAN_TIMEOUT_S,
        default=5.0,
        metavar="S",
        help=f"seconds to listen, {SCAN_TIMEOUT_S.describe()} (default 5)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print a table; 1 when the Bluetooth adapter cannot be used."""
    from bleak.exc import BleakError

    from sensor.ble import scan
    from sensor.exc import NO_ADAPTER_HINT

    try:
        found = asyncio.run(scan(args.timeout))
    except (BleakError, OSError) as exc:
        print(f"backspotter scan: {NO_ADAPTER_HINT} ({exc})", file=sys.stderr)
        return 1
    print("\n".join(format_found(found)))
    return 0


def format_found(found: Sequence[FoundSensor]) -> list[str]:
    """A table of the sensors found (or a hint when there are none)."""
    if not found:
        return ["no supported sensor found (is it on, charged and not connected elsewhere?)"]
    rows = [("PROFILE", "NAME", "ADDRESS", "RSSI", "URL")]
    rows += [(s.profile, s.name or "?", s.address, f"{s.rssi_dbm} dBm", s.url()) for s in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
