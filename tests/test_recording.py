"""Reading and writing ``imu-recording/1`` files (sensor/recording.py)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensor.exc import RecordingFormatError
from sensor.recording import (
    Recording,
    RecordingWriter,
    iter_batches,
    read_recording,
    read_truth,
    write_recording,
)
from sensor.samples import DEFAULT_ROLE, SampleBatch

HEADER = "t,sensor,ax,ay,az,gx,gy,gz\n"
ROW = "1,2,3,4,5,6"  # ax..gz of a valid row


def make_batch(role: str, t_s: list[float] | np.ndarray, mag: bool = False) -> SampleBatch:
    """A batch whose values differ between samples and sensors."""
    t = np.asarray(t_s, dtype=np.float64)
    n = t.shape[0]
    # Values stay within 16 g and 2000 deg/s: beyond them a reader drops samples as impossible.
    offset = {"upper": 0.0, "lower": 30.0}.get(role, 60.0)
    steps = (np.arange(n) % 256)[:, None] * 0.125
    base = np.asarray(offset + steps + np.arange(3)[None, :], np.float64)
    mag_ut = (base + 40.0) if mag else None
    return SampleBatch(role, t, base + 9.5, base / 64.0, mag_ut)


def write_text(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    """Write ``text`` verbatim (no newline translation) and return its path."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def assert_batches_equal(got: SampleBatch, expected: SampleBatch) -> None:
    """Same role and samples, within the file format's precision."""
    assert got.role == expected.role
    np.testing.assert_allclose(got.t_s, expected.t_s, rtol=0, atol=5e-7)
    np.testing.assert_allclose(got.accel_mps2, expected.accel_mps2, rtol=5e-6)
    np.testing.assert_allclose(got.gyro_rps, expected.gyro_rps, rtol=5e-6)
    if expected.mag_ut is None:
        assert got.mag_ut is None
    else:
        assert got.mag_ut is not None
        np.testing.assert_allclose(got.mag_ut, expected.mag_ut, rtol=5e-6)


# --- round trips -------------------------------------------------------------------------


def test_single_sensor_round_trip_has_no_sensor_column(tmp_path: Path) -> None:
    batch = make_batch(DEFAULT_ROLE, np.arange(50) / 100.0)
    path = tmp_path / "one.csv"
    write_recording(path, Recording({DEFAULT_ROLE: batch}))
    assert path.read_text().splitlines()[0] == "t,ax,ay,az,gx,gy,gz"
    recording = read_recording(path)
    assert recording.roles == (DEFAULT_ROLE,)
    assert recording.path == path
    assert recording.meta == {}
    assert_batches_equal(recording.sensors[DEFAULT_ROLE], batch)


def test_two_sensor_round_trip_through_gzip_keeps_meta(tmp_path: Path) -> None:
    upper = make_batch("upper", np.arange(0, 200) / 100.0)
    lower = make_batch("lower", 0.004 + np.arange(0, 150) / 75.0)
    meta = {"sample_rate_hz": 100, "sensors": {"upper": {"placement": "L1"}}, "device": "sim"}
    path = tmp_path / "two.csv.gz"
    write_recording(path, Recording({"upper": upper, "lower": lower}), meta=meta)
    assert gzip.decompress(path.read_bytes()).startswith(b"t,sensor,ax,ay,az,gx,gy,gz\n")
    recording = read_recording(path)
    assert recording.roles == ("upper", "lower")
    assert recording.meta == {"format": "imu-recording/1", **meta}
    assert json.loads((tmp_path / "two.meta.json").read_text())["device"] == "sim"
    assert_batches_equal(recording.sensors["upper"], upper)
    assert_batches_equal(recording.sensors["lower"], lower)
    assert recording.duration_s == pytest.approx(149 / 75.0 + 0.004)


def test_written_rows_are_sorted_by_time_across_sensors(tmp_path: Path) -> None:
    path = tmp_path / "sorted.csv"
    write_recording(path, [make_batch("upper", [0.0, 0.2, 0.4]), make_batch("lower", [0.1, 0.3])])
    times = [line.split(",")[:2] for line in path.read_text().splitlines()[1:]]
    assert times == [
        ["0.000000", "upper"],
        ["0.100000", "lower"],
        ["0.200000", "upper"],
        ["0.300000", "lower"],
        ["0.400000", "upper"],
    ]


def test_time_keeps_microseconds_after_hours(tmp_path: Path) -> None:
    t_s = 1_700_000_000.0 + np.array([0.0, 0.0025, 0.005, 3600.0075])
    batch = make_batch(DEFAULT_ROLE, t_s)
    path = tmp_path / "epoch.csv"
    write_recording(path, [batch])
    np.testing.assert_array_equal(np.diff(read_recording(path).sensors[DEFAULT_ROLE].t_s) > 0, True)
    assert_batches_equal(read_recording(path).sensors[DEFAULT_ROLE], batch)


def test_magnetometer_round_trip_with_a_sensor_that_has_none(tmp_path: Path) -> None:
    upper = make_batch("upper", [0.0, 0.01, 0.02], mag=True)
    lower = make_batch("lower", [0.0, 0.01, 0.02])
    path = tmp_path / "mag.csv"
    write_recording(path, [upper, lower])
    lines = path.read_text().splitlines()
    assert lines[0] == "t,sensor,ax,ay,az,gx,gy,gz,mx,my,mz"
    assert lines[2].endswith(",,,")  # lower at t=0 has no magnetometer
    recording = read_recording(path)
    assert_batches_equal(recording.sensors["upper"], upper)
    assert_batches_equal(recording.sensors["lower"], lower)


def test_columns_in_any_order_with_extra_columns_ignored(tmp_path: Path) -> None:
    text = (
        " GZ ,note,T,sensor,ax,ay,az,gx,gy,temp_c\n"
        "6,hello world,0.5,upper,1,2,3,4,5,31.5\n"
        "16,,0.6,upper,11,12,13,14,15,\n"
    )
    batch = read_recording(write_text(tmp_path, text)).sensors["upper"]
    np.testing.assert_array_equal(batch.t_s, [0.5, 0.6])
    np.testing.assert_array_equal(batch.accel_mps2, [[1, 2, 3], [11, 12, 13]])
    np.testing.assert_array_equal(batch.gyro_rps, [[4, 5, 6], [14, 15, 16]])


def test_any_role_name_is_a_sensor_and_roles_are_trimmed(tmp_path: Path) -> None:
    text = HEADER + f"0, wrist ,{ROW}\n0,upper,{ROW}\n0.1,wrist,{ROW}\n0.1,ankle,{ROW}\n"
    recording = read_recording(write_text(tmp_path, text))
    assert recording.roles == ("upper", "ankle", "wrist")
    assert len(recording.sensors["wrist"]) == 2


def test_crlf_byte_order_mark_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + f"0,upper,{ROW}\r\n\r\n0.1,upper,{ROW}\r\n\n"
    batch = read_recording(write_text(tmp_path, text)).sensors["upper"]
    np.testing.assert_array_equal(batch.t_s, [0.0, 0.1])


def test_quoted_fields_are_read(tmp_path: Path) -> None:
    text = HEADER + f'0,"upper",{ROW}\n"0.1","upper","1",2,3,4,5,6\n'
    batch = read_recording(write_text(tmp_path, text)).sensors["upper"]
    np.testing.assert_array_equal(batch.t_s, [0.0, 0.1])


# --- documented handling -----------------------------------------------------------------


def test_duplicated_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    text = HEADER + (
        f"0.00,upper,{ROW}\n"
        f"0.00,lower,{ROW}\n"
        f"0.00,upper,{ROW}\n"  # duplicate of line 2, another sensor in between
        f"0.01,upper,{ROW}\n"
        f"0.01,upper,9,9,9,9,9,9\n"  # same sensor and time, other values: the first is kept
        f"0.01,lower,{ROW}\n"
    )
    recording = read_recording(write_text(tmp_path, text))
    assert recording.dropped_duplicates == 2
    np.testing.assert_array_equal(recording.sensors["upper"].t_s, [0.0, 0.01])
    np.testing.assert_array_equal(recording.sensors["upper"].accel_mps2[1], [1, 2, 3])
    np.testing.assert_array_equal(recording.sensors["lower"].t_s, [0.0, 0.01])


def test_gaps_and_irregular_spacing_are_kept(tmp_path: Path) -> None:
    t_s = [0.0, 0.01, 0.013, 0.03, 3.03, 3.04]
    path = tmp_path / "gap.csv"
    write_recording(path, [make_batch("upper", t_s)])
    np.testing.assert_allclose(read_recording(path).sensors["upper"].t_s, t_s)


def test_time_may_go_backwards_across_sensors(tmp_path: Path) -> None:
    text = HEADER + f"0.5,upper,{ROW}\n0.2,lower,{ROW}\n0.6,upper,{ROW}\n0.3,lower,{ROW}\n"
    recording = read_recording(write_text(tmp_path, text))
    np.testing.assert_array_equal(recording.sensors["lower"].t_s, [0.2, 0.3])


def test_unterminated_last_line_is_dropped_as_cut_short(tmp_path: Path) -> None:
    for last_line in ("0.02,upper,1,2,3,4,5", "0.02,upper,1,2,3,4,5,6"):  # cut inside a number
        text = HEADER + f"0,upper,{ROW}\n0.01,upper,{ROW}\n{last_line}"
        recording = read_recording(write_text(tmp_path, text))
        assert recording.truncated
        np.testing.assert_array_equal(recording.sensors["upper"].t_s, [0.0, 0.01])


def test_terminated_last_line_is_kept(tmp_path: Path) -> None:
    recording = read_recording(write_text(tmp_path, HEADER + f"0,upper,{ROW}\n"))
    assert not recording.truncated
    assert len(recording.sensors["upper"]) == 1


def test_gzip_stream_cut_short_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    lines = [f"{k / 100:.2f},upper,{ROW}\n" for k in range(2000)]
    compressed = gzip.compress((HEADER + "".join(lines)).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    recording = read_recording(path)
    assert recording.truncated
    t_s = recording.sensors["upper"].t_s
    assert 0 < len(t_s) < 2000
    np.testing.assert_allclose(t_s, np.arange(len(t_s)) / 100)


# --- malformed input: RecordingFormatError names file, line and column ------------------

MALFORMED = {
    "missing column": ("t,ax,ay,az,gx,gy\n0,1,2,3,4,5\n", 1, "gz", "missing required column"),
    "column twice": ("t,ax,ay,az,gx,gy,gz,ax\n0,1,2,3,4,5,6,1\n", 1, "ax", "twice"),
    "partial magnetometer": (f"t,ax,ay,az,gx,gy,gz,mx,mz\n0,{ROW},1,2\n", 1, "my", "together"),
    "empty file": ("", 1, None, "empty file"),
    "blank file": ("\n\n", 1, None, "empty file"),
    "header only": (HEADER, 2, None, "no samples"),
    "text in a number": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,abc,3,4,5,6\n", 3, "ay", "abc"),
    "NaN": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,2,3,NaN,5,6\n", 3, "gx", "finite"),
    "infinity": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,2,3,4,-inf,6\n", 3, "gy", "finite"),
    "overflow": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,2,3,4,5,1e999\n", 3, "gz", "finite"),
    "empty field": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,2,,4,5,6\n", 3, "az", "empty field"),
    "empty time": (HEADER + f"0,upper,{ROW}\n,upper,{ROW}\n", 3, "t", "empty field"),
    "underscore": (HEADER + f"0,upper,{ROW}\n0.1,upper,1_0,2,3,4,5,6\n", 3, "ax", "not a number"),
    "time backwards": (
        HEADER + f"0,upper,{ROW}\n0.5,lower,{ROW}\n0.6,upper,{ROW}\n0.4,lower,{ROW}\n",
        5,
        "t",
        "time goes backwards for sensor 'lower'",
    ),
    "too few fields": (HEADER + f"0,upper,{ROW}\n0.1,upper,1,2,3,4\n", 3, "gy", "6 fields"),
    "too many fields": (HEADER + f"0,upper,{ROW}\n0.1,upper,{ROW},7\n", 3, "#9", "9 fields"),
    "whitespace line": (HEADER + f"0,upper,{ROW}\n \n0.2,upper,{ROW}\n", 3, "sensor", "1 fields"),
    "empty role": (HEADER + f"0,upper,{ROW}\n0.1, ,{ROW}\n", 3, "sensor", "empty sensor role"),
    "magnetometer on some rows only": (
        f"t,ax,ay,az,gx,gy,gz,mx,my,mz\n0,{ROW},1,2,3\n0.1,{ROW},,,\n",
        3,
        "mx",
        "magnetometer values on some rows",
    ),
    "one magnetometer field empty": (
        f"t,ax,ay,az,gx,gy,gz,mx,my,mz\n0,{ROW},1,2,3\n0.1,{ROW},1,,3\n",
        3,
        "my",
        "empty field",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_file_names_line_and_column(tmp_path: Path, case: str) -> None:
    text, line, column, reason = MALFORMED[case]
    path = write_text(tmp_path, text)
    with pytest.raises(RecordingFormatError) as caught:
        read_recording(path)
    error = caught.value
    assert (error.path, error.line, error.column) == (str(path), line, column)
    assert reason in error.reason
    assert str(error).startswith(f"{path}, line {line}")


def test_error_deep_in_a_large_file_names_its_line(tmp_path: Path) -> None:
    rows = [f"{k / 100:.2f},{'upper' if k % 2 else 'lower'},{ROW}\n" for k in range(20_000)]
    rows[15_000] = rows[15_000].replace(",3,4,", ",3,x4,")
    path = write_text(tmp_path, HEADER + "".join(rows))
    with pytest.raises(RecordingFormatError) as caught:
        read_recording(path)
    assert (caught.value.line, caught.value.column) == (15_002, "gx")


def test_bytes_that_are_not_utf8_name_their_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + b"0,upper,1,2,3,4,5,6\n0.1,upp\xe9r,1,2,3,4,5,6\n")
    with pytest.raises(RecordingFormatError) as caught:
        read_recording(path)
    assert (caught.value.line, caught.value.column) == (3, "#2")


def test_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress((HEADER + f"0,upper,{ROW}\n" * 50).encode()))
    compressed[12:20] = b"\xff" * 8
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(RecordingFormatError, match="corrupt gzip"):
        read_recording(path)


def test_missing_file_is_a_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="cannot read"):
        read_recording(tmp_path / "absent.csv")


# --- the metadata sidecar ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"format": "imu-recording/2"}, "'imu-recording/2', expected 'imu-recording/1'"),
        ({"sample_rate_hz": 0}, "sample_rate_hz"),
        ({"sample_rate_hz": "100"}, "sample_rate_hz"),
        ({"device": 7}, "device"),
        ({"sensors": ["upper"]}, "sensors"),
        ({"sensors": {"upper": "L1"}}, "upper"),
        ({"sensors": {"upper": {"placement": 1}}}, "placement"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_invalid_meta_sidecar_is_a_clear_error(tmp_path: Path, meta: object, reason: str) -> None:
    path = write_text(tmp_path, HEADER + f"0,upper,{ROW}\n")
    (tmp_path / "rec.meta.json").write_text(json.dumps(meta))
    with pytest.raises(RecordingFormatError) as caught:
        read_recording(path)
    assert caught.value.path == str(tmp_path / "rec.meta.json")
    assert reason in str(caught.value)


def test_meta_sidecar_with_broken_json_names_the_line(tmp_path: Path) -> None:
    path = write_text(tmp_path, HEADER + f"0,upper,{ROW}\n", name="rec.csv.gz")
    (tmp_path / "rec.meta.json").write_text('{\n  "format": "imu-recording/1",\n  "device": \n}')
    with pytest.raises(RecordingFormatError) as caught:
        read_recording(path)
    assert caught.value.line == 4


def test_writing_invalid_meta_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample_rate_hz"):
        write_recording(tmp_path / "x.csv", [make_batch("upper", [0.0])], {"sample_rate_hz": -1})


# --- truth sidecar -----------------------------------------------------------------------


def test_read_truth_finds_the_sidecar_beside_csv_or_gz(tmp_path: Path) -> None:
    truth = {"format": "imu-truth/1", "mode": "dual", "sets": []}
    (tmp_path / "session.truth.json").write_text(json.dumps(truth))
    assert read_truth(tmp_path / "session.csv") == truth
    assert read_truth(tmp_path / "session.csv.gz") == truth
    assert read_truth(tmp_path / "other.csv") is None


def test_read_truth_rejects_another_format(tmp_path: Path) -> None:
    (tmp_path / "s.truth.json").write_text(json.dumps({"format": "imu-truth/9"}))
    with pytest.raises(RecordingFormatError, match="imu-truth/1"):
        read_truth(tmp_path / "s.csv")


# --- iter_batches ------------------------------------------------------------------------


def test_iter_batches_interleaves_sensors_in_windows() -> None:
    upper = make_batch("upper", [0.00, 0.05, 0.10, 0.15, 0.20, 0.25])
    lower = make_batch("lower", [0.02, 0.12, 0.42])
    recording = Recording({"upper": upper, "lower": lower})
    delivered = [(b.role, b.t_s.tolist()) for b in iter_batches(recording, batch_s=0.1)]
    assert delivered == [
        ("upper", [0.00, 0.05]),
        ("lower", [0.02]),
        ("upper", [0.10, 0.15]),
        ("lower", [0.12]),
        ("upper", [0.20, 0.25]),
        ("lower", [0.42]),
    ]


def test_iter_batches_of_an_empty_recording_yields_nothing() -> None:
    assert list(iter_batches(Recording({}))) == []
    assert Recording({}).duration_s == 0.0


def test_iter_batches_refuses_a_non_positive_window() -> None:
    with pytest.raises(ValueError, match="batch_s"):
        list(iter_batches(Recording({"upper": make_batch("upper", [0.0])}), batch_s=0))


# --- RecordingWriter ---------------------------------------------------------------------


def file_times(path: Path) -> list[float]:
    """The ``t`` column of a written file, in file order."""
    return [float(line.split(",")[0]) for line in path.read_text().splitlines()[1:]]


def test_writer_orders_rows_of_sensors_arriving_out_of_step(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    upper = make_batch("upper", np.arange(0, 60) / 100.0)
    lower = make_batch("lower", 0.005 + np.arange(0, 60) / 100.0)
    with RecordingWriter(path, ("upper", "lower"), {"device": "test"}) as writer:
        writer.write(upper.slice(0, 25))
        writer.write(upper.slice(25, 40))
        writer.write(lower.slice(0, 10))
        writer.write(lower.slice(10, 60))
        writer.write(upper.slice(40, 60))
    times = file_times(path)
    assert times == sorted(times)
    recording = read_recording(path)
    assert recording.meta["device"] == "test"
    assert_batches_equal(recording.sensors["upper"], upper)
    assert_batches_equal(recording.sensors["lower"], lower)


def test_writer_holds_rows_until_every_sensor_has_passed_them(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    with RecordingWriter(path, ("upper", "lower")) as writer:
        writer.write(make_batch("upper", [0.0, 0.1, 0.2, 0.3]))
        assert file_times(path) == []
        writer.write(make_batch("lower", [0.05, 0.15]))
        assert file_times(path) == [0.0, 0.05, 0.1, 0.15]
        writer.write(make_batch("lower", [0.25, 0.35]))
        assert file_times(path) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]


def test_a_silent_sensor_holds_the_others_back_only_for_a_while(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    with RecordingWriter(path, ("upper", "lower"), max_hold_s=0.5) as writer:
        writer.write(make_batch("upper", np.arange(0, 11) / 10.0))
        assert len(read_recording(path).sensors["upper"]) == 6  # t <= 1.0 - 0.5
        writer.flush()
        assert len(read_recording(path).sensors["upper"]) == 11


def test_writer_records_magnetometer_only_when_asked(tmp_path: Path) -> None:
    batch = make_batch("upper", [0.0, 0.01], mag=True)
    with RecordingWriter(tmp_path / "m.csv", ("upper", "lower"), magnetometer=True) as writer:
        writer.write(batch)
    with RecordingWriter(tmp_path / "n.csv", ("upper", "lower")) as writer:
        writer.write(batch)
    assert_batches_equal(read_recording(tmp_path / "m.csv").sensors["upper"], batch)
    assert read_recording(tmp_path / "n.csv").sensors["upper"].mag_ut is None


def test_writer_cut_off_mid_line_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.csv"
    batch = make_batch(DEFAULT_ROLE, np.arange(0, 300) / 100.0)
    writer = RecordingWriter(path, (DEFAULT_ROLE,))
    writer.write(batch)
    writer.flush()
    path.write_bytes(path.read_bytes()[:-9])  # as if killed in the middle of the last line
    recording = read_recording(path)
    assert recording.truncated
    assert_batches_equal(recording.sensors[DEFAULT_ROLE], batch.slice(0, 299))
    writer.close()  # the killed writer's handle; nothing is held, so nothing more is written


def test_gzip_writer_killed_before_closing_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.csv.gz"
    batch = make_batch(DEFAULT_ROLE, np.arange(0, 3000) / 100.0)
    writer = RecordingWriter(path, (DEFAULT_ROLE,))
    writer.write(batch)
    writer.flush()
    flushed = path.read_bytes()  # no gzip end marker: the writer is still open
    recording = read_recording(path)
    assert recording.truncated
    assert_batches_equal(recording.sensors[DEFAULT_ROLE], batch)
    path.write_bytes(flushed[: len(flushed) // 2])  # killed in the middle of compressing
    cut = read_recording(path).sensors[DEFAULT_ROLE]
    assert 0 < len(cut) < len(batch)
    assert_batches_equal(cut, batch.slice(0, len(cut)))
    writer.close()  # the killed writer's handle


def test_writer_skips_and_counts_rows_going_back_in_time(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    with RecordingWriter(path, ("upper",)) as writer:
        writer.write(make_batch("upper", [0.0, 0.1, 0.2]))
        writer.write(make_batch("upper", [0.15, 0.2, 0.3, 0.25, 0.4]))  # 0.15 and 0.25 go back
        writer.write(make_batch("upper", [0.35]))  # before 0.4
    assert writer.skipped_rows == 3
    recording = read_recording(path)
    np.testing.assert_array_equal(recording.sensors["upper"].t_s, [0.0, 0.1, 0.2, 0.3, 0.4])
    assert recording.dropped_duplicates == 1  # the repeated 0.2


def test_writer_rejects_unknown_roles_and_writes_after_close(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path / "w.csv", ("upper", "lower"))
    writer.write(make_batch("upper", [0.0, 0.1]))
    with pytest.raises(ValueError, match="wrist"):
        writer.write(make_batch("wrist", [0.2]))
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(make_batch("upper", [0.3]))


def test_role_names_the_csv_cannot_carry_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="role"):
        RecordingWriter(tmp_path / "w.csv", ("upper", "lo,wer"))


RECORDER_SCRIPT = """
import sys
import numpy as np
from sensor.recording import RecordingWriter
from sensor.samples import SampleBatch

with RecordingWriter(sys.argv[1], ("upper", "lower")) as writer:
    block = 0
    while True:
        t_s = (block * 10 + np.arange(10)) / 100.0
        for role in ("upper", "lower"):
            writer.write(SampleBatch(role, t_s, np.full((10, 3), 9.81), np.zeros((10, 3))))
        block += 1
        if block == 50:
            print("recording", flush=True)
"""


@pytest.mark.parametrize("name", ["killed.csv", "killed.csv.gz"])
def test_recorder_killed_with_sigkill_leaves_a_readable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    recorder = subprocess.Popen(
        [sys.executable, "-c", RECORDER_SCRIPT, str(path)], stdout=subprocess.PIPE
    )
    assert recorder.stdout is not None
    assert recorder.stdout.readline() == b"recording\n"
    recorder.kill()
    recorder.communicate(timeout=30)  # reaps it and closes its stdout
    recording = read_recording(path)
    assert recording.roles == ("upper", "lower")
    for batch in recording.sensors.values():
        assert len(batch) >= 500  # every row written before the recorder said so
        np.testing.assert_allclose(batch.t_s, np.arange(len(batch)) / 100.0, atol=5e-7)
        np.testing.assert_allclose(batch.accel_mps2, 9.81)
