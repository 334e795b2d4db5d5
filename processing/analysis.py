"""Offline analysis: a whole recording fed through the same streaming pipeline as live data."""

from __future__ import annotations

from collections.abc import Callable

from processing.pipeline import AnalysisResult, Pipeline, PipelineConfig
from sensor.recording import Recording, iter_batches

#: Batch length used when replaying a recording, in s (about one BLE notification burst).
REPLAY_BATCH_S = 0.1


def analyze_recording(
    recording: Recording,
    config: PipelineConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> AnalysisResult:
    """Sets, reps and flexion events of a recording; ``progress`` gets the seconds done."""
    pipeline = Pipeline(tuple(recording.roles), config)
    for batch in iter_batches(recording, REPLAY_BATCH_S):
        pipeline.feed(batch)
        if progress is not None:
            progress(float(batch.t_s[-1]))
    pipeline.finish()
    return pipeline.result()
