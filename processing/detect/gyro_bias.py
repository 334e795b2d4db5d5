"""Gyroscope bias, however large, from the moments the accelerometer shows the sensor still.

A MEMS gyroscope reads an offset at rest: typically 1-3 deg/s, up to 10-20 deg/s on the
datasheets of the chips we support. An AHRS corrects its tilt from the accelerometer, but a
gain of 0.5 leaves an offset of b deg/s as a standing tilt error of about 2b degrees, and
past the acceleration rejection angle the accelerometer is ignored altogether (so the
orientation filter rejects nothing until this tracker has seen the sensor still). A test of
stillness on the gyroscope itself (x-io's: below 3 deg/s) never passes on such a sensor, so
the bias is tracked here from the accelerometer: when its reading holds, in direction and
norm, the sensor is not turning about any horizontal axis, and its gyroscope reads the bias
plus body sway and breathing, which average out.

Everything is counted in seconds of sample time, not in samples, so that any split of the
stream into batches gives the same estimate. Until the first still moment, the orientation
filter learns the bias from the accelerometer's pull on its estimate instead
(:meth:`~processing.detect.orientation.OrientationFilter.update`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from processing.detect.angles import lengths
from sensor.samples import FloatArray

#: Still samples are averaged in blocks of this many: the running product of the
#: forgetting factors stays far from underflow within one.
_BLOCK = 1024
#: A sample interval counts for at most this long, in s: a silence is not a still moment.
_LONGEST_INTERVAL_S = 0.1


@dataclass(frozen=True, slots=True)
class GyroBiasSettings:
    """When the sensor counts as still and how fast the bias follows it."""

    #: Still means the accelerometer norm changed by less than this, in g (0.03 g = 0.3
    #: m/s^2)...
    still_accel_g: float = 0.03
    #: ...and its direction turned by less than this, in degrees...
    still_tilt_deg: float = 0.5
    #: ...over this long, in s (slower than sway, shorter than a rep).
    still_window_s: float = 1.0
    #: Time constant of the estimate, in s of still time: long enough to average breathing
    #: and sway out, short enough to follow a cold sensor's warm-up drift. Until this much
    #: still time has been seen, the estimate is the mean of all of it: a sensor's offset
    #: is there from power-on, and the first set may begin seconds after it.
    time_constant_s: float = 30.0


class StillMoments(NamedTuple):
    """What a batch's still samples show of the sensor (see :meth:`GyroBias._still`)."""

    #: Per sample of the batch, whether it was still.
    still: np.ndarray
    #: Per still sample, the accelerometer's mean over the window it held still, in g...
    accel_g: FloatArray
    #: ...and how long that sample stands for, in s.
    weight_s: FloatArray


class GyroBias:
    """Follows one sensor's gyroscope bias across batches and removes it."""

    def __init__(self, settings: GyroBiasSettings | None = None) -> None:
        """Start with no bias known (zero) and nothing seen."""
        self.settings = settings or GyroBiasSettings()
        self._bias_dps = np.zeros(3)
        self._still_s = 0.0
        self._seen_still = False
        self._cos_limit = float(np.cos(np.radians(self.settings.still_tilt_deg)))
        self._recent_t_s = np.empty(0)
        self._recent_accel_g = np.empty((0, 3))
        self._recent_norm_g = np.empty(0)
        self._recent_gyro_dps = np.empty((0, 3))

    @property
    def bias_dps(self) -> FloatArray:
        """The current estimate, deg/s per axis."""
        return self._bias_dps.copy()

    def corrected_dps(
        self, t_s: FloatArray, gyro_dps: FloatArray, accel_g: FloatArray
    ) -> tuple[FloatArray, np.ndarray, StillMoments]:
        """The gyroscope readings of a batch with the bias known at each sample removed, per
        sample whether the sensor had been still by then (until it has, the bias is unknown
        and the readings keep all of it), and what its still samples showed."""
        if t_s.size == 0:
            return gyro_dps, np.zeros(0, dtype=bool), _no_moments(0)
        before_s = self._recent_t_s[-1:] if self._recent_t_s.size else t_s[:1]
        still, window_start, all_gyro_dps, all_accel_g = self._still(t_s, accel_g, gyro_dps)
        still_so_far = still.cumsum()
        known = self._seen_still | (still_so_far > 0)
        self._seen_still = bool(known[-1])
        if not still_so_far[-1]:
            # Most batches (the sensor moves): the bias known before holds for all of them,
            # and the window means and intervals, needed only for still samples, are skipped.
            return gyro_dps - self._bias_dps, known, _no_moments(t_s.size)
        bias_before = self._bias_dps
        interval_s = t_s - np.concatenate((before_s, t_s[:-1]))
        still_s = np.clip(interval_s[still], 0.0, _LONGEST_INTERVAL_S)
        offset = all_gyro_dps.shape[0] - t_s.size
        window_dps = self._window_mean(all_gyro_dps, window_start, offset)[still]
        if not self._still_s:
            # The very first still moment is the whole estimate so far ("the mean of all of
            # it"), not half of it: a real sensor may hold still for one sample all session.
            self._bias_dps = window_dps[0].copy()
        estimates = self._averaged(window_dps, self._weights(still_s))
        bias = at_each_sample(still, estimates, bias_before)
        window_g = self._window_mean(all_accel_g, window_start, offset)[still]
        moments = StillMoments(still, window_g, still_s)
        return np.asarray(gyro_dps - bias, dtype=np.float64), known, moments

    def _weights(self, still_s: FloatArray) -> FloatArray:
        """Weight of each still sample (standing for ``still_s``) in the average: its share
        of the still time seen so far, until that reaches the time constant."""
        s = self.settings
        seen_s = self._still_s + np.cumsum(still_s)
        self._still_s = float(seen_s[-1])
        return np.asarray(still_s / np.clip(seen_s, 1e-9, s.time_constant_s), dtype=np.float64)

    def _averaged(self, still_dps: FloatArray, weight: FloatArray) -> FloatArray:
        """The exponential average after each still sample, ``b += w * (x - b)``."""
        estimates = np.empty_like(still_dps)
        bias = self._bias_dps
        for lo in range(0, weight.size, _BLOCK):
            w = np.minimum(weight[lo : lo + _BLOCK], 0.5)
            kept = np.cumprod(1.0 - w)
            added = np.cumsum((w / kept)[:, None] * still_dps[lo : lo + _BLOCK], axis=0)
            estimates[lo : lo + w.size] = kept[:, None] * (bias + added)
            bias = estimates[lo + w.size - 1]
        self._bias_dps = np.asarray(bias, dtype=np.float64)
        return estimates

    def _still(
        self, t_s: FloatArray, accel_g: FloatArray, gyro_dps: FloatArray
    ) -> tuple[np.ndarray, np.ndarray, FloatArray, FloatArray]:
        """Per sample: whether the accelerometer reads as it did half a window and a window
        ago, in direction and in norm (a swing that passes back through the same direction a
        window later is not still); and, for the means over that window (see
        :meth:`_window_mean`), where each sample's window starts among the gyroscope and
        accelerometer readings returned last.

        The mean, not the sample's own reading, is what a still sample tells of the bias: a
        sensor facing the way it did a window ago has turned, net, about no horizontal axis
        over it, whereas a swing passing through its starting direction reads its full speed
        at that instant (once 31 deg/s, taken as a session's first still moment, held a
        sitting lifter's L1 sensor 54 deg off vertical for four minutes). The norm is
        compared with its own earlier value, not with 1 g: a datasheet offset of 40-80 mg
        per axis keeps a resting sensor's norm that far from it."""
        window_s = self.settings.still_window_s
        norm_g = lengths(accel_g)
        all_t_s = np.concatenate((self._recent_t_s, t_s))
        all_accel_g = np.concatenate((self._recent_accel_g, accel_g))
        all_norm_g = np.concatenate((self._recent_norm_g, norm_g))
        all_gyro_dps = np.concatenate((self._recent_gyro_dps, gyro_dps))
        # Keep what a later sample may look back to: everything within a window of the
        # newest, and the last sample before that (the far side of a link gap).
        first = max(int(np.searchsorted(all_t_s, all_t_s[-1] - window_s, side="right")) - 1, 0)
        self._recent_t_s, self._recent_accel_g = all_t_s[first:], all_accel_g[first:]
        self._recent_norm_g, self._recent_gyro_dps = all_norm_g[first:], all_gyro_dps[first:]
        # Both looks back in one pass over twice the rows (sample k's are rows k and n + k):
        # a live batch is a few samples, on which each numpy call costs more than its rows.
        n = t_s.size
        looks_back_to_s = np.concatenate((t_s - window_s / 2, t_s - window_s))
        before = np.searchsorted(all_t_s, looks_back_to_s, side="right") - 1
        # A sample with none that far back is not still. The rows looked back to keep the
        # norms worked out when they came (the same rows, the same norms).
        earlier = np.maximum(before, 0)
        earlier_norm_g = all_norm_g[earlier]
        twice_g, twice_norm_g = np.concatenate((accel_g, accel_g)), np.concatenate((norm_g, norm_g))
        cos_turn = np.einsum("ij,ij->i", twice_g, all_accel_g[earlier]) / np.maximum(
            twice_norm_g * earlier_norm_g, 1e-9
        )
        with np.errstate(invalid="ignore"):
            held = (
                (before >= 0)
                & (cos_turn > self._cos_limit)
                & (np.abs(twice_norm_g - earlier_norm_g) < self.settings.still_accel_g)
            )
        return held[:n] & held[n:], before[n:], all_gyro_dps, all_accel_g

    @staticmethod
    def _window_mean(readings: FloatArray, before: np.ndarray, offset: int) -> FloatArray:
        """Mean of the gyroscope or accelerometer ``readings`` after ``before[k]`` up to and
        including sample ``offset + k`` (from the first reading held where ``before[k]`` is
        -1: no sample that far back, and no still sample either)."""
        summed = np.concatenate((np.zeros((1, 3)), np.cumsum(readings, axis=0)))
        end = offset + np.arange(before.size) + 1
        begin = np.minimum(np.maximum(before + 1, 0), end - 1)
        return np.asarray((summed[end] - summed[begin]) / (end - begin)[:, None], dtype=np.float64)


def at_each_sample(still: np.ndarray, estimates: np.ndarray, before: FloatArray) -> FloatArray:
    """Per sample of a batch, the estimate made at the last still sample at or before it
    (``estimates`` holds one row per still sample), or ``before`` ahead of the first."""
    latest = still.cumsum() - 1
    chosen = np.where((latest >= 0)[:, None], estimates[np.maximum(latest, 0)], before)
    return np.asarray(chosen, dtype=np.float64)


def _no_moments(samples: int) -> StillMoments:
    """A batch of ``samples`` with no still sample."""
    return StillMoments(np.zeros(samples, dtype=bool), np.empty((0, 3)), np.empty(0))
