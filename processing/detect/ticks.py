"""Put every sensor on one fixed time grid ("ticks") so sensors can be compared sample by sample.

Ticks sit at whole multiples of the tick period on the recording's own clock, so the grid does
not depend on where a stream or a batch starts. A tick is released once every active sensor
has data at or past it (or one sensor lags too far behind and is treated as missing there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from processing.detect.angles import unit
from sensor.samples import FloatArray

#: Times closer than this, in s, are the same moment (far below any sample interval).
_SAME_MOMENT_S = 1e-9


@dataclass(frozen=True, slots=True)
class TickSettings:
    """How sensors are resampled onto the common grid."""

    #: Rate of the common grid in Hz; 50 Hz keeps the added alert delay at most 20 ms.
    tick_rate_hz: float = 50.0
    #: Samples further apart than this, in s, are a gap: ticks inside it have no data.
    max_gap_s: float = 0.3
    #: When another sensor is this far ahead, in s, ticks are released without the laggard
    #: (live use: a stalled radio must not hold back alerts); ``math.inf`` always waits.
    max_lag_s: float = 2.0


@dataclass(frozen=True, slots=True)
class TickBlock:
    """Consecutive ticks: their times, and per sensor the up vector and motion features."""

    index: np.ndarray  # int64 tick numbers; time = index / tick_rate_hz
    t_s: FloatArray
    up: dict[str, FloatArray]  # role -> (k, 3), NaN rows where the sensor has no data
    features: dict[str, FloatArray]  # role -> (k, F) per-sample features, interpolated

    def __len__(self) -> int:
        """Number of ticks in the block."""
        return int(self.t_s.shape[0])


@dataclass(slots=True)
class _Track:
    """Samples of one sensor not yet fully used for interpolation."""

    n_features: int
    t_s: FloatArray = field(default_factory=lambda: np.empty(0))
    up: FloatArray = field(default_factory=lambda: np.empty((0, 3)))
    features: FloatArray = field(init=False)
    active: bool = True

    def __post_init__(self) -> None:
        """Start with an empty feature table of the right width."""
        self.features = np.empty((0, self.n_features))

    def append(self, t_s: FloatArray, up: FloatArray, features: FloatArray) -> None:
        """Add samples at the end, ignoring any at or before the last kept time."""
        if self.t_s.size:
            keep = t_s > self.t_s[-1]
            t_s, up, features = t_s[keep], up[keep], features[keep]
        self.t_s = np.concatenate([self.t_s, t_s])
        self.up = np.concatenate([self.up, up])
        self.features = np.concatenate([self.features, features])

    def latest_s(self) -> float:
        """Time of the newest sample, or minus infinity before the first."""
        return float(self.t_s[-1]) if self.t_s.size else -np.inf


class TickAligner:
    """Collects per-sensor samples and releases blocks of ticks when every sensor is ready."""

    def __init__(
        self, roles: tuple[str, ...], n_features: int, settings: TickSettings | None = None
    ) -> None:
        """Start with no samples for any of ``roles``; each sample carries ``n_features``."""
        self.settings = settings or TickSettings()
        self._tracks = {role: _Track(n_features) for role in roles}
        self._next_index: int | None = None
        self._first_s = np.inf

    def push(self, role: str, t_s: FloatArray, up: FloatArray, features: FloatArray) -> None:
        """Add one sensor's samples (in time order) to the aligner."""
        self._tracks[role].append(t_s, up, features)
        if t_s.size:
            self._first_s = min(self._first_s, float(t_s[0]))
        if self._next_index is None and t_s.size:
            self._next_index = int(np.ceil(float(t_s[0]) * self.settings.tick_rate_hz))

    def set_active(self, role: str, active: bool) -> None:
        """Mark a sensor as connected or lost; lost sensors are not waited for."""
        self._tracks[role].active = active

    def release(self, final: bool = False) -> TickBlock | None:
        """Ticks ready now (all of them when ``final``), or None when there are none."""
        if self._next_index is None:
            return None
        last_index = self._last_ready_index(final)
        if last_index < self._next_index:
            return None
        index = np.arange(self._next_index, last_index + 1, dtype=np.int64)
        t_s = index / self.settings.tick_rate_hz
        up: dict[str, FloatArray] = {}
        features: dict[str, FloatArray] = {}
        for role, track in self._tracks.items():
            uncovered = self._uncovered(track, t_s)
            up[role] = unit(self._interpolate(track.up, track, t_s, uncovered))
            features[role] = self._interpolate(track.features, track, t_s, uncovered)
        self._next_index = last_index + 1
        self._trim(float(t_s[-1]))
        return TickBlock(index, t_s, up, features)

    def _last_ready_index(self, final: bool) -> int:
        """Index of the newest tick every sensor (or every non-lagging one) can supply."""
        # A sensor that has sent nothing yet counts as being at the stream's start, so the
        # first ticks wait for it (up to max_lag_s) instead of depending on batch order.
        latest = {
            role: track.latest_s() if track.t_s.size else self._first_s
            for role, track in self._tracks.items()
        }
        newest = max(latest.values())
        if final:
            ready_s = newest
        else:
            waiting = [
                t
                for role, t in latest.items()
                if self._tracks[role].active and newest - t <= self.settings.max_lag_s
            ]
            ready_s = min(waiting) if waiting else newest
        return int(np.floor(ready_s * self.settings.tick_rate_hz + 1e-9))

    @staticmethod
    def _interpolate(
        columns: FloatArray, track: _Track, t_s: FloatArray, uncovered: np.ndarray
    ) -> FloatArray:
        """Columns linearly interpolated at ``t_s``, NaN rows where there is no data."""
        out = np.full((t_s.size, columns.shape[1]), np.nan)
        if track.t_s.size == 0:
            return out
        for column in range(columns.shape[1]):
            out[:, column] = np.interp(t_s, track.t_s, columns[:, column])
        out[uncovered] = np.nan
        return out

    def _uncovered(self, track: _Track, t_s: FloatArray) -> np.ndarray:
        """Ticks outside the samples or inside a gap longer than ``max_gap_s``."""
        if track.t_s.size == 0:
            return np.ones(t_s.size, dtype=bool)
        if self._among_samples(track.t_s, t_s):
            return np.zeros(t_s.size, dtype=bool)
        after = np.searchsorted(track.t_s, t_s, side="left")
        # np.maximum and np.minimum, not np.clip: on a live block's few ticks clip's
        # argument handling costs more than the comparisons.
        before = np.maximum(after - 1, 0)
        after_c = np.minimum(after, track.t_s.size - 1)
        # Tick times are index / rate, which can land a rounding step either side of a
        # sample stamped at the very same moment: within that step the sample is the tick's
        # own, or the tick would read as uncovered in one batching and covered in another
        # (the last sample before a gap, when the first one after it had or had not come).
        exact = (np.abs(track.t_s[after_c] - t_s) <= _SAME_MOMENT_S) | (
            np.abs(track.t_s[before] - t_s) <= _SAME_MOMENT_S
        )
        span = track.t_s[after_c] - track.t_s[before]
        outside = (t_s < track.t_s[0] - _SAME_MOMENT_S) | (t_s > track.t_s[-1] + _SAME_MOMENT_S)
        return np.asarray(outside | (~exact & (span > self.settings.max_gap_s)))

    def _among_samples(self, samples_s: FloatArray, t_s: FloatArray) -> bool:
        """Whether every tick lies within the samples, none of them further apart than
        ``max_gap_s``: the usual block, cleared by a few numpy calls instead of a score."""
        first, last = float(samples_s[0]) - _SAME_MOMENT_S, float(samples_s[-1]) + _SAME_MOMENT_S
        if not (float(t_s[0]) >= first and float(t_s[-1]) <= last):
            return False
        return bool((samples_s[1:] - samples_s[:-1] <= self.settings.max_gap_s).all())

    def _trim(self, released_s: float) -> None:
        """Forget samples that no future tick can need (keep one at or before the last tick)."""
        for track in self._tracks.values():
            keep_from = max(int(np.searchsorted(track.t_s, released_s, side="right")) - 1, 0)
            track.t_s = track.t_s[keep_from:]
            track.up = track.up[keep_from:]
            track.features = track.features[keep_from:]
