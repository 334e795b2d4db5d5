"""The files around a recording: gzip, text decoding, the ``.meta.json`` and ``.truth.json``.

The CSV itself is parsed by :mod:`sensor.recording.parse`; this module only turns a path into
text and reads or writes the JSON files that sit beside it.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from sensor.exc import RecordingFormatError

#: Value of ``format`` in a recording's ``.meta.json``.
RECORDING_FORMAT = "imu-recording/1"
#: Value of ``format`` in a recording's ``.truth.json``.
TRUTH_FORMAT = "imu-truth/1"

_GZIP_MAGIC = b"\x1f\x8b"


def recording_stem(path: Path) -> Path:
    """``dir/NAME`` for ``dir/NAME.csv`` or ``dir/NAME.csv.gz`` (the sidecars' common prefix)."""
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return path.with_name(name)


def sidecar_path(path: Path, kind: str) -> Path:
    """``dir/NAME.<kind>.json`` beside the recording ``path`` (kind is ``meta`` or ``truth``)."""
    stem = recording_stem(path)
    return stem.with_name(f"{stem.name}.{kind}.json")


def is_gzip_path(path: Path) -> bool:
    """True when a recording written to ``path`` should be gzip-compressed."""
    return path.name.endswith(".gz")


def read_recording_bytes(path: Path) -> tuple[bytes, bool]:
    """The CSV bytes of ``path``, gunzipped when compressed; True when a gzip stream was cut short.

    A gzip stream that simply stops (a recorder killed mid-write) yields what was written;
    corrupt compressed data is an error.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingFormatError(str(path), None, None, f"cannot read: {exc.strerror}") from exc
    if not raw.startswith(_GZIP_MAGIC):
        return raw, False
    return _gunzip_tolerating_truncation(path, raw)


def _gunzip_tolerating_truncation(path: Path, raw: bytes) -> tuple[bytes, bool]:
    """Decompress every gzip member of ``raw``; True when the last member has no end."""
    parts: list[bytes] = []
    remaining = raw
    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            parts.append(inflater.decompress(remaining))
        except zlib.error as exc:
            raise RecordingFormatError(str(path), None, None, f"corrupt gzip data: {exc}") from exc
        if not inflater.eof:
            return b"".join(parts), True
        remaining = inflater.unused_data
    return b"".join(parts), False


def decode_utf8(path: Path, raw: bytes) -> str:
    """``raw`` as text (UTF-8, optional byte-order mark); a bad byte is reported by line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        field = raw.count(b",", line_start, exc.start) + 1
        message = f"not UTF-8 text (byte {raw[exc.start]:#04x})"
        raise RecordingFormatError(str(path), line, f"#{field}", message) from exc


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``; syntax errors name the line."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at character {exc.colno}: {exc.msg}"
        raise RecordingFormatError(str(path), exc.lineno, None, message) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingFormatError(str(path), None, None, f"cannot read: {exc}") from exc
    if not isinstance(value, dict):
        raise RecordingFormatError(str(path), 1, None, "expected a JSON object")
    return value


def read_meta(path: Path) -> dict[str, Any]:
    """The validated ``NAME.meta.json`` beside the recording ``path``, or ``{}`` if none."""
    meta_path = sidecar_path(path, "meta")
    if not meta_path.exists():
        return {}
    meta = read_json_object(meta_path)
    problem = meta_problem(meta)
    if problem is not None:
        raise RecordingFormatError(str(meta_path), None, None, problem)
    return meta


def meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a recording's metadata, or None when it follows the format."""
    if meta.get("format", RECORDING_FORMAT) != RECORDING_FORMAT:
        return f'"format" is {meta["format"]!r}, expected {RECORDING_FORMAT!r}'
    rate = meta.get("sample_rate_hz", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        return f'"sample_rate_hz" must be a positive number, not {rate!r}'
    if not isinstance(meta.get("device", ""), str):
        return '"device" must be a string'
    return _sensors_problem(meta.get("sensors", {}))


def _sensors_problem(sensors: object) -> str | None:
    """What is wrong with the ``sensors`` object of the metadata, or None."""
    if not isinstance(sensors, dict):
        return '"sensors" must be an object mapping each role to its description'
    for role, description in sensors.items():
        if not role.strip():
            return '"sensors" has an empty role name'
        if not isinstance(description, dict):
            return f'"sensors"."{role}" must be an object such as {{"placement": "L1"}}'
        if not isinstance(description.get("placement", ""), str):
            return f'"sensors"."{role}"."placement" must be a string'
    return None


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """Write ``NAME.meta.json`` beside the recording ``path``, stamped with the format."""
    stamped = {"format": RECORDING_FORMAT, **meta}
    problem = meta_problem(stamped)
    if problem is not None:
        raise ValueError(f"invalid recording metadata: {problem}")
    sidecar_path(path, "meta").write_text(json.dumps(stamped, indent=2) + "\n", encoding="utf-8")


def read_truth(path: str | Path) -> dict[str, Any] | None:
    """The ground truth ``NAME.truth.json`` beside ``NAME.csv[.gz]``, or None when there is none."""
    truth_path = sidecar_path(Path(path), "truth")
    if not truth_path.exists():
        return None
    truth = read_json_object(truth_path)
    if truth.get("format", TRUTH_FORMAT) != TRUTH_FORMAT:
        message = f'"format" is {truth["format"]!r}, expected {TRUTH_FORMAT!r}'
        raise RecordingFormatError(str(truth_path), None, None, message)
    return truth
