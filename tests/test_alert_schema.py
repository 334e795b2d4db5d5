"""The ``flexion_alert`` contract: an alert outside any rep carries ``set``/``rep`` null, and
docs/mqtt.md's examples are valid payloads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from processing.wire.schemas import validate_event

MQTT_DOC = Path(__file__).parents[1] / "docs" / "mqtt.md"
BASE = {"v": 1, "type": "flexion_alert", "session_id": "20250615T081500Z-2f087cb5", "seq": 6,
        "ts": 1749975302170, "t": 13.02, "angle_deg": 30.21, "threshold_deg": 30.0}  # fmt: skip


def test_an_alert_outside_a_rep_has_null_set_and_rep() -> None:
    validate_event({**BASE, "set": None, "rep": None})
    validate_event({**BASE, "set": 2, "rep": 1})


@pytest.mark.parametrize("bad", [{"set": 0, "rep": 1}, {"set": "1", "rep": 1}, {"set": 1}])
def test_other_set_and_rep_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**BASE, **bad})


def test_the_documented_alert_examples_are_valid() -> None:
    blocks = re.findall(r"```json\n(.*?)```", MQTT_DOC.read_text(), re.DOTALL)
    alerts = [json.loads(b) for b in blocks if '"type":"flexion_alert"' in b]
    assert any(a["rep"] is None for a in alerts), "docs/mqtt.md shows no alert outside a rep"
    for payload in alerts:
        validate_event(payload)
