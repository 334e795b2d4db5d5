"""The alert-threshold options shared by the commands that run the pipeline."""

from __future__ import annotations

import argparse

from processing.commands.option_ranges import (
    ABOVE_REFERENCE_DEG,
    REFERENCE_REP_COUNT,
    THRESHOLD_DEG,
)
from processing.detect.alerts import REFERENCE_REPS, ReferenceSettings


def add_threshold_options(parser: argparse.ArgumentParser) -> None:
    """``--threshold``, ``--above-reference`` and ``--reference-reps``."""
    parser.add_argument(
        "--threshold",
        type=THRESHOLD_DEG,
        metavar="DEG",
        help=f"alert threshold, {THRESHOLD_DEG.describe()} "
        "(default: 30 with two sensors, 60 with one)",
    )
    parser.add_argument(
        "--above-reference",
        type=ABOVE_REFERENCE_DEG,
        metavar="DEG",
        help="once the reference reps are in, alert this many degrees above their median "
        "peak instead (your own usual rep; --threshold applies until then)",
    )
    parser.add_argument(
        "--reference-reps",
        type=REFERENCE_REP_COUNT,
        default=REFERENCE_REPS,
        metavar="N",
        help="how many of the session's first reps make the reference (default: %(default)s)",
    )


def reference_settings(args: argparse.Namespace) -> ReferenceSettings:
    """The reference-rep settings the command line asked for."""
    return ReferenceSettings(above_deg=args.above_reference, reps=args.reference_reps)
