"""Write ``imu-recording/1`` files, whole or streamed live (format: :mod:`sensor.recording`)."""

from __future__ import annotations

import gzip
import math
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import numpy as np

from sensor.recording.files import is_gzip_path, write_meta
from sensor.recording.parse import (
    ACCEL_COLUMNS,
    GYRO_COLUMNS,
    MAG_COLUMNS,
    ROLE_COLUMN,
    TIME_COLUMN,
)
from sensor.samples import DEFAULT_ROLE, SampleBatch

#: How long (recording seconds) rows wait for a lagging sensor before being written anyway.
DEFAULT_MAX_HOLD_S = 2.0
_FORBIDDEN_IN_ROLE = frozenset(',"\r\n')


def write_batches(path: Path, batches: Sequence[SampleBatch], meta: dict[str, Any] | None) -> None:
    """Write ``batches`` (any roles, any order) as one recording sorted by time."""
    roles = list(dict.fromkeys(batch.role for batch in batches))
    with_mag = any(batch.mag_ut is not None for batch in batches)
    with _CsvFile(path, roles, with_mag, meta) as out:
        out.write_rows(batches)


class _CsvFile:
    """An open recording file: header written, rows appended and flushed at every write."""

    def __init__(
        self, path: Path, roles: Sequence[str], with_mag: bool, meta: dict[str, Any] | None
    ) -> None:
        for role in roles:
            _check_role(role)
        self.with_role = list(roles) != [DEFAULT_ROLE]
        self.with_mag = with_mag
        self._mag_by_role: dict[str, bool] = {}
        if meta is not None:
            write_meta(path, meta)
        self._file = _open_for_text(path)
        self._file.write(",".join(self._header()) + "\n")
        self._file.flush()

    def _header(self) -> list[str]:
        """Column names, in the order rows are written."""
        role = [ROLE_COLUMN] if self.with_role else []
        mag = list(MAG_COLUMNS) if self.with_mag else []
        return [TIME_COLUMN, *role, *ACCEL_COLUMNS, *GYRO_COLUMNS, *mag]

    def write_rows(self, batches: Sequence[SampleBatch]) -> None:
        """Append the samples of ``batches`` merged in time order, then flush."""
        batches = [batch for batch in batches if len(batch)]
        if not batches:
            return
        lines = [line for batch in batches for line in self._lines(batch)]
        order = np.argsort(np.concatenate([batch.t_s for batch in batches]), kind="stable")
        self._file.write("".join([lines[index] for index in order.tolist()]))
        self._file.flush()

    def _lines(self, batch: SampleBatch) -> list[str]:
        """One formatted line per sample of ``batch``."""
        has_mag = self.with_mag and batch.mag_ut is not None
        if self._mag_by_role.setdefault(batch.role, has_mag) != has_mag:
            raise ValueError(f"sensor {batch.role!r} has magnetometer values only in some batches")
        columns = [batch.t_s[:, np.newaxis], batch.accel_mps2, batch.gyro_rps]
        if has_mag and batch.mag_ut is not None:
            columns.append(batch.mag_ut)
        row_format = self._row_format(batch.role, has_mag)
        return [row_format % tuple(row) for row in np.hstack(columns).tolist()]

    def _row_format(self, role: str, has_mag: bool) -> str:
        """``%`` format of one row: t to the microsecond, values to six significant digits."""
        cells = ["%.6f"]
        if self.with_role:
            cells.append(role.replace("%", "%%"))
        cells.extend(["%.6g"] * (len(ACCEL_COLUMNS) + len(GYRO_COLUMNS)))
        if self.with_mag:
            cells.extend(["%.6g" if has_mag else ""] * len(MAG_COLUMNS))
        return ",".join(cells) + "\n"

    def close(self) -> None:
        """Close the file (a gzip file gets its end marker)."""
        self._file.close()

    def __enter__(self) -> _CsvFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _check_role(role: str) -> None:
    """Reject a role name that the CSV format cannot carry unquoted."""
    if not role or role != role.strip() or _FORBIDDEN_IN_ROLE & set(role):
        raise ValueError(f'sensor role {role!r} must be a non-empty name without , " or line ends')


def _open_for_text(path: Path) -> TextIO:
    """``path`` opened for writing UTF-8 text, gzip-compressed when it ends in ``.gz``."""
    if is_gzip_path(path):
        return gzip.open(path, "wt", compresslevel=6, encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


class RecordingWriter:
    """Stream a live session to a recording file, rows sorted by time across sensors.

    Rows wait until every sensor in ``roles`` has delivered samples up to their time, so the
    file interleaves sensors in time order even when their batches arrive out of step; a
    silent sensor holds the others back by at most ``max_hold_s`` (recording seconds), after
    which rows are written anyway. Released rows are flushed at once, so a killed recorder
    leaves a readable file missing only the held rows (:func:`~sensor.recording.read_recording`
    drops a line cut in half). ``flush()`` writes the held rows too. Rows earlier than their
    sensor's newest row are skipped and counted in ``skipped_rows``. Magnetometer values are
    recorded only with ``magnetometer=True``.
    """

    def __init__(
        self,
        path: str | Path,
        roles: Sequence[str],
        meta: dict[str, Any] | None = None,
        *,
        magnetometer: bool = False,
        max_hold_s: float = DEFAULT_MAX_HOLD_S,
    ) -> None:
        self.path = Path(path)
        self.roles = tuple(roles)
        self.max_hold_s = max_hold_s
        self._file = _CsvFile(self.path, self.roles, magnetometer, meta)
        self._held: dict[str, list[SampleBatch]] = {role: [] for role in self.roles}
        self._newest_t_s: dict[str, float] = {}
        self._closed = False
        #: Rows not written because their time was before their sensor's newest row.
        self.skipped_rows = 0

    def write(self, batch: SampleBatch) -> None:
        """Accept one batch; write (and flush) every row no sensor can still precede."""
        if self._closed:
            raise ValueError(f"{self.path} is closed")
        if batch.role not in self._held:
            raise ValueError(f"sensor {batch.role!r} is not one of {self.roles}")
        batch = self._in_time_order(batch)
        if not len(batch):
            return
        self._held[batch.role].append(batch)
        self._newest_t_s[batch.role] = float(batch.t_s[-1])
        self._release(self._safe_until_s())

    def _in_time_order(self, batch: SampleBatch) -> SampleBatch:
        """``batch`` without the rows earlier than its sensor's newest, counted as skipped.

        A reader rejects time going backwards within a sensor, and a live recording should
        lose a stray sample rather than stop.
        """
        newest_s = self._newest_t_s.get(batch.role, -math.inf)
        previous_max_s = np.maximum.accumulate(np.concatenate(([newest_s], batch.t_s)))[:-1]
        kept = np.flatnonzero(batch.t_s >= previous_max_s)
        if kept.size == len(batch):
            return batch
        self.skipped_rows += len(batch) - kept.size
        mag = None if batch.mag_ut is None else batch.mag_ut[kept]
        return SampleBatch(
            batch.role, batch.t_s[kept], batch.accel_mps2[kept], batch.gyro_rps[kept], mag
        )

    def _safe_until_s(self) -> float:
        """Time up to which rows can be written: every sensor has passed it, or held too long."""
        slowest_s = min(self._newest_t_s.get(role, -math.inf) for role in self.roles)
        return max(slowest_s, max(self._newest_t_s.values()) - self.max_hold_s)

    def _release(self, until_s: float) -> None:
        """Write the held rows up to ``until_s`` inclusive; keep the rest."""
        released: list[SampleBatch] = []
        for role, held in self._held.items():
            kept: list[SampleBatch] = []
            for batch in held:
                cut = int(np.searchsorted(batch.t_s, until_s, side="right"))
                released.append(batch.slice(0, cut))
                kept.append(batch.slice(cut, len(batch)))
            self._held[role] = [batch for batch in kept if len(batch)]
        self._file.write_rows(released)

    def flush(self) -> None:
        """Write every held row now, whatever the other sensors have delivered."""
        if not self._closed:
            self._release(math.inf)

    def close(self) -> None:
        """Write the held rows and close the file; closing twice is harmless."""
        if not self._closed:
            self.flush()
            self._file.close()
            self._closed = True

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
