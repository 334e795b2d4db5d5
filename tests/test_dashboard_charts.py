"""What the review pages draw and export, checked on the figures and files themselves:
column types Arrow accepts, lines broken at data gaps, a marker for every rep, set colours
apart from the alert red, visible progress bars, wording, one-sensor labels."""

from __future__ import annotations

import colorsys
import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dashboard.charts import (
    RED,
    concentric_figure,
    gauge,
    progress_figure,
    trace_figure,
    with_gaps,
)
from dashboard.data import (
    ProgressPoint,
    SetFatigue,
    fatigue_rows,
    reps_csv,
    session_json,
    tempo_change,
)
from dashboard.widgets import session_label
from processing.events import AngleTrace
from processing.store.reader import SessionDetail, SessionSummary, StoredRep, StoredSet

START = datetime(2025, 6, 15, 8, 15, 2, tzinfo=UTC)


def summary(mode: str = "dual", started: datetime = START, sid: str = "s1") -> SessionSummary:
    """A stored session's summary."""
    return SessionSummary(sid, "alice", started, None, mode, 30.0, ("sim://",), 1, 3, 1, 35.0)


def stored_rep(number: int, start: float, peak: float | None, set_number: int = 1) -> StoredRep:
    """A rep of 3 s starting at ``start``."""
    alert = peak is not None and peak > 30.0
    return StoredRep(set_number, number, start, start + 1, start + 3, 1.0 + number / 10, 1.5,
                     peak, alert, 0.4 if alert else 0.0)  # fmt: skip


def detail(mode: str = "dual") -> SessionDetail:
    """One set of three reps; the second was hidden by a gap (no peak)."""
    reps = (stored_rep(1, 10.0, 20.0), stored_rep(2, 14.0, None), stored_rep(3, 18.0, 35.0))
    return SessionDetail(summary(mode), (StoredSet(1, 10.0, 21.0, reps),), ())


def gapped_trace() -> AngleTrace:
    """25 points a second from 0 to 25 s, with nothing between 13 and 17.5 s."""
    t_s = np.arange(0.0, 25.0, 0.04)
    t_s = t_s[(t_s < 13.0) | (t_s > 17.5)]
    return AngleTrace(t_s, 15.0 + 10.0 * np.sin(t_s))


def test_a_set_without_a_rep_over_the_threshold_makes_an_arrow_table() -> None:
    rows = fatigue_rows([SetFatigue(1, 4, None, 1.06, 4, 1.44), SetFatigue(2, 3, 2, 1.4, 2, 1.3)])
    table = pa.Table.from_pandas(pd.DataFrame(rows))
    assert table.column("First rep over threshold").to_pylist() == ["none", "rep 2"]
    assert table.column("Concentric").to_pylist() == ["slower by 36%", "faster by 7%"]


@pytest.mark.parametrize(
    ("pct", "words"),
    [(36.2, "slower by 36%"), (-3.0, "faster by 3%"), (0.2, "the same"), (-0.4, "the same")],
)
def test_tempo_change_reads_as_words(pct: float, words: str) -> None:
    assert tempo_change(pct) == words


def test_two_sessions_of_the_same_minute_have_different_labels() -> None:
    first = summary(started=START, sid="a")
    second = summary(started=START + timedelta(seconds=40), sid="b")
    assert session_label(first, UTC) != session_label(second, UTC)


def test_the_trace_line_breaks_at_a_gap_and_nowhere_else() -> None:
    trace = gapped_trace()
    t_s, angle = with_gaps(trace.t_s, trace.angle_deg)
    assert int(np.isnan(angle).sum()) == 1
    (hole,) = np.flatnonzero(np.isnan(angle))
    assert t_s[hole - 1] < 13.0 < 17.5 < t_s[hole + 1]
    line = trace_figure(trace, detail().sets, 30.0, "dual").data[0]
    assert np.isnan(np.asarray(line.y, dtype=float)).sum() == 1


def test_every_rep_has_a_numbered_marker_even_without_a_peak() -> None:
    figure = trace_figure(gapped_trace(), detail().sets, 30.0, "dual")
    markers = [t for t in figure.data if t.mode == "markers+text"]
    numbers = sorted(int(n) for t in markers for n in t.text)
    assert numbers == [1, 2, 3]
    assert all(y is not None and math.isfinite(y) for t in markers for y in t.y)


def _hue_deg(colour: str) -> float:
    """Hue of a ``#rrggbb`` colour in degrees."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 360.0 * colorsys.rgb_to_hsv(r, g, b)[0]


def test_set_colours_stay_clear_of_the_alert_red() -> None:
    sets = tuple(
        StoredSet(n, 10.0 * n, 10.0 * n + 8, (stored_rep(1, 10.0 * n, 20.0, n),))
        for n in range(1, 8)
    )
    figure = concentric_figure(sets)
    colours = [t.line.color for t in figure.data if t.name.startswith("Set ")]
    assert len(colours) == 7 and RED not in colours
    for colour in colours:
        hue = _hue_deg(colour)
        assert 30.0 < hue < 330.0, f"{colour} is close to red"


def test_progress_bars_are_wider_than_a_hairline_and_points_clear_the_titles() -> None:
    when = [datetime(2025, 6, 15, 8, 0) + timedelta(minutes=m) for m in (0, 6, 12)]
    points = [ProgressPoint(f"s{i}", w, 38.0, 9, 2, 30.0) for i, w in enumerate(when)]
    figure = progress_figure(points, [], "dual")
    axis_ms = (figure.layout.xaxis.range[1] - figure.layout.xaxis.range[0]).total_seconds() * 1e3
    bars = [t for t in figure.data if t.type == "bar"]
    assert bars and all(b.width >= 0.01 * axis_ms for b in bars)
    assert figure.layout.yaxis.range[1] >= 1.25 * 38.0
    assert figure.layout.yaxis2.range[1] >= 1.25 * 9


def test_the_gauge_leaves_its_number_to_the_page() -> None:
    (indicator,) = gauge(23.0, 30.0, "dual").data
    assert indicator.mode == "gauge"


def test_one_sensor_exports_say_trunk_inclination() -> None:
    header = reps_csv(detail("single")).splitlines()[0].split(",")
    assert "peak_inclination_deg" in header and "peak_flexion_deg" not in header
    assert reps_csv(detail("dual")).splitlines()[0].split(",")[7] == "peak_flexion_deg"
    trace = AngleTrace(np.array([0.0]), np.array([1.0]))
    assert json.loads(session_json(detail("single"), trace))["angle"] == "trunk inclination"
    assert json.loads(session_json(detail("dual"), trace))["angle"] == "lumbar flexion"
