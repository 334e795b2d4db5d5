"""The IMUs inside the devices Backspotter supports, by their datasheet figures.

A simulated sensor of the wide population is one of these devices, carrying one of the chips
the device family ships with; its errors are drawn inside that chip's datasheet tolerances
(uniformly, so every value the datasheet allows occurs) and its timing is the family's: a
device clock (Movesense, the Backspotter profile) or the host's arrival time in BLE
connection-event bursts (WitMotion, Thingy:52). docs/simulator.md lists every figure with
its source.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from sensor.samples import GRAVITY_MPS2, FloatArray, SampleBatch
from sensor.sim.imu import ImuReadings, SensorErrors, apply_errors

#: Fraction of the datasheet offset left after a device's own start-up gyroscope
#: calibration (WitMotion and Thingy:52 firmwares average the gyroscope at rest).
CALIBRATED_OFFSET_FRACTION = 0.1
#: Range of the warm-up from room to skin temperature, K, and its time constant, s.
WARM_UP_K = (2.0, 10.0)
WARM_UP_TAU_S = (180.0, 600.0)
#: Rate random walk of the gyroscope bias (bias instability), deg/s/sqrt(s). Datasheets of
#: consumer IMUs do not state it; published Allan deviations of MPU-6050 / BMI160 class parts
#: put bias instability at 3-20 deg/h, i.e. this order of random walk.
GYRO_RATE_WALK_DPS_PER_RTS = (0.0005, 0.005)


@dataclass(frozen=True)
class ImuModel:
    """Datasheet figures of one MEMS IMU (bounds are +-; noise densities typical)."""

    name: str
    gyro_noise_density_dps_per_rthz: float
    accel_noise_density_ug_per_rthz: float
    gyro_offset_dps: float  # initial zero-rate offset tolerance
    accel_offset_mg: float  # initial zero-g offset tolerance
    gyro_offset_tempco_dps_per_k: float  # zero-rate offset change with temperature
    gyro_scale_error_pct: float  # sensitivity tolerance
    accel_scale_error_pct: float
    cross_axis_pct: float  # sensitivity to the other two axes


#: Datasheet figures (docs/simulator.md names each document).
IMUS = {
    imu.name: imu
    for imu in (
        ImuModel("MPU-6050", 0.005, 400.0, 20.0, 80.0, 0.16, 3.0, 3.0, 2.0),
        ImuModel("MPU-9250", 0.01, 300.0, 5.0, 80.0, 0.24, 3.0, 3.0, 2.0),
        ImuModel("ICM-20948", 0.015, 230.0, 5.0, 25.0, 0.05, 1.5, 0.5, 2.0),
        ImuModel("BMI160", 0.007, 180.0, 3.0, 40.0, 0.05, 1.0, 1.0, 1.0),
        ImuModel("BMI270", 0.007, 160.0, 0.5, 20.0, 0.02, 0.4, 0.4, 1.0),
        ImuModel("LSM6DS3", 0.007, 90.0, 10.0, 40.0, 0.05, 1.0, 1.0, 1.0),
    )
}

Timing = Literal["device_clock", "arrival"]
Triple = tuple[float, float, float]


@dataclass(frozen=True)
class Device:
    """A supported device family: its chips, rates, timing, resolution and link."""

    profile: str  # sensor/profiles name
    imus: tuple[str, ...]
    rates_hz: tuple[float, ...]
    timing: Timing  # device clock stamps samples, or the host stamps their arrival
    jitter_ms: tuple[float, float]  # timestamp noise (device clock resolution), ms
    accel_range_g: float  # 16-bit full scale as the device reports (0 = float32 output)
    gyro_range_dps: float
    calibrates_gyro: bool  # the firmware removes the gyroscope offset at start-up
    samples_per_packet: tuple[int, int]


DEVICES = {
    d.profile: d
    for d in (
        Device("witmotion", ("MPU-6050", "ICM-20948"), (50.0, 100.0, 200.0), "arrival",
               (0.0, 0.0), 16.0, 2000.0, True, (1, 1)),
        Device("movesense", ("LSM6DS3",), (26.0, 52.0, 104.0, 208.0), "device_clock",
               (0.2, 0.5), 0.0, 0.0, False, (4, 4)),
        Device("thingy52", ("MPU-9250", "ICM-20948"), (25.0, 30.0, 50.0, 100.0), "arrival",
               (0.0, 0.0), 32.0, 1024.0, True, (1, 1)),
        Device("backspotter", ("BMI160", "BMI270"), (25.0, 31.25, 50.0, 100.0, 200.0),
               "device_clock", (0.01, 0.2), 16.0, 2000.0, False, (1, 19)),
    )
}  # fmt: skip


def draw_errors(
    imu: ImuModel, device: Device, rate_hz: float, rng: np.random.Generator
) -> SensorErrors:
    """One unit of ``imu`` inside ``device``: every error inside the datasheet's bounds.

    White noise per sample is the noise density over the sample rate's Nyquist band (the
    chips' digital low-pass sits near half the output rate).
    """
    band_rthz = float(np.sqrt(rate_hz / 2.0))
    offset_fraction = CALIBRATED_OFFSET_FRACTION if device.calibrates_gyro else 1.0

    def within(bound: float) -> Triple:
        """Three values uniform in +-bound."""
        return _triple(rng.uniform(-bound, bound, 3))

    def scale(bound_pct: float) -> Triple:
        """Three gains uniform in 1 +- bound_pct %."""
        return _triple(1.0 + rng.uniform(-bound_pct, bound_pct, 3) / 100.0)

    def cross(bound_pct: float) -> tuple[float, ...]:
        """Row-major 3x3 coupling: identity plus off-diagonal terms in +-bound_pct %."""
        m = np.eye(3) + rng.uniform(-bound_pct, bound_pct, (3, 3)) / 100.0 * (1 - np.eye(3))
        return tuple(float(v) for v in m.ravel())

    return SensorErrors(
        accel_noise_mps2=imu.accel_noise_density_ug_per_rthz * 1e-6 * GRAVITY_MPS2 * band_rthz,
        gyro_noise_rps=float(np.radians(imu.gyro_noise_density_dps_per_rthz) * band_rthz),
        accel_bias_mps2=_triple(np.multiply(within(imu.accel_offset_mg), 1e-3 * GRAVITY_MPS2)),
        accel_scale=scale(imu.accel_scale_error_pct),
        gyro_bias_rps=_triple(np.radians(within(imu.gyro_offset_dps * offset_fraction))),
        gyro_drift_rps_per_s=(0.0, 0.0, 0.0),
        gyro_walk_rps_per_sqrt_s=float(np.radians(rng.uniform(*GYRO_RATE_WALK_DPS_PER_RTS))),
        gyro_scale=scale(imu.gyro_scale_error_pct),
        accel_range_g=device.accel_range_g,
        gyro_range_dps=device.gyro_range_dps,
        accel_cross=cross(imu.cross_axis_pct),
        gyro_cross=cross(imu.cross_axis_pct),
        warm_up_rps=_triple(
            np.radians(within(imu.gyro_offset_tempco_dps_per_k)) * rng.uniform(*WARM_UP_K)
        ),
        warm_up_tau_s=float(rng.uniform(*WARM_UP_TAU_S)),
    )


def read_by(batch: SampleBatch, device: str, chip: str, rng: np.random.Generator) -> SampleBatch:
    """What one unit of ``chip`` in ``device``, its errors drawn from ``rng`` within the
    datasheet, would have read of the movement a real sensor recorded in ``batch``: the
    unit's errors added to the readings (the real sensor's own errors stay in them)."""
    rate_hz = 1.0 / float(np.median(np.diff(batch.t_s)))
    errors = draw_errors(IMUS[chip], DEVICES[device], rate_hz, rng)
    read = apply_errors(ImuReadings(batch.accel_mps2, batch.gyro_rps), batch.t_s, errors, rng)
    return replace(batch, accel_mps2=read.accel_mps2, gyro_rps=read.gyro_rps)


def _triple(values: FloatArray | Triple) -> Triple:
    """Three numbers as a plain float triple."""
    a, b, c = (float(v) for v in values)
    return a, b, c
