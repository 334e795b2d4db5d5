"""``backspotter evaluate DIR``: accuracy of the analysis on every recording with ground truth."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing.commands.option_ranges import THRESHOLD_DEG

if TYPE_CHECKING:
    from processing.offline.count_evaluation import CountScore
    from processing.offline.evaluation import FileScore

#: File name endings of recordings (``imu-recording/1``).
RECORDING_SUFFIXES = (".csv", ".csv.gz")

ProgressCallback = Callable[[float], None]


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score the analysis against ground truth on a directory of recordings",
        description="Analyze every recording in DIR (searched recursively) that has a "
        "NAME.truth.json beside it and print two sections. Real recordings (count-only truth: "
        "expected_reps and tolerance): reps found and whether within tolerance, per lifter's "
        "set or per activity, median peak angle and sensor swing, and the targets met. "
        "Simulated sessions (full truth): per-file and total figures: sets with the exact "
        "rep count, missed and spurious sets, rep precision and recall (lockouts within "
        "0.75 s), peak-flexion RMSE and bias (dual and single apart), alert precision and recall.",
    )
    parser.add_argument("directory", metavar="DIR", help="directory of recordings with truth")
    parser.add_argument(
        "--threshold",
        type=THRESHOLD_DEG,
        metavar="DEG",
        help="alert threshold in degrees (default: each truth file's own threshold)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score every recording with truth; exit 1 if one could not be read, 2 without any."""
    from processing.offline.count_evaluation import real_json
    from processing.offline.evaluation import total_score
    from processing.offline.evaluation_report import print_evaluation
    from processing.offline.real_targets import real_targets
    from processing.wire.json_text import to_json_text

    directory = Path(args.directory)
    paths = recordings_with_truth(directory) if directory.is_dir() else []
    if not paths:
        print(
            f"backspotter evaluate: no recording with a .truth.json in {directory}", file=sys.stderr
        )
        return 2
    scores, real, failures = _score_all(directory, paths, args.threshold)
    total = total_score(scores)
    targets = real_targets(real)
    if args.json:
        # "files" and "total" are the simulated (full-truth) figures, as before "real" came
        figures = {"files": [s.to_json() for s in scores], "total": total.to_json()}
        figures["real"] = real_json(real, [t.to_json() for t in targets])
        print(to_json_text({**figures, "failed": failures}, indent=2))
    else:
        print_evaluation(scores, total, failures, real, targets)
    return 1 if failures else 0


def recordings_with_truth(directory: Path) -> list[Path]:
    """Recordings under ``directory`` (recursively) that have a ``NAME.truth.json``."""
    from sensor.recording.files import sidecar_path

    return sorted(
        path
        for path in directory.rglob("*")
        if path.name.endswith(RECORDING_SUFFIXES) and sidecar_path(path, "truth").is_file()
    )


def _score_all(
    directory: Path, paths: list[Path], threshold_deg: float | None
) -> tuple[list[FileScore], list[CountScore], dict[str, str]]:
    """Full-truth and count-only scores of the files analyzed, and why others were not."""
    from processing.offline.evaluation import FileScore
    from sensor.exc import BackspotterSensorError

    scores: list[FileScore] = []
    real: list[CountScore] = []
    failures: dict[str, str] = {}
    with _progress_over_files(paths) as start_file:
        for path in paths:
            name = str(path.relative_to(directory))
            try:
                score = score_recording(path, name, threshold_deg, start_file(name))
            except BackspotterSensorError as exc:
                failures[name] = str(exc)
                continue
            if isinstance(score, FileScore):
                scores.append(score)
            else:
                real.append(score)
    return scores, real, failures


def score_recording(
    path: Path, name: str, threshold_deg: float | None, progress: ProgressCallback | None = None
) -> FileScore | CountScore:
    """Analyze one recording with the truth's threshold (or ``threshold_deg``) and score it.

    Full truth (``sets``) gives a ``FileScore``, count-only truth (``expected_reps``) a
    ``CountScore``; a truth with neither is refused as malformed.
    """
    from processing.detect.pipeline import PipelineConfig
    from processing.offline.analysis import analyze_recording
    from processing.offline.count_evaluation import is_count_only, score_count
    from processing.offline.evaluation import score_file, with_threshold
    from processing.offline.swing import sensor_swing_deg
    from sensor.exc import RecordingFormatError
    from sensor.recording import read_recording, read_truth

    recording = read_recording(path)
    truth = read_truth(path)
    if truth is None:
        raise RecordingFormatError(str(path), None, None, "no NAME.truth.json beside it")
    count_only = is_count_only(truth)
    if not count_only and "sets" not in truth:
        raise RecordingFormatError(
            str(path), None, None, "its NAME.truth.json has neither sets nor expected_reps"
        )
    if threshold_deg is None:
        threshold_deg = truth.get("threshold_deg")
    result = analyze_recording(recording, PipelineConfig(threshold_deg=threshold_deg), progress)
    if count_only:
        return score_count(name, truth, result.to_json(), sensor_swing_deg(recording))
    return score_file(name, with_threshold(truth, result.threshold_deg), result.to_json())


@contextmanager
def _progress_over_files(
    paths: list[Path],
) -> Iterator[Callable[[str], ProgressCallback | None]]:
    """``start_file(name)`` returning a callback that moves a bar through that file.

    The bar is shown (on stderr) only when stdout is a terminal.
    """
    if not sys.stdout.isatty():
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Evaluating", total=len(paths))
        files_started = 0

        def start_file(name: str) -> ProgressCallback:
            """Advance to the next file; its callback tracks recording time within it."""
            nonlocal files_started
            done = files_started
            files_started += 1
            bar.update(task, completed=done, description=name)
            return lambda t_s: bar.update(task, completed=done, description=f"{name} {t_s:.0f} s")

        yield start_file
        bar.update(task, completed=len(paths))
