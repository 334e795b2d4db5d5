"""The one way Backspotter writes JSON: strict, with every non-finite number as ``null``.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no JSON parser has to
accept; a measurement that has no value (a peak hidden by a gap) is ``null`` instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_json_text(value: object, indent: int | None = None) -> str:
    """Strict JSON of ``value`` (compact unless ``indent``); NaN and infinities become null."""
    try:
        return _dumps(value, indent)
    except ValueError:  # allow_nan=False refused a non-finite float: the rare path
        return _dumps(finite_or_null(value), indent)


def _dumps(value: object, indent: int | None) -> str:
    """Strict JSON, compact separators when not indented."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(
        value, separators=separators, indent=indent, default=_jsonable, allow_nan=False
    )


def _jsonable(value: object) -> object:
    """Numpy scalars and arrays in pipeline payloads become plain JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def finite_or_null(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (numpy ones too) replaced by None."""
    if isinstance(value, np.generic | np.ndarray):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value
