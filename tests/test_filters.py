"""The filter stage: streams that do not depend on chunking, gaps that hold, and the rise
time rep timing reads from a design."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import signal

from processing.detect.filters import SHORT_BLOCK, FilterDesign, StreamFilter

HINGE = FilterDesign("lowpass", (2.0,))


@pytest.mark.parametrize("rate_hz", [25.0, 31.0, 50.0, 100.0, 200.0])
def test_the_rise_time_is_when_a_step_first_reaches_the_fraction(rate_hz: float) -> None:
    rise_s = HINGE.rise_time_s(rate_hz, 0.9)
    step = signal.sosfilt(HINGE.sos(rate_hz), np.ones(round(rate_hz)))
    reached = round(rise_s * rate_hz) - 1  # the sample index the rise time ends on
    assert step[reached] >= 0.9
    assert np.all(step[:reached] < 0.9)


def test_a_lower_cutoff_rises_more_slowly() -> None:
    slow = FilterDesign("lowpass", (1.0,)).rise_time_s(100.0, 0.9)
    assert slow > HINGE.rise_time_s(100.0, 0.9) > 0.0


def test_a_stream_gives_the_same_output_on_any_chunking_and_holds_through_gaps() -> None:
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=500))
    values[200:260] = np.nan
    whole = StreamFilter(HINGE, 50.0).apply(values)
    chunked = StreamFilter(HINGE, 50.0)
    cuts = [0, 7, 8, 199, 230, 261, 500]
    parts = [chunked.apply(values[a:b]) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-12)
    held = whole[200:260]
    assert not np.isnan(held).any()
    np.testing.assert_allclose(np.diff(held[-10:]), 0.0, atol=1e-2)  # settled on the last value


@pytest.mark.parametrize(
    "design",
    [
        HINGE,
        FilterDesign("bandpass", (1.2, 3.5)),
        FilterDesign("lowpass", (0.5,)),
        FilterDesign("highpass", (0.3,), order=4),
    ],
)
def test_short_blocks_come_out_of_plain_python_as_scipy_filters_them(design: FilterDesign) -> None:
    # Live blocks (a few ticks) skip scipy's sosfilt for the same recurrence in plain Python:
    # the numbers must be scipy's to the last bit, or live and offline results would part.
    rng = np.random.default_rng(11)
    values = np.cumsum(rng.normal(size=3000)) * 7.0
    values[:40] = np.nan  # nothing seen yet
    values[900:1000] = np.nan  # a gap held through
    values[rng.integers(0, values.size, 30)] = np.nan  # lost samples
    whole = StreamFilter(design, 50.0).apply(values)  # one long block: scipy's loop
    assert values.size > SHORT_BLOCK
    short = StreamFilter(design, 50.0)
    cuts = np.unique([0, values.size, *rng.integers(0, values.size, 900).tolist()])
    parts = [short.apply(values[a:b]) for a, b in itertools.pairwise(cuts.tolist())]
    assert max(b - a for a, b in itertools.pairwise(cuts.tolist())) <= SHORT_BLOCK
    assert np.concatenate(parts).tobytes() == whole.tobytes()
