"""Recordings: the ``imu-recording/1`` file format, read and written.

A recording is a UTF-8 CSV file ``NAME.csv`` (or gzip-compressed ``NAME.csv.gz``, recognised
by its content) with a header row and one row per sample::

    t,sensor,ax,ay,az,gx,gy,gz
    0.000000,upper,0.52,9.79,0.11,0.002,-0.013,0.0007
    0.000000,lower,-0.08,9.80,0.31,0.001,0.004,-0.0021
    0.010000,upper,0.53,9.78,0.12,0.004,-0.011,0.0009

Columns (any order; names are trimmed and case-insensitive; other columns are ignored):

- ``t``: time in seconds, any origin. It must not go backwards within a sensor; gaps and
  irregular spacing are kept as they are.
- ``ax, ay, az``: specific force in m/s^2 (about +9.81 on the axis pointing up at rest).
- ``gx, gy, gz``: angular rate in rad/s, right-handed.
- ``sensor`` (optional): the sensor's role (``upper``, ``lower``, ``lumbar`` or any other
  non-empty name) when several sensors are interleaved; rows are then sorted by ``t``.
  Without it the file holds one sensor with role ``lumbar``.
- ``mx, my, mz`` (optional, all three or none): magnetic field in microtesla. A sensor without
  a magnetometer leaves the three fields empty on all of its rows.

Numbers are plain decimals such as ``9.81`` or ``-1.2e-3``; every field must hold one (empty
fields, text, NaN and infinities are errors). Such errors, an empty file, a file with only
the header, a row with the wrong number of fields, a missing column or an empty role raise
:class:`~sensor.exc.RecordingFormatError` naming the file, the line (the header is line 1)
and the column (its name, or ``#N`` for the N-th field of a row when it has none).

Tolerated and documented:

- Duplicated samples: a row with the same sensor and ``t`` as that sensor's previous row is
  dropped (the first is kept); :attr:`Recording.dropped_duplicates` counts them.
- Impossible samples: a row with an acceleration beyond 16 g or an angular rate beyond
  2000 deg/s on any axis (:mod:`sensor.plausible`) is dropped;
  :attr:`Recording.dropped_impossible` counts them.
- Blank lines are skipped; ``\\r\\n`` line ends and a UTF-8 byte-order mark are accepted.
- A crash mid-write: a last line without its line end is dropped (it may be cut inside a
  number), and a gzip stream that stops without its end is read as far as it goes; both set
  :attr:`Recording.truncated`. Files are written with a line end after every row.

Beside the CSV may sit ``NAME.meta.json``::

    {"format": "imu-recording/1", "sample_rate_hz": 100,
     "sensors": {"upper": {"placement": "L1"}, "lower": {"placement": "S1"}},
     "device": "Movesense"}

(every key optional, ``format`` must be ``imu-recording/1`` when given), and, for fixtures
with known ground truth, ``NAME.truth.json`` (read by :func:`read_truth`).

Files are written with ``t`` to the microsecond and other values to six significant digits;
:class:`RecordingWriter` streams a live session to disk so that a killed recorder still
leaves a readable file.

This package is the public API of the format (import from ``sensor.recording``); its modules
parse (:mod:`~sensor.recording.parse`, :mod:`~sensor.recording.bulk`), find files and
sidecars (:mod:`~sensor.recording.files`), write (:mod:`~sensor.recording.writer`) and replay
a file as a live source (:mod:`~sensor.recording.replay`). May import :mod:`sensor.samples`,
:mod:`sensor.exc`, :mod:`sensor.plausible`, ``sensor.recording.*``, numpy and pyarrow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sensor.exc import RecordingFormatError
from sensor.plausible import drop_impossible
from sensor.recording.bulk import parse_bulk
from sensor.recording.files import (
    RECORDING_FORMAT,
    decode_utf8,
    read_meta,
    read_recording_bytes,
    read_truth,
)
from sensor.recording.parse import (
    REQUIRED_COLUMNS,
    Columns,
    drop_partial_last_line,
    first_problem,
    parse_exactly,
    parse_header,
    read_header,
    split_sensors,
)
from sensor.recording.writer import RecordingWriter, write_batches
from sensor.samples import SampleBatch

__all__ = [
    "RECORDING_FORMAT",
    "Recording",
    "RecordingWriter",
    "iter_batches",
    "read_recording",
    "read_truth",
    "write_recording",
]


@dataclass(frozen=True, slots=True, eq=False)
class Recording:
    """A whole recording: one time-ordered batch per sensor role, plus its metadata."""

    sensors: dict[str, SampleBatch]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Rows dropped because they repeated a sensor's previous time.
    dropped_duplicates: int = 0
    #: True when the file ended as a killed recorder leaves it (see the module docstring).
    truncated: bool = False
    #: Rows dropped as physically impossible (beyond 16 g or 2000 deg/s, see sensor.plausible).
    dropped_impossible: int = 0

    @property
    def roles(self) -> tuple[str, ...]:
        """The sensor roles, ``lumbar`` or ``upper`` and ``lower`` for the usual wear."""
        return tuple(self.sensors)

    @property
    def duration_s(self) -> float:
        """Seconds from the first sample of any sensor to the last."""
        traces = [batch.t_s for batch in self.sensors.values() if len(batch)]
        if not traces:
            return 0.0
        return float(max(t[-1] for t in traces) - min(t[0] for t in traces))


def read_recording(path: str | Path) -> Recording:
    """Read ``NAME.csv`` or ``NAME.csv.gz`` and its ``NAME.meta.json`` if there is one."""
    path = Path(path)
    raw, gzip_truncated = read_recording_bytes(path)
    columns, dropped_partial_line = _parse_rows(str(path), raw, decode_utf8(path, raw))
    sensors, dropped_duplicates = split_sensors(columns)
    truncated = gzip_truncated or dropped_partial_line
    dropped_impossible = 0
    for role, batch in sensors.items():
        sensors[role], dropped = drop_impossible(batch)
        dropped_impossible += dropped
    return Recording(
        sensors, read_meta(path), path, dropped_duplicates, truncated, dropped_impossible
    )


def _parse_rows(path: str, raw: bytes, text: str) -> tuple[Columns, bool]:
    """Every row, parsed in bulk or else exactly; True when a cut last line was dropped."""
    if not text.strip():
        message = f"empty file: expected a header such as {','.join(REQUIRED_COLUMNS)}"
        raise RecordingFormatError(path, 1, None, message)
    header, header_lines = read_header(text)
    layout = parse_header(path, header)
    raw, text, dropped_partial_line = drop_partial_last_line(raw, text)
    columns = parse_bulk(raw, layout) if header_lines == 1 else None
    if columns is None or first_problem(columns) is not None:
        columns = parse_exactly(path, text, layout)
    if columns.t_s.size == 0:
        cut_note = " (a last row without its line end was dropped)" if dropped_partial_line else ""
        message = f"no samples after the header{cut_note}"
        raise RecordingFormatError(path, header_lines + 1, None, message)
    return columns, dropped_partial_line


def write_recording(
    path: str | Path,
    recording: Recording | Iterable[SampleBatch],
    meta: dict[str, Any] | None = None,
) -> None:
    """Write a recording or batches to ``path``, and ``meta`` (else the recording's) beside it."""
    if isinstance(recording, Recording):
        batches: Iterable[SampleBatch] = recording.sensors.values()
        meta = recording.meta if meta is None else meta
    else:
        batches = recording
    write_batches(Path(path), list(batches), meta or None)


def iter_batches(recording: Recording, batch_s: float = 0.1) -> Iterator[SampleBatch]:
    """Replay ``recording`` as a live stream would deliver it: windows of ``batch_s`` seconds.

    Windows start at the earliest sample of any sensor; each yields one batch per sensor
    that has samples in it, in role order, so batches come in time order across sensors.
    """
    if batch_s <= 0:
        raise ValueError(f"batch_s must be positive, not {batch_s}")
    traces = [batch for batch in recording.sensors.values() if len(batch)]
    if not traces:
        return
    origin_s = min(float(batch.t_s[0]) for batch in traces)
    windows = [np.floor((batch.t_s - origin_s) / batch_s).astype(np.int64) for batch in traces]
    all_windows = np.unique(np.concatenate(windows))
    bounds = [
        zip(
            np.searchsorted(window, all_windows).tolist(),
            np.searchsorted(window, all_windows + 1).tolist(),
            strict=True,
        )
        for window in windows
    ]
    for window_bounds in zip(*bounds, strict=True):
        for batch, (start, stop) in zip(traces, window_bounds, strict=True):
            if stop > start:
                yield batch.slice(start, stop)
