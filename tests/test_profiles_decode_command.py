"""``backspotter decode``: raw notifications in, decoded samples and decoder stats out as JSON."""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
from typing import Any

import pytest

from processing.commands import decode

G = 9.80665
DEG = math.pi / 180.0
WIT_AT_REST = "55 61 00 00 00 00 00 08 10 00 00 00 00 00 00 00 00 00 00 10"


def run_decode(argv: list[str]) -> int:
    """Parse ``argv`` with the subcommand registered as the console script does, and run it."""
    parser = argparse.ArgumentParser(prog="backspotter")
    decode.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["decode", *argv])
    status: int = args.func(args)
    return status


def decoded(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    """The JSON document printed for ``argv`` (which must succeed)."""
    assert run_decode(argv) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_witmotion_frame_in_si_units(capsys: pytest.CaptureFixture[str]) -> None:
    document = decoded(capsys, ["--profile", "witmotion", WIT_AT_REST])

    assert document["profile"] == "witmotion"
    (notification,) = document["notifications"]
    (sample,) = notification["samples"]
    assert sample["accel_mps2"] == pytest.approx([0, 0, 2048 * 16 / 32768 * G])
    assert sample["gyro_rps"] == pytest.approx([16 * 2000 / 32768 * DEG, 0, 0])
    assert notification["bytes"] == 20 and notification["sequence"] is None
    assert document["stats"]["samples"] == 1 and document["stats"]["bad_packets"] == 0


def test_backspotter_timing_fields_with_any_separator(capsys: pytest.CaptureFixture[str]) -> None:
    packet = "0x01:00:05:00:40:42:0f:00:10:27:00:00:01:08:d0:07-00-10-00-00-00-00-00-40-00-00-00-00"
    document = decoded(capsys, ["--profile", "backspotter", packet])

    (notification,) = document["notifications"]
    assert notification["sequence"] == 5
    assert notification["device_ticks"] == 1_000_000
    assert notification["device_time_s"] == pytest.approx(1.0)
    assert notification["sample_period_s"] == pytest.approx(0.01)
    (sample,) = notification["samples"]
    assert sample["accel_mps2"] == pytest.approx([4096 * 8 / 32768 * G, 0, 0])
    assert sample["gyro_rps"] == pytest.approx([16384 * 2000 / 32768 * DEG, 0, 0])


def test_notifications_from_stdin_share_one_decoder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    split = WIT_AT_REST.replace(" ", "")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{split[:14]}\n\n{split[14:]}\n"))
    document = decoded(capsys, ["--profile", "witmotion", "-"])

    assert [len(n["samples"]) for n in document["notifications"]] == [0, 1]
    assert document["stats"]["packets"] == 2


def test_garbage_is_counted_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    document = decoded(capsys, ["--profile", "thingy52", "0102", "00" * 18])
    assert document["stats"]["bad_packets"] == 1
    assert [len(n["samples"]) for n in document["notifications"]] == [0, 1]
    assert document["notifications"][1]["samples"][0]["mag_ut"] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "witmotion", "5561", "55 6x"], "argument 2, column 5: 'x' is not a hex"),
        (["--profile", "witmotion", "55 6"], "argument 1: odd number of hex digits (3)"),
        (["--profile", "polar", "00"], "unknown device profile 'polar'; known profiles: back"),
    ],
)
def test_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run_decode(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_the_console_script_decodes_and_fails_cleanly() -> None:
    command = [sys.executable, "-m", "processing.cli", "decode", "--profile", "movesense"]
    ok = subprocess.run([*command, "01 4d c8 00"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["stats"]["replies"] == 1
    bad = subprocess.run([*command, "01 4g"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "argument 1, column 5: 'g' is not a hex digit" in bad.stderr
    assert "Traceback" not in bad.stderr
