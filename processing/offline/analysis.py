"""Offline analysis: a whole recording fed through the same streaming pipeline as live data."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from processing.detect.pipeline import AnalysisResult, Pipeline, PipelineConfig
from sensor.recording import Recording, iter_batches

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

    A file holds every sensor's data, so ticks always wait for all of them: the live rule
    that stops waiting for a silent sensor would only make the result depend on batching.
    """
    config = config or PipelineConfig()
    config = replace(config, ticks=replace(config.ticks, max_lag_s=math.inf))
    pipeline = Pipeline(tuple(recording.roles), config)
    for batch in iter_batches(recording, ANALYSIS_BATCH_S):
        pipeline.feed(batch)
        if progress is not None:
            progress(float(batch.t_s[-1]))
    pipeline.finish()
    return pipeline.result()
