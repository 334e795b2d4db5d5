"""``backspotter analyze FILE``: sets, reps and flexion of a recording (contract 2)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from processing.commands.threshold_options import add_threshold_options, reference_settings
from processing.offline.report import progress_reporter


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand."""
    parser = subparsers.add_parser(
        "analyze",
        help="count reps and sets and measure flexion in a recording",
        description="Analyze an imu-recording/1 file (.csv or .csv.gz) through the same "
        "pipeline as live sessions.",
    )
    parser.add_argument("file", help="recording (NAME.csv or NAME.csv.gz)")
    parser.add_argument("--json", action="store_true", help="print contract-2 JSON")
    add_threshold_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyze the file and print JSON or tables; exit status 2 on a malformed file."""
    from processing.detect.pipeline import PipelineConfig
    from processing.offline.analysis import analysis_json, analyze_recording, input_warnings
    from processing.offline.report import print_analysis
    from processing.wire.json_text import to_json_text
    from sensor.exc import RecordingFormatError
    from sensor.recording import read_recording

    try:
        recording = read_recording(args.file)
    except (RecordingFormatError, OSError) as exc:
        print(f"backspotter analyze: {exc}", file=sys.stderr)
        return 2
    config = PipelineConfig(threshold_deg=args.threshold, reference=reference_settings(args))
    try:
        with progress_reporter(recording.duration_s, "Analyzing") as progress:
            result = analyze_recording(recording, config, progress)
    except ValueError as exc:  # sensor roles that measure nothing
        print(f"backspotter analyze: {args.file}: {exc}", file=sys.stderr)
        return 2
    warnings = input_warnings(recording)
    for warning in warnings:
        print(f"backspotter analyze: warning: {args.file}: {warning}", file=sys.stderr)
    if args.json:
        print(to_json_text(analysis_json(result, recording)))
    else:
        print_analysis(result, str(args.file), warnings)
    return 0
