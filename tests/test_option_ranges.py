"""Every number a command takes is checked against its documented range (issue 11, item 1)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from processing.cli import main
from processing.wire.json_text import to_json_text

FIXTURE = "fixtures/dual_conventional_mixed.csv.gz"

BAD_VALUES = [
    (["analyze", FIXTURE, "--threshold", "0"], "between 1 and 120 deg, not 0"),
    (["analyze", FIXTURE, "--threshold", "nan"], "between 1 and 120 deg, not nan"),
    (["analyze", FIXTURE, "--threshold", "-5"], "between 1 and 120 deg, not -5"),
    (["analyze", FIXTURE, "--threshold", "500"], "between 1 and 120 deg, not 500"),
    (["analyze", FIXTURE, "--threshold", "inf"], "between 1 and 120 deg, not inf"),
    (["analyze", FIXTURE, "--above-reference", "-1"], "between 0 and 60 deg"),
    (["analyze", FIXTURE, "--reference-reps", "0"], "at least 1"),
    (["evaluate", "fixtures", "--threshold", "nan"], "between 1 and 120 deg"),
    (["run", "--source", "sim://?seed=1", "--threshold", "0"], "between 1 and 120 deg"),
    (["replay", FIXTURE, "--threshold", "1e400"], "between 1 and 120 deg"),
    (["replay", FIXTURE, "--speed", "0"], "between 0.1 and 1000 x real time, not 0 (or max)"),
    (["replay", FIXTURE, "--speed", "nan"], "between 0.1 and 1000"),
    (["demo", "--speed", "-1"], "between 0.1 and 1000"),
    (["demo", "--port", "70000"], "at most 65535"),
    (["dashboard", "--port", "0"], "at least 1"),
    (["record", "sim://?seed=1", "out.csv", "--duration", "-3"], "between 0.1 and 86400 s"),
    (["scan", "--timeout", "inf"], "between 0.5 and 600 s"),
]


@pytest.mark.parametrize(
    ("argv", "expected"), BAD_VALUES, ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else ""
)
def test_out_of_range_options_are_refused_in_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1, err


def test_threshold_zero_is_never_silently_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    # It used to run at 30 deg (``threshold_deg or default``) and say nothing.
    with pytest.raises(SystemExit):
        main(["analyze", FIXTURE, "--json", "--threshold", "0"])
    assert capsys.readouterr().out == ""


def test_json_text_is_strict_and_has_no_nan() -> None:
    value = {"a": math.nan, "b": [math.inf, np.float64(-np.inf)], "c": 1.5, "d": np.arange(2)}
    text = to_json_text(value)
    assert text == '{"a":null,"b":[null,null],"c":1.5,"d":[0,1]}'

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON")

    assert json.loads(to_json_text(value, indent=2), parse_constant=refuse) == json.loads(text)
