"""Errors raised by the sensor layer."""

from __future__ import annotations


class BackspotterSensorError(Exception):
    """Base class of every error the sensor layer raises."""


class RecordingFormatError(BackspotterSensorError):
    """A recording file breaks the ``imu-recording/1`` format; names line and column."""

    def __init__(self, path: str, line: int | None, column: str | None, message: str) -> None:
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.reason = message


class SourceURLError(BackspotterSensorError):
    """A source URL (``ble://``, ``replay://``, ``sim://``) cannot be understood."""


#: What to do when there is no usable Bluetooth adapter, for every message that says so.
NO_ADAPTER_HINT = (
    "no Bluetooth adapter found: is bluetoothd running (systemctl status bluetooth) and the "
    "adapter unblocked (rfkill list)?"
)


class DeviceError(BackspotterSensorError):
    """A Bluetooth device could not be found, connected or started."""
