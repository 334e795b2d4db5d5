"""``backspotter analyze``: contract 2 on stdout, readable tables, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sensor.recording import read_truth

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dual_conventional_mixed.csv.gz"


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the console command in a fresh process, as a user would."""
    command = [sys.executable, "-m", "processing.cli", "analyze", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_json_output_follows_contract_2() -> None:
    done = analyze(str(FIXTURE), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["mode"] == "dual"
    truth = read_truth(FIXTURE)
    assert truth is not None
    assert [len(s["reps"]) for s in result["sets"]] == [len(s["reps"]) for s in truth["sets"]]
    for lift_set in result["sets"]:
        assert set(lift_set) >= {"start", "end", "reps"}
        for rep in lift_set["reps"]:
            assert rep["start"] < rep["lockout"] <= rep["end"]
            assert isinstance(rep["peak_flexion_deg"], float)
            assert rep["flexion_alert"] == (rep["peak_flexion_deg"] > result["threshold_deg"])
    for event in result["flexion_events"]:
        assert event["start"] <= event["end"] and event["peak_deg"] > result["threshold_deg"]


def test_threshold_option_changes_the_alerts() -> None:
    low = json.loads(analyze(str(FIXTURE), "--json", "--threshold", "10").stdout)
    high = json.loads(analyze(str(FIXTURE), "--json", "--threshold", "80").stdout)
    assert low["threshold_deg"] == 10 and high["threshold_deg"] == 80
    assert all(r["flexion_alert"] for s in low["sets"] for r in s["reps"])
    assert not any(r["flexion_alert"] for s in high["sets"] for r in s["reps"])


def test_above_reference_alerts_relative_to_the_first_reps() -> None:
    single = FIXTURE.with_name("single_upper_fatigue.csv.gz")
    done = analyze(str(single), "--json", "--above-reference", "5", "--reference-reps", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    reps = [r for s in result["sets"] for r in s["reps"]]
    first_peaks = sorted(r["peak_flexion_deg"] for r in reps[:3])
    assert result["threshold_deg"] == pytest.approx(first_peaks[1] + 5.0, abs=0.01)
    for rep in reps[3:]:
        assert rep["flexion_alert"] == (rep["peak_flexion_deg"] > result["threshold_deg"])
    refused = analyze(str(single), "--above-reference", "5", "--reference-reps", "0")
    assert refused.returncode == 2 and "at least 1" in refused.stderr


def test_table_output_names_mode_and_sets() -> None:
    done = analyze(str(FIXTURE))
    assert done.returncode == 0
    assert "dual sensor mode" in done.stdout and "Set 1" in done.stdout


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("t,ax,ay,az,gx,gy\n0.0,0,0,9.8,0,0\n", "column 'gz'"),
        ("t,ax,ay,az,gx,gy,gz\n0.0,0,0,9.8,0,0,0\n0.01,0,zero,9.8,0,0,0\n", "line 3"),
    ],
)
def test_malformed_file_gets_a_clear_error(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    done = analyze(str(path))
    assert done.returncode == 2
    assert where in done.stderr and "Traceback" not in done.stderr
