"""JSON Schemas of every MQTT payload (documented in docs/mqtt.md), and a validator for them.

The ``*.json`` files beside this module ship as package data (``pyproject.toml``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).parent
#: Payloads that are not events.
OTHER_PAYLOADS = ("status", "live", "stored", "store_ready")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (an event type, ``status``, ``live`` or ``envelope``)."""
    path = SCHEMA_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no JSON Schema for {name!r}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@functools.cache
def _registry() -> Registry:
    """Every schema by its ``$id``, so ``$ref: envelope.json`` resolves offline."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = load_schema(path.stem)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A validator for payloads of kind ``name``."""
    return Draft202012Validator(load_schema(name), registry=_registry())


def event_types() -> list[str]:
    """Every event type that has a schema."""
    names = {p.stem for p in SCHEMA_DIR.glob("*.json")}
    return sorted(names - {"envelope", *OTHER_PAYLOADS})


def validate_event(payload: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``payload`` is a valid event of its type."""
    validator(str(payload.get("type"))).validate(payload)
