"""Offline analysis: a whole recording fed through the same streaming pipeline as live data."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from processing.detect.pipeline import AnalysisResult, Pipeline, PipelineConfig
from sensor.recording import Recording, iter_batches
from sensor.samples import roles_problem

#: Batch length used when analyzing a recording, in s. The pipeline's results do not depend
#: on batching (tested), so offline analysis takes long batches to spend its time on samples
#: rather than on per-call overhead.
ANALYSIS_BATCH_S = 10.0


def analyze_recording(
    recording: Recording,
    config: PipelineConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> AnalysisResult:
    """Sets, reps and flexion events of a recording; ``progress`` gets the seconds done.

    ``ValueError`` when the recording's sensor roles cannot be measured with (a ``lower``
    sensor alone, an unknown role). A file holds every sensor's data, so ticks always wait
    for all of them: the live rule that stops waiting for a silent sensor would only make the
    result depend on batching.
    """
    problem = roles_problem(recording.roles)
    if problem is not None:
        raise ValueError(problem)
    config = config or PipelineConfig()
    config = replace(config, ticks=replace(config.ticks, max_lag_s=math.inf))
    pipeline = Pipeline(tuple(recording.roles), config)
    for batch in iter_batches(recording, ANALYSIS_BATCH_S):
        pipeline.feed(batch)
        if progress is not None:
            progress(float(batch.t_s[-1]))
    pipeline.finish()
    return pipeline.result()


def input_warnings(recording: Recording) -> list[str]:
    """What was wrong with the recording's data, one sentence each (empty when nothing)."""
    warnings = []
    if recording.truncated:
        warnings.append(
            "the file is cut short (its last row or its gzip end is missing): "
            "analyzed up to where it stops"
        )
    if recording.dropped_impossible:
        warnings.append(
            f"{recording.dropped_impossible} impossible sample(s) dropped "
            "(beyond 16 g or 2000 deg/s on an axis)"
        )
    return warnings


def analysis_json(result: AnalysisResult, recording: Recording) -> dict[str, Any]:
    """Contract 2 of docs/contracts.md: the result plus what was wrong with the input."""
    return {
        **result.to_json(),
        "dropped_samples": recording.dropped_impossible,
        "truncated": recording.truncated,
    }
