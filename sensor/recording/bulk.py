"""Bulk parsing of recording CSV with pyarrow's C++ reader: the fast path of reading a file.

It reads a one-hour, two-sensor, 100 Hz recording in a fraction of a second, but cannot say
where a problem is: it returns None whenever anything is unusual, and the exact parser in
:mod:`sensor.recording.parse` then accepts the file or names the line and column at fault.

Values are copied straight out of the Arrow buffers (the documented columnar layout: a
validity bitmap, then the values) because pyarrow's ``to_numpy`` imports pandas, which alone
costs more than parsing the hour of data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sensor.recording.parse import (
    ACCEL_COLUMNS,
    GYRO_COLUMNS,
    MAG_COLUMNS,
    ROLE_COLUMN,
    TIME_COLUMN,
    Columns,
    IntArray,
    Layout,
)
from sensor.samples import DEFAULT_ROLE, FloatArray

BoolArray = NDArray[np.bool_]


def parse_bulk(raw: bytes, layout: Layout) -> Columns | None:
    """All rows of the CSV bytes ``raw`` (header included), or None when any is unusual."""
    table = _read_table(raw, layout)
    if table is None or table.num_rows == 0:
        return None
    t_s = np.empty(table.num_rows)
    accel_mps2 = np.empty((table.num_rows, 3))
    gyro_rps = np.empty((table.num_rows, 3))
    targets = [(TIME_COLUMN, t_s)]
    targets += [(name, accel_mps2[:, axis]) for axis, name in enumerate(ACCEL_COLUMNS)]
    targets += [(name, gyro_rps[:, axis]) for axis, name in enumerate(GYRO_COLUMNS)]
    for name, out in targets:
        present = _copy_floats(table.column(_field_name(layout, name)), out)
        if not (present.all() and np.isfinite(out).all()):
            return None
    mag_ut = _mag_or_none(table, layout)
    roles = _role_codes(table, layout)
    if (layout.has_mag and mag_ut is None) or roles is None:
        return None
    return Columns(t_s, roles[0], roles[1], accel_mps2, gyro_rps, mag_ut)


def _field_name(layout: Layout, name: str) -> str:
    """The name given to pyarrow for the known column ``name``."""
    return f"c{layout.position[name]}"


def _read_table(raw: bytes, layout: Layout) -> Any:
    """The known columns as a pyarrow table, or None when pyarrow rejects the text."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    types = {_field_name(layout, name): pa.float64() for name in layout.numeric}
    if layout.has_role:
        types[_field_name(layout, ROLE_COLUMN)] = pa.string()
    convert = pa_csv.ConvertOptions(
        column_types=types,
        include_columns=list(types),
        null_values=[""],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    names = [f"c{index}" for index in range(layout.width)]
    read = pa_csv.ReadOptions(column_names=names, skip_rows=1)
    try:
        return pa_csv.read_csv(pa.BufferReader(raw), read_options=read, convert_options=convert)
    except pa.ArrowException:
        return None


def _copy_floats(column: Any, out: FloatArray) -> BoolArray:
    """Copy a float64 column into ``out``; True where a value was present (not empty)."""
    present = np.ones(out.shape[0], dtype=bool)
    start = 0
    for chunk in column.chunks:
        stop = start + len(chunk)
        validity, values = chunk.buffers()
        out[start:stop] = np.frombuffer(values, np.float64, len(chunk), 8 * chunk.offset)
        if validity is not None and chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            present[start:stop] = bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)
        start = stop
    return present


def _mag_or_none(table: Any, layout: Layout) -> FloatArray | None:
    """Magnetometer values (NaN rows where all three fields are empty), or None if unusual."""
    if not layout.has_mag:
        return None
    mag_ut = np.empty((table.num_rows, 3))
    present = np.column_stack(
        [
            _copy_floats(table.column(_field_name(layout, name)), mag_ut[:, axis])
            for axis, name in enumerate(MAG_COLUMNS)
        ]
    )
    row_present = present.all(axis=1)
    if (present.any(axis=1) != row_present).any() or not np.isfinite(mag_ut[row_present]).all():
        return None
    mag_ut[~row_present] = np.nan
    return mag_ut


def _role_codes(table: Any, layout: Layout) -> tuple[IntArray, list[str]] | None:
    """Per-row role codes and the role names (trimmed), or None when a role is empty."""
    if not layout.has_role:
        return np.zeros(table.num_rows, dtype=np.intp), [DEFAULT_ROLE]
    import pyarrow.compute as pa_compute

    column = table.column(_field_name(layout, ROLE_COLUMN)).combine_chunks()
    encoded = pa_compute.dictionary_encode(column)
    spelled = [str(name).strip() for name in encoded.dictionary.to_pylist()]
    if not all(spelled):
        return None
    role_names = list(dict.fromkeys(spelled))
    code_of_spelling = np.asarray([role_names.index(name) for name in spelled], dtype=np.intp)
    indices = encoded.indices
    spelling = np.frombuffer(indices.buffers()[1], np.int32, len(indices), 4 * indices.offset)
    return code_of_spelling[spelling], role_names
