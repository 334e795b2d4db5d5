"""Orientation per sensor: the direction of gravity in the sensor's own frame, via imufusion.

The rest of the pipeline only needs "which way is up" for each sensor, so the AHRS is wrapped
behind this small interface and its quaternion never leaves the module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import imufusion
import numpy as np

from processing.detect.accel_offset import AccelOffset, AccelOffsetSettings
from processing.detect.angles import lengths
from processing.detect.gyro_bias import GyroBias, GyroBiasSettings
from sensor.samples import GRAVITY_MPS2, FloatArray, SampleBatch

_DEG_PER_RAD = 180.0 / np.pi
#: Sample intervals whose mean gives the sensor's rate.
RATE_WINDOW_SAMPLES = 64
#: An interval longer than this many times its window's mean is lost packets, not the rate.
LOST_PACKETS_FACTOR = 4.0


@dataclass(frozen=True, slots=True)
class OrientationSettings:
    """Settings of the per-sensor AHRS; every value carries its unit in its name."""

    #: Sample rate assumed until the data show theirs, in Hz; imufusion counts its timeouts
    #: in samples, so the filter is set up again for the rate the sensor really sends.
    nominal_rate_hz: float = 100.0
    #: A measured sample rate this far (as a fraction) from the one the filter was set up
    #: for sets it up again.
    rate_tolerance: float = 0.25
    #: Complementary-filter gain (dimensionless); 0.5 is x-io's recommended default.
    gain: float = 0.5
    #: Accelerometer readings further than this from the estimated gravity are ignored, in
    #: degrees; a deadlift accelerates the sensor, so trust the gyroscope through the pull.
    #: Not before the sensor has first been still: until then the gyroscope's offset is
    #: unknown (up to 10-20 deg/s) and would turn the estimate further than a pull does.
    acceleration_rejection_deg: float = 20.0
    #: Longest time the accelerometer may be ignored before the filter re-trusts it, in s.
    rejection_timeout_s: float = 5.0
    #: Gyroscope full-scale range in degrees per second (overrange detection).
    gyroscope_range_dps: float = 2000.0
    #: A silence longer than this, in s, restarts the filter from the accelerometer: the
    #: orientation at the far side of a gap is unknown and integrating across it is wrong.
    restart_after_gap_s: float = 0.5
    #: A sensor that neither turns (gyroscope below ``resting_gyro_dps``) nor accelerates
    #: (accelerometer norm within ``resting_accel_tolerance_g`` of 1 g) for this long, in s,
    #: yet whose accelerometer points further than ``acceleration_rejection_deg`` from the
    #: estimated gravity, has a wrong estimate (started afresh while it moved): it starts
    #: afresh again rather than ignore the accelerometer for ``rejection_timeout_s``.
    misaligned_at_rest_s: float = 0.2
    #: See ``misaligned_at_rest_s``, in degrees per second.
    resting_gyro_dps: float = 5.0
    #: See ``misaligned_at_rest_s``, in g.
    resting_accel_tolerance_g: float = 0.03
    #: How the gyroscope's bias is tracked (see :mod:`processing.detect.gyro_bias`).
    gyro_bias: GyroBiasSettings = field(default_factory=GyroBiasSettings)
    #: How the accelerometer's offset is learnt (see :mod:`processing.detect.accel_offset`).
    accel_offset: AccelOffsetSettings = field(default_factory=AccelOffsetSettings)


class Oriented(NamedTuple):
    """A batch's samples as the orientation filter leaves them, one row per sample."""

    #: Unit gravity ("up") vectors in the sensor frame.
    up: FloatArray
    #: Angular rate without the gyroscope's bias, in deg/s.
    gyro_dps: FloatArray
    #: Acceleration without the accelerometer's offset, in m/s^2.
    accel_mps2: FloatArray


class OrientationFilter:
    """Estimates the gravity direction of one sensor, sample by sample, across batches."""

    def __init__(self, settings: OrientationSettings | None = None) -> None:
        """Create an AHRS with its gyroscope-bias estimator, both in their start-up state."""
        self.settings = settings or OrientationSettings()
        self._ahrs = imufusion.Ahrs()
        self._bias = GyroBias(self.settings.gyro_bias)
        self._offset = AccelOffset(self.settings.accel_offset)
        self._gyro_trusted = False
        self._configure(self.settings.nominal_rate_hz)
        self._last_t_s = -np.inf  # the newest sample's time, in s
        self._last_gyro_dps: FloatArray | None = None
        self._period_s = 1.0 / self.settings.nominal_rate_hz
        self._recent_dt_s: list[float] = []
        self._misaligned_samples = 0
        self._min_cos = float(np.cos(np.radians(self.settings.acceleration_rejection_deg)))
        #: Until still moments give the gyroscope's bias, the bias the accelerometer's pull
        #: on the estimate has shown so far, deg/s.
        self._pulled_bias_dps = np.zeros(3)

    def _configure(self, rate_hz: float) -> None:
        """Set up the AHRS and the bias estimator for a sample rate (keeps the orientation)."""
        s = self.settings
        self._rate_hz = rate_hz
        self._misaligned_limit = max(round(s.misaligned_at_rest_s * rate_hz), 1)
        self._ahrs.set_settings(
            imufusion.AhrsSettings(
                sample_rate=rate_hz,
                convention=imufusion.CONVENTION_NWU,
                gain=s.gain,
                gyroscope_range=s.gyroscope_range_dps,
                acceleration_rejection=s.acceleration_rejection_deg if self._gyro_trusted else 0.0,
                magnetic_rejection=0.0,
                rejection_timeout=s.rejection_timeout_s,
            )
        )

    def update(self, batch: SampleBatch) -> Oriented:
        """The gravity direction of every sample of ``batch``, and its readings without the
        gyroscope's bias and the accelerometer's offset."""
        raw_g = batch.accel_mps2 / GRAVITY_MPS2
        corrected_dps, bias_known, still = self._bias.corrected_dps(
            batch.t_s, batch.gyro_rps * _DEG_PER_RAD, raw_g
        )
        accel_g = np.ascontiguousarray(self._offset.removed(raw_g, still))
        gyro_dps = np.ascontiguousarray(corrected_dps)
        resting, direction = self._at_rest(gyro_dps, accel_g)
        min_cos = self._min_cos
        ahrs = self._ahrs
        gap_s, recent = self.settings.restart_after_gap_s, self._recent_dt_s
        turn_dps = self._interval_rates(gyro_dps)
        trusted = self._gyro_trusted
        ups: list[FloatArray] = []
        # This loop is the pipeline's hottest, once per sample of every sensor: the clock, the
        # counters and the AHRS's bound methods live in locals, written back once after it.
        update, gravity_of, period_of = (
            ahrs.update_no_magnetometer,
            ahrs.get_gravity,
            ahrs.set_sample_period,
        )
        keep = ups.append
        period_s = self._period_s
        misaligned_samples, limit = self._misaligned_samples, self._misaligned_limit
        pulled_dps = self._pulled_bias_dps
        # The accelerometer's direction goes in as three columns of floats: a list per row
        # would cost a quarter of the loop.
        rows = zip(
            self._intervals_s(batch.t_s).tolist(),
            turn_dps,
            accel_g,
            resting,
            *direction.T.tolist(),
            bias_known.tolist(),
            strict=True,
        )
        for dt_s, turn, accel, at_rest, dx, dy, dz, known in rows:
            if dt_s <= 0.0:
                # A duplicated or out-of-order sample adds nothing: integrating its gyroscope
                # reading again would turn the estimate twice as far (once 60 deg off).
                keep(gravity_of())
                continue
            # Start afresh on the first sample and after a long gap: the orientation is then
            # unknown and the accelerometer is the best guess, better than x-io's start-up
            # ramp, which takes seconds and could swallow a whole rep.
            restart = dt_s > gap_s
            if not restart:
                if abs(dt_s - period_s) > 1e-9:
                    period_s = dt_s
                    period_of(dt_s)
                recent.append(dt_s)
                if len(recent) >= RATE_WINDOW_SAMPLES:
                    self._follow_rate()
                    limit = self._misaligned_limit
            if known and not trusted:
                trusted = self._gyro_trusted = True
                self._configure(self._rate_hz)
            if restart or misaligned_samples >= limit:
                ahrs.set_quaternion(quaternion_from_up(accel))
                ahrs.skip_startup()
                misaligned_samples = 0
            update(turn if known else turn - pulled_dps, accel)
            gravity = gravity_of()
            keep(gravity)
            if not (known or restart):
                self._pull(pulled_dps, gravity, (dx, dy, dz), dt_s)
            if at_rest:
                # Plain floats: a numpy dot product of two 3-vectors costs more than the AHRS.
                gx, gy, gz = gravity.tolist()
                if gx * dx + gy * dy + gz * dz < min_cos:
                    misaligned_samples += 1
                    continue
            misaligned_samples = 0
        self._period_s = period_s
        self._misaligned_samples = misaligned_samples
        up = np.array(ups, dtype=np.float64).reshape(len(ups), 3)
        return Oriented(up, gyro_dps, accel_g * GRAVITY_MPS2)

    def _pull(
        self,
        pulled_dps: FloatArray,
        gravity: FloatArray,
        accel_up: tuple[float, float, float],
        dt_s: float,
    ) -> None:
        """Move the bias estimate ``pulled_dps`` (in place) by one sample interval's pull
        while the gyroscope's bias is unknown: integral feedback on the turn from the
        estimated "up" (``gravity``) to the accelerometer's (Mahony et al., 2008), so that a
        gyroscope that never reads still is not followed 2b degrees off (see
        :mod:`processing.detect.gyro_bias`). Its gain is (gain / 2)^2, which damps the loop
        critically with the AHRS's own gain. Only samples whose accelerometer points within
        ``acceleration_rejection_deg`` of the estimate count: beyond it, the pull's own
        acceleration moves the reading, not the bias. Plain floats: it runs per sample for
        as long as the sensor has not been still, for a real sensor often a whole session."""
        gx, gy, gz = gravity.tolist()
        ax, ay, az = accel_up
        if gx * ax + gy * ay + gz * az < self._min_cos:
            return
        step = (self.settings.gain / 2) ** 2 * dt_s * _DEG_PER_RAD
        pulled_dps[0] += step * (gy * az - gz * ay)
        pulled_dps[1] += step * (gz * ax - gx * az)
        pulled_dps[2] += step * (gx * ay - gy * ax)

    def _intervals_s(self, t_s: FloatArray) -> FloatArray:
        """Per sample, the time since the newest sample before it, in s: 0 or less for a
        duplicated or out-of-order one, infinite for the first sample of all."""
        before_s = np.maximum.accumulate(np.concatenate([[self._last_t_s], t_s]))
        self._last_t_s = float(before_s[-1])
        return np.asarray(t_s - before_s[:-1], dtype=np.float64)

    def _interval_rates(self, gyro_dps: FloatArray) -> FloatArray:
        """Per sample, the rate that turns the estimate over the interval since the previous
        sample: the mean of the rates at its two ends (the trapezoid rule). The reading at
        its far end alone is only right for a short interval: a lost packet leaves 0.2 s
        between samples, and where that gap fell on the turn at the bottom of a quick rep,
        the sample after it (turning back up at full speed) stood for the whole 0.2 s and
        put an L1 sensor 12 deg off vertical at the next lockout."""
        if gyro_dps.shape[0] == 0:
            return gyro_dps
        first = gyro_dps[:1] if self._last_gyro_dps is None else self._last_gyro_dps[None, :]
        self._last_gyro_dps = gyro_dps[-1].copy()
        before = np.concatenate((first, gyro_dps[:-1]))
        return np.ascontiguousarray(0.5 * (before + gyro_dps))

    def _at_rest(self, gyro_dps: FloatArray, accel_g: FloatArray) -> tuple[list[bool], FloatArray]:
        """Per sample, whether the sensor neither turns nor accelerates; and the direction
        its accelerometer points in, which is then exactly "up"."""
        s = self.settings
        norm_g = lengths(accel_g)
        resting = (np.abs(norm_g - 1.0) < s.resting_accel_tolerance_g) & (
            lengths(gyro_dps) < s.resting_gyro_dps
        )
        return resting.tolist(), accel_g / np.maximum(norm_g, 1e-9)[:, None]

    def _follow_rate(self) -> None:
        """Set the filter up again when the sensor's typical rate strays from its settings.

        Samples may be stamped on arrival, several per notification microseconds apart, so
        the median interval can be near zero: the rate is the mean over a window of
        intervals, leaving out those where packets were lost.
        """
        typical_dt_s = typical_interval_s(self._recent_dt_s)
        self._recent_dt_s.clear()
        if typical_dt_s <= 0.0:
            return
        rate_hz = 1.0 / typical_dt_s
        if abs(rate_hz / self._rate_hz - 1.0) > self.settings.rate_tolerance:
            self._configure(rate_hz)


def typical_interval_s(intervals_s: Sequence[float]) -> float:
    """Mean sample interval, in s, of a window, without the ones where packets were lost.

    Plain Python: it runs every 64 samples, on 64 numbers, where numpy costs more than it
    saves."""
    if not intervals_s:
        return 0.0
    limit_s = LOST_PACKETS_FACTOR * sum(intervals_s) / len(intervals_s)
    kept = [dt_s for dt_s in intervals_s if dt_s <= limit_s]
    return sum(kept) / len(kept) if kept else 0.0


def quaternion_from_up(accel: FloatArray) -> FloatArray:
    """Quaternion (w, x, y, z) turning the measured "up" direction onto the earth's z axis."""
    norm = float(np.linalg.norm(accel))
    up = accel / norm if norm > 0.0 else np.array([0.0, 0.0, 1.0])
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(up, z)
    w = 1.0 + float(up @ z)
    if w < 1e-9:  # upside down: any horizontal axis turns it over
        return np.array([0.0, 1.0, 0.0, 0.0])
    q = np.array([w, *axis])
    return np.asarray(q / np.linalg.norm(q), dtype=np.float64)
