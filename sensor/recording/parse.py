"""Parse ``imu-recording/1`` CSV text exactly, and the rules every parsed row must follow.

Two parsers produce the same :class:`Columns`: the bulk one in :mod:`sensor.recording.bulk`,
fast but unable to say where a problem is, and the exact one here (the ``csv`` module, row by
row), which is authoritative: whenever the bulk parser meets anything unusual, this one
accepts or rejects the file, naming the line and column of the first problem.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.exc import RecordingFormatError
from sensor.samples import DEFAULT_ROLE, ROLES, FloatArray, SampleBatch

TIME_COLUMN = "t"
ACCEL_COLUMNS = ("ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")
MAG_COLUMNS = ("mx", "my", "mz")
ROLE_COLUMN = "sensor"
REQUIRED_COLUMNS = (TIME_COLUMN, *ACCEL_COLUMNS, *GYRO_COLUMNS)
_KNOWN_COLUMNS = (*REQUIRED_COLUMNS, *MAG_COLUMNS, ROLE_COLUMN)

IntArray = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the known columns are in a recording's header."""

    width: int
    position: dict[str, int]

    @property
    def has_role(self) -> bool:
        """True when rows name their sensor (several sensors may be interleaved)."""
        return ROLE_COLUMN in self.position

    @property
    def has_mag(self) -> bool:
        """True when the file has magnetometer columns."""
        return MAG_COLUMNS[0] in self.position

    @property
    def numeric(self) -> tuple[str, ...]:
        """The numeric columns read, in the order they are stored in :class:`Columns`."""
        return REQUIRED_COLUMNS + (MAG_COLUMNS if self.has_mag else ())


@dataclass(frozen=True, slots=True)
class Columns:
    """Every parsed row in file order; ``lines`` (1-based) is known only to the exact parser."""

    t_s: FloatArray
    role_codes: IntArray
    role_names: list[str]
    accel_mps2: FloatArray
    gyro_rps: FloatArray
    mag_ut: FloatArray | None  # NaN rows where the three fields were empty
    lines: IntArray | None = None


class _FieldError(Exception):
    """One field of one row is wrong (the caller knows the line)."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def read_header(text: str) -> tuple[list[str], int]:
    """The header's fields and the number of physical lines it spans."""
    first_line = text[: text.find("\n") + 1 or len(text)]
    # Only a quoted header can span lines; copying the whole text for csv is costly otherwise.
    reader = csv.reader(io.StringIO(text if '"' in first_line else first_line, newline=""))
    try:
        header = next(reader, [])
    except csv.Error:
        return [], reader.line_num
    return header, reader.line_num


def parse_header(path: str, header: Sequence[str]) -> Layout:
    """Find the known columns (names are trimmed and case-insensitive); others are ignored."""
    position: dict[str, int] = {}
    for index, raw_name in enumerate(header):
        name = raw_name.strip().lower()
        if name in _KNOWN_COLUMNS:
            if name in position:
                raise RecordingFormatError(path, 1, name, "column appears twice in the header")
            position[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in position:
            message = f"missing required column (needed: {','.join(REQUIRED_COLUMNS)})"
            raise RecordingFormatError(path, 1, name, message)
    present_mag = [name for name in MAG_COLUMNS if name in position]
    if present_mag and len(present_mag) < len(MAG_COLUMNS):
        missing = next(name for name in MAG_COLUMNS if name not in position)
        message = "magnetometer columns mx, my and mz come together"
        raise RecordingFormatError(path, 1, missing, message)
    return Layout(len(header), position)


def drop_partial_last_line(raw: bytes, text: str) -> tuple[bytes, str, bool]:
    """Drop a last line without its line end: what a recorder killed mid-write leaves.

    Such a line may be cut inside a number and still parse, so it is never trusted.
    """
    newline = text.rfind("\n")
    cut = max(newline, text.rfind("\r", max(newline, 0))) + 1
    partial_line = text[cut:]
    if cut == 0 or not partial_line:
        return raw, text, False
    return raw[: len(raw) - len(partial_line.encode())], text[:cut], True


def parse_row(fields: Sequence[str], layout: Layout) -> tuple[str, list[float]]:
    """The role and numeric values of one row (NaN for empty magnetometer fields)."""
    if len(fields) != layout.width:
        raise _FieldError(*_width_problem(fields, layout))
    role = fields[layout.position[ROLE_COLUMN]].strip() if layout.has_role else DEFAULT_ROLE
    if not role:
        raise _FieldError(ROLE_COLUMN, "empty sensor role")
    values = [_number(name, fields[layout.position[name]]) for name in REQUIRED_COLUMNS]
    if not layout.has_mag:
        return role, values
    mag_fields = [fields[layout.position[name]] for name in MAG_COLUMNS]
    if not any(field.strip() for field in mag_fields):
        return role, [*values, math.nan, math.nan, math.nan]
    values.extend(_number(name, field) for name, field in zip(MAG_COLUMNS, mag_fields, strict=True))
    return role, values


def _width_problem(fields: Sequence[str], layout: Layout) -> tuple[str | None, str]:
    """Column and message for a row with the wrong number of fields."""
    message = f"{len(fields)} fields where the header has {layout.width}"
    if len(fields) > layout.width:
        return f"#{layout.width + 1}", message
    names = {index: name for name, index in layout.position.items()}
    return names.get(len(fields), f"#{len(fields) + 1}"), message


def _number(column: str, field: str) -> float:
    """The finite decimal number in ``field``."""
    if not field.strip():
        raise _FieldError(column, "empty field")
    try:
        value = float(field)
    except ValueError:
        raise _FieldError(column, f"not a number: {field!r}") from None
    if "_" in field or not field.isascii():
        raise _FieldError(column, f"not a number: {field!r}")
    if not math.isfinite(value):
        raise _FieldError(column, f"{field.strip()!r} is not allowed: values must be finite")
    return value


def parse_exactly(path: str, text: str, layout: Layout) -> Columns:
    """Parse row by row, raising at the first problem with its line and column."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    roles: list[str] = []
    values: list[list[float]] = []
    lines: list[int] = []
    try:
        for fields in reader:
            if not fields:
                continue
            try:
                role, row_values = parse_row(fields, layout)
            except _FieldError as exc:
                raise RecordingFormatError(path, reader.line_num, exc.column, exc.message) from None
            roles.append(role)
            values.append(row_values)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise RecordingFormatError(path, reader.line_num, None, f"unreadable CSV: {exc}") from None
    columns = _columns_from_rows(roles, values, layout, np.asarray(lines, dtype=np.intp))
    _raise_first_problem(path, columns)
    return columns


def _columns_from_rows(
    roles: list[str], values: list[list[float]], layout: Layout, lines: IntArray
) -> Columns:
    """Columns from per-row roles and numbers as :func:`parse_row` returns them."""
    role_names = list(dict.fromkeys(roles))
    code_of = {role: code for code, role in enumerate(role_names)}
    codes = np.fromiter((code_of[role] for role in roles), dtype=np.intp, count=len(roles))
    table = np.asarray(values, dtype=np.float64).reshape(len(values), len(layout.numeric))
    mag = table[:, len(REQUIRED_COLUMNS) :] if layout.has_mag else None
    return Columns(table[:, 0], codes, role_names, table[:, 1:4], table[:, 4:7], mag, lines)


def _raise_first_problem(path: str, columns: Columns) -> None:
    """Raise the first structural problem (time order, magnetometer gaps) with its line."""
    problem = first_problem(columns)
    if problem is not None and columns.lines is not None:
        row, column, message = problem
        raise RecordingFormatError(path, int(columns.lines[row]), column, message)


def first_problem(columns: Columns) -> tuple[int, str, str] | None:
    """Row, column and message of the first row that breaks a per-sensor rule, or None."""
    problems = []
    for code, role in enumerate(columns.role_names):
        rows = np.flatnonzero(columns.role_codes == code)
        problems.append(_time_problem(columns.t_s, rows, role))
        if columns.mag_ut is not None:
            problems.append(_mag_problem(columns.mag_ut, rows, role))
    found = [problem for problem in problems if problem is not None]
    return min(found) if found else None


def _time_problem(t_s: FloatArray, rows: IntArray, role: str) -> tuple[int, str, str] | None:
    """The first row of one sensor whose time is earlier than the row before it."""
    backwards = np.flatnonzero(np.diff(t_s[rows]) < 0)
    if backwards.size == 0:
        return None
    row = int(rows[backwards[0] + 1])
    previous = float(t_s[rows[backwards[0]]])
    message = f"time goes backwards for sensor {role!r}: {t_s[row]:g} after {previous:g}"
    return row, TIME_COLUMN, message


def _mag_problem(mag_ut: FloatArray, rows: IntArray, role: str) -> tuple[int, str, str] | None:
    """The first row of one sensor that has magnetometer values when others have none, or back."""
    empty = np.isnan(mag_ut[rows, 0])
    changed = np.flatnonzero(empty != empty[0])
    if changed.size == 0:
        return None
    message = f"sensor {role!r} has magnetometer values on some rows and empty fields on others"
    return int(rows[changed[0]]), MAG_COLUMNS[0], message


def ordered_roles(roles: Iterable[str]) -> list[str]:
    """Roles in a fixed order: ``lumbar``, ``upper``, ``lower``, then any others alphabetically."""
    unique = set(roles)
    known = [role for role in ROLES if role in unique]
    return known + sorted(unique - set(ROLES))


def split_sensors(columns: Columns) -> tuple[dict[str, SampleBatch], int]:
    """One batch per sensor, dropping repeated samples (same sensor and time); and their count."""
    sensors: dict[str, SampleBatch] = {}
    dropped = 0
    for role in ordered_roles(columns.role_names):
        rows = np.flatnonzero(columns.role_codes == columns.role_names.index(role))
        repeated = np.flatnonzero(np.diff(columns.t_s[rows]) == 0) + 1
        rows = np.delete(rows, repeated)
        dropped += repeated.size
        sensors[role] = _batch(columns, role, rows)
    return sensors, dropped


def _batch(columns: Columns, role: str, rows: IntArray) -> SampleBatch:
    """The rows ``rows`` of ``columns`` as one sensor's batch."""
    mag = None
    if columns.mag_ut is not None and not np.isnan(columns.mag_ut[rows[0], 0]):
        mag = columns.mag_ut[rows]
    return SampleBatch(
        role, columns.t_s[rows], columns.accel_mps2[rows], columns.gyro_rps[rows], mag
    )
