"""What an IMU strapped on the back measures: specific force and angular rate in its own axes.

The ideal readings are computed from the body model exactly (orientation from the segment
angles, linear acceleration by a central second difference of the sensor's world position
over 1 ms, far finer than any motion in a lift), then a MEMS error model is applied: scale
and bias errors, a gyroscope bias that drifts, white noise, 16-bit quantisation and range
clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from sensor.samples import GRAVITY_MPS2, FloatArray
from sensor.sim.body import Body

#: Step of the central differences that turn positions and angles into rates.
DIFF_STEP_S = 1e-3
#: Row-major identity: no cross-axis coupling.
IDENTITY_3X3 = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
#: Grid on which a loose strap's wobble is integrated, s (well above its 15 Hz at most).
WOBBLE_STEP_S = 2e-3


@dataclass(frozen=True)
class Mount:
    """How a sensor is strapped on the back.

    The reference mount lies flat on the skin with its face (``+z``) pointing out of the back
    and ``+x`` pointing up the spine. ``face_out=False`` turns it face in (flipped about its
    ``x`` axis); ``spin_deg`` then rotates it about the skin normal (180 = upside down);
    ``tilt_deg`` tips it off the skin plane about an in-plane axis at ``tilt_axis_deg`` from
    ``x`` (a strap on a curved back). A loose strap lets the sensor rock on the soft tissue
    about the lifter's left axis: a damped oscillator at ``wobble_hz`` driven by the back's
    forward acceleration, ``wobble_deg_per_mps2`` degrees per m/s^2 when steady.
    """

    face_out: bool = True
    spin_deg: float = 0.0
    tilt_deg: float = 0.0
    tilt_axis_deg: float = 0.0
    wobble_hz: float = 0.0  # natural frequency of the sensor on the soft tissue, Hz
    wobble_damping: float = 0.0  # damping ratio of that oscillation, 1 = critical
    wobble_deg_per_mps2: float = 0.0  # rocking per forward acceleration (0 = tight strap)

    def matrix(self) -> FloatArray:
        """Columns are the sensor's axes expressed in the segment frame (x fwd, y left, z up)."""
        reference = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        flip = np.diag([1.0, 1.0, 1.0] if self.face_out else [1.0, -1.0, -1.0])
        spin = np.radians(self.spin_deg)
        c, s = np.cos(spin), np.sin(spin)
        spin_m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        axis_angle = np.radians(self.tilt_axis_deg)
        axis = np.array([np.cos(axis_angle), np.sin(axis_angle), 0.0])
        result: FloatArray = reference @ flip @ spin_m @ _axis_rotation(axis, self.tilt_deg)
        return result

    def describe(self) -> str:
        """Words a lifter would use for this mount, for the truth file."""
        spin = (self.spin_deg + 180.0) % 360.0 - 180.0
        parts = ["face out" if self.face_out else "face in"]
        if abs(spin) > 135.0:
            parts.append("upside down")
            rest = spin - 180.0 if spin > 0 else spin + 180.0
            if abs(rest) >= 5.0:
                parts.append(f"rotated {rest:.0f} deg")
        elif abs(spin) >= 5.0:
            parts.append(f"rotated {spin:.0f} deg")
        if abs(self.tilt_deg) >= 3.0:
            parts.append(f"tilted {self.tilt_deg:.0f} deg")
        if self.wobble_deg_per_mps2 >= 0.1:
            parts.append("loose strap")
        return ", ".join(parts)


def _axis_rotation(axis: FloatArray, angle_deg: float) -> FloatArray:
    """Rotation matrix about a unit ``axis`` (Rodrigues)."""
    angle = np.radians(angle_deg)
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    result: FloatArray = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)
    return result


@dataclass(frozen=True)
class SensorErrors:
    """MEMS imperfections of one sensor (all per axis where a triple)."""

    accel_noise_mps2: float  # white noise standard deviation per sample
    gyro_noise_rps: float  # white noise standard deviation per sample
    accel_bias_mps2: tuple[float, float, float]
    accel_scale: tuple[float, float, float]  # multiplicative, 1 = perfect
    gyro_bias_rps: tuple[float, float, float]  # at the start of the session
    gyro_drift_rps_per_s: tuple[float, float, float]  # slow (thermal) bias drift
    gyro_walk_rps_per_sqrt_s: float  # random-walk component of the bias
    gyro_scale: tuple[float, float, float]
    accel_range_g: float  # full scale, the signed 16-bit range covers +-this
    gyro_range_dps: float
    accel_cross: tuple[float, ...] = IDENTITY_3X3  # row-major axis coupling (cross-axis)
    gyro_cross: tuple[float, ...] = IDENTITY_3X3
    warm_up_rps: tuple[float, float, float] = (0.0, 0.0, 0.0)  # offset reached once warm
    warm_up_tau_s: float = 0.0  # time constant of warming to skin temperature (0 = none)

    @staticmethod
    def ideal() -> SensorErrors:
        """A perfect sensor: no noise, bias, scale error or quantisation."""
        zero = (0.0, 0.0, 0.0)
        one = (1.0, 1.0, 1.0)
        return SensorErrors(0.0, 0.0, zero, one, zero, zero, 0.0, one, 0.0, 0.0)

    @staticmethod
    def random(rng: np.random.Generator) -> SensorErrors:
        """Errors typical of consumer MEMS IMUs (BMI160/ICM-42688/MPU-6050 class)."""

        def triple(scale: float) -> tuple[float, float, float]:
            a, b, c = rng.normal(0.0, scale, 3)
            return float(a), float(b), float(c)

        def near_one(scale: float) -> tuple[float, float, float]:
            a, b, c = 1.0 + rng.normal(0.0, scale, 3)
            return float(a), float(b), float(c)

        return SensorErrors(
            accel_noise_mps2=float(rng.uniform(0.01, 0.04)),
            gyro_noise_rps=float(np.radians(rng.uniform(0.03, 0.12))),
            accel_bias_mps2=triple(0.04),
            accel_scale=near_one(0.005),
            gyro_bias_rps=triple(np.radians(0.6)),
            gyro_drift_rps_per_s=triple(np.radians(0.3) / 600.0),
            gyro_walk_rps_per_sqrt_s=float(np.radians(rng.uniform(0.002, 0.01))),
            gyro_scale=near_one(0.005),
            accel_range_g=float(rng.choice([8.0, 16.0])),
            gyro_range_dps=float(rng.choice([1000.0, 2000.0])),
        )


@dataclass(frozen=True)
class ImuReadings:
    """Readings of one sensor at its true sample times."""

    accel_mps2: FloatArray  # (n, 3) specific force in the sensor frame
    gyro_rps: FloatArray  # (n, 3) angular rate in the sensor frame


def ideal_readings(body: Body, level: float, mount: Mount, t_s: FloatArray) -> ImuReadings:
    """Exact specific force and angular rate of a sensor at spine ``level`` with ``mount``."""
    h = DIFF_STEP_S
    before, now, after = (body.segment(t_s + d, level) for d in (-h, 0.0, h))
    accel_world = (after.position_m - 2 * now.position_m + before.position_m) / (h * h)
    accel_world[:, 2] += GRAVITY_MPS2
    yaw_rate = (after.yaw - before.yaw) / (2 * h)
    roll_rate = (after.roll - before.roll) / (2 * h)
    pitch_rate = (after.sagittal - before.sagittal) / (2 * h)
    cos_t, sin_t = np.cos(now.sagittal), np.sin(now.sagittal)
    cos_r, sin_r = np.cos(now.roll), np.sin(now.roll)
    # Body-frame rate of R = Rz(yaw) Rx(roll) Ry(pitch).
    gyro_segment = np.column_stack(
        (
            -yaw_rate * sin_t * cos_r + roll_rate * cos_t,
            yaw_rate * sin_r + pitch_rate,
            yaw_rate * cos_t * cos_r + roll_rate * sin_t,
        )
    )
    force_segment = _world_to_segment(accel_world, now.yaw, now.roll, now.sagittal)
    if mount.wobble_deg_per_mps2 > 0.0:
        angle, rate = _strap_wobble(body, level, mount, t_s)
        force_segment = _rocked(force_segment, angle)
        gyro_segment = _rocked(gyro_segment, angle)
        gyro_segment[:, 1] += rate
    m = mount.matrix()
    return ImuReadings(accel_mps2=force_segment @ m, gyro_rps=gyro_segment @ m)


def _strap_wobble(
    body: Body, level: float, mount: Mount, t_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Angle (rad) and rate (rad/s) of a loosely strapped sensor rocking on the soft tissue.

    The back's forward acceleration (gravity excluded, so the truth posture is unchanged on
    average) drives a damped second-order system, integrated on a fine uniform grid.
    """
    if t_s.size == 0:
        return np.zeros(0), np.zeros(0)
    h = WOBBLE_STEP_S
    grid = np.arange(t_s[0] - 1.0, t_s[-1] + 2 * h, h)
    pose = body.segment(grid, level)
    p = pose.position_m
    accel_world = np.zeros_like(p)
    accel_world[1:-1] = (p[2:] - 2 * p[1:-1] + p[:-2]) / (h * h)
    forward = _world_to_segment(accel_world, pose.yaw, pose.roll, pose.sagittal)[:, 0]
    omega = 2 * np.pi * mount.wobble_hz
    gain = np.radians(mount.wobble_deg_per_mps2)
    b, a = signal.bilinear(
        [gain * omega**2], [1.0, 2 * mount.wobble_damping * omega, omega**2], fs=1.0 / h
    )
    angle = signal.lfilter(b, a, forward)
    rate = np.gradient(angle, h)
    return np.interp(t_s, grid, angle), np.interp(t_s, grid, rate)


def _rocked(v: FloatArray, angle: FloatArray) -> FloatArray:
    """Segment-frame vectors expressed in a frame rocked by ``angle`` about the left axis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.column_stack((c * v[:, 0] - s * v[:, 2], v[:, 1], s * v[:, 0] + c * v[:, 2]))


def _world_to_segment(
    v: FloatArray, yaw: FloatArray, roll: FloatArray, pitch: FloatArray
) -> FloatArray:
    """Express world vectors in the segment frame R = Rz(yaw) Rx(roll) Ry(pitch)."""
    cos_y, sin_y = np.cos(yaw), np.sin(yaw)
    x1 = cos_y * v[:, 0] + sin_y * v[:, 1]
    y1 = -sin_y * v[:, 0] + cos_y * v[:, 1]
    z1 = v[:, 2]
    cos_r, sin_r = np.cos(roll), np.sin(roll)
    y2 = cos_r * y1 + sin_r * z1
    z2 = -sin_r * y1 + cos_r * z1
    cos_p, sin_p = np.cos(pitch), np.sin(pitch)
    return np.column_stack((cos_p * x1 - sin_p * z2, y2, sin_p * x1 + cos_p * z2))


def apply_errors(
    readings: ImuReadings, t_s: FloatArray, errors: SensorErrors, rng: np.random.Generator
) -> ImuReadings:
    """Degrade ideal readings with the sensor's scale, bias, drift, noise and quantisation."""
    n = t_s.shape[0]
    accel = _coupled(readings.accel_mps2, errors.accel_cross)
    accel = accel * np.asarray(errors.accel_scale) + np.asarray(errors.accel_bias_mps2)
    accel = accel + rng.normal(0.0, 1.0, (n, 3)) * errors.accel_noise_mps2
    elapsed = (t_s - t_s[0])[:, None] if n else np.zeros((0, 1))
    step = np.sqrt(np.diff(t_s, prepend=t_s[:1]))[:, None] if n else np.zeros((0, 1))
    walk = np.cumsum(rng.normal(0.0, 1.0, (n, 3)) * step, axis=0) * errors.gyro_walk_rps_per_sqrt_s
    bias = (
        np.asarray(errors.gyro_bias_rps) + np.asarray(errors.gyro_drift_rps_per_s) * elapsed + walk
    )
    if errors.warm_up_tau_s > 0.0:
        bias = bias + np.asarray(errors.warm_up_rps) * (
            1.0 - np.exp(-elapsed / errors.warm_up_tau_s)
        )
    gyro = _coupled(readings.gyro_rps, errors.gyro_cross) * np.asarray(errors.gyro_scale) + bias
    gyro = gyro + rng.normal(0.0, 1.0, (n, 3)) * errors.gyro_noise_rps
    return ImuReadings(
        accel_mps2=_quantise(accel, errors.accel_range_g * GRAVITY_MPS2),
        gyro_rps=_quantise(gyro, np.radians(errors.gyro_range_dps)),
    )


def _coupled(values: FloatArray, cross: tuple[float, ...]) -> FloatArray:
    """Each axis picking up a little of the others (rows of ``values`` are samples)."""
    if cross == IDENTITY_3X3:
        return values  # skipped so sensors without coupling stay bit-identical
    result: FloatArray = values @ np.asarray(cross).reshape(3, 3).T
    return result


def _quantise(values: FloatArray, full_scale: float) -> FloatArray:
    """Round to a signed 16-bit converter spanning +-full_scale (0 = no quantisation)."""
    if full_scale <= 0.0:
        return values
    lsb = full_scale / 32768.0
    counts = np.clip(np.round(values / lsb), -32768, 32767)
    result: FloatArray = counts * lsb
    return result
