"""``backspotter replay FILE``: a recording through the live service path, paced in wall time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from processing.commands.live_options import DEFAULT_LIFTER, add_output_options, serve
from processing.commands.option_ranges import SPEED


def speed(text: str) -> str:
    """``--speed``: ``max`` or a factor in the documented range (kept as typed, for the URL)."""
    if text == "max":
        return text
    try:
        SPEED(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{error} (or max)") from None
    return text


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording as a live session (publish, store, console)",
        description="Stream a recording through the same service as live sensors: recording "
        "time is mapped to wall time, --speed times faster (max: as fast as possible).",
    )
    parser.add_argument("file", type=Path, help="recording (NAME.csv or NAME.csv.gz)")
    parser.add_argument(
        "--speed", type=speed, default="1", help="1, 10, ... or max (default: %(default)s)"
    )
    parser.add_argument(
        "--lifter",
        default=DEFAULT_LIFTER,
        metavar="NAME",
        help="lifter name (default: %(default)s)",
    )
    add_output_options(parser)
    parser.set_defaults(func=run)


def replay_url(path: Path, speed: str) -> str:
    """``replay://`` URL of a file (absolute, so any path survives URL parsing)."""
    return f"replay://{quote(str(path.resolve()))}?speed={speed}"


def run(args: argparse.Namespace) -> int:
    """Replay the file; the cue is off by default at ``--speed max`` (alerts would pile up)."""
    cue = args.cue or ("off" if args.speed == "max" else "bell")
    return serve(args, [(args.lifter, (replay_url(args.file, args.speed),))], cue)
