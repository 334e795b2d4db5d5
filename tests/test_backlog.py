"""Catching up: batches that piled up are joined per sensor without changing any result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from processing.detect.pipeline import Pipeline, PipelineConfig
from processing.live.backlog import Backlog, coalesce, join
from sensor.recording import iter_batches, read_recording
from sensor.samples import SampleBatch, SensorStatus
from sensor.sources import SourceItem

FIXTURE = Path(__file__).parents[1] / "fixtures" / "edge_upside_down.csv.gz"


def batch(role: str, start: int, count: int = 2, mag: bool = False) -> SampleBatch:
    t_s = np.arange(start, start + count) / 100.0
    values = np.column_stack([t_s, t_s, t_s])
    return SampleBatch(role, t_s, values, -values, values * 2 if mag else None)


def test_runs_of_batches_become_one_batch_per_sensor_and_links_stay_in_place() -> None:
    lost = SensorStatus("lower", False, 0.04, "timeout")
    items: list[SourceItem] = [
        batch("upper", 0),
        batch("lower", 0),
        batch("upper", 2),
        lost,
        batch("upper", 4),
    ]
    out = coalesce(items)
    assert [(x.role, type(x).__name__) for x in out] == [
        ("upper", "SampleBatch"),
        ("lower", "SampleBatch"),
        ("lower", "SensorStatus"),
        ("upper", "SampleBatch"),
    ]
    first = out[0]
    assert isinstance(first, SampleBatch)
    assert first.t_s.tolist() == [0.0, 0.01, 0.02, 0.03]
    assert first.gyro_rps[:, 0].tolist() == [-0.0, -0.01, -0.02, -0.03]
    assert out[2] is lost


def test_joined_batches_keep_the_magnetometer_only_if_all_have_it() -> None:
    assert join([batch("upper", 0, mag=True), batch("upper", 2, mag=True)]).mag_ut is not None
    assert join([batch("upper", 0, mag=True), batch("upper", 2)]).mag_ut is None


async def items_then(
    items: list[SourceItem], error: Exception | None, gate: asyncio.Event | None = None
) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item
    if gate is not None:
        await gate.wait()
    if error is not None:
        raise error


@pytest.mark.asyncio
async def test_take_returns_everything_that_piled_up_then_the_end() -> None:
    items: list[SourceItem] = [batch("upper", 0), batch("upper", 2), batch("upper", 4)]
    gate = asyncio.Event()
    async with Backlog(items_then(items, None, gate)) as backlog:
        # The reader queues all three before it first waits (on the gate), and only then
        # does the waiting take() resume: it gets them in one go.
        taken = await backlog.take()
        assert taken is not None and taken[0] == items
        gate.set()
        assert await backlog.take() is None


@pytest.mark.asyncio
async def test_a_source_failure_comes_after_the_items_before_it() -> None:
    items: list[SourceItem] = [batch("upper", 0)]
    async with Backlog(items_then(items, OSError("link gone"))) as backlog:
        taken = await backlog.take()
        assert taken is not None and taken[0] == items
        with pytest.raises(OSError, match="link gone"):
            await backlog.take()


def test_joining_piled_up_batches_changes_no_result() -> None:
    recording = read_recording(FIXTURE)
    batches = list(iter_batches(recording, 0.1))

    def events(groups: list[list[SampleBatch]]) -> list[tuple[str, float, dict[str, Any]]]:
        pipeline = Pipeline(recording.roles, PipelineConfig())
        out = []
        for group in groups:
            for item in coalesce(group):
                assert isinstance(item, SampleBatch)
                out += pipeline.feed(item).events
        out += pipeline.finish().events
        return [(e.type, e.t, e.data) for e in out]

    one_by_one = events([[b] for b in batches])
    piled_up = events([batches[i : i + 7] for i in range(0, len(batches), 7)])
    assert any(kind == "rep" for kind, _, _ in one_by_one)
    assert piled_up == one_by_one
