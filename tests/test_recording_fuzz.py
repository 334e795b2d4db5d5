"""Property and fuzz tests of recordings: corrupt files, both parsers, round trips, replay."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensor.exc import RecordingFormatError
from sensor.recording import (
    Recording,
    RecordingWriter,
    iter_batches,
    read_recording,
    write_recording,
)
from sensor.recording.bulk import parse_bulk
from sensor.recording.files import decode_utf8
from sensor.recording.parse import (
    Columns,
    drop_partial_last_line,
    first_problem,
    parse_exactly,
    parse_header,
    read_header,
)
from sensor.samples import SampleBatch

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Round trips cost more per example (files written and read), so fewer of them.
ROUND_TRIPS = settings(FUZZ, max_examples=60)

VALID_FILES = [
    "t,sensor,ax,ay,az,gx,gy,gz\n"
    + "".join(
        f"{k / 50:.6f},{role},{0.1 * k:.6g},9.81,-0.5,{0.01 * k:.6g},-0.02,3e-05\n"
        for k in range(12)
        for role in ("upper", "lower")
    ),
    "gz,t,sensor,ax,ay,az,gx,gy,mx,my,mz,note\n"
    + "".join(
        f"0.5,{k / 100:.2f},upper,1,2,3,4,5,20,-3,41.5,n{k}\n"
        f"0.5,{k / 100:.2f},lower,1,2,3,4,5,,,,\n"
        for k in range(10)
    ),
]

NASTY_FIELDS = [
    "", " ", "nan", "NaN", "inf", "-inf", "1e999", "abc", "1_0", "0x10", "--1", ".", "-", "+",
    "1e", "١", '"', '"1"', '"a,b"', "\x00", "\u2028", ",", "\n", "\r", "1,2", "9.81 ", " 9.81",
    "upper", "lower", "1.5e-7", "-0", "99999999999999999999999", "\ufeff",
]  # fmt: skip


@st.composite
def corrupted_files(draw: st.DrawFn) -> bytes:
    """A valid file with one to three random corruptions of bytes, fields or lines."""
    text = draw(st.sampled_from(VALID_FILES))
    for _ in range(draw(st.integers(1, 3))):
        text = draw(st.sampled_from([_corrupt_bytes, _corrupt_field, _corrupt_lines]))(draw, text)
    data = text.encode("utf-8", errors="surrogateescape")
    return gzip.compress(data) if draw(st.booleans()) else data


def _corrupt_bytes(draw: st.DrawFn, text: str) -> str:
    """Replace, insert or delete a few characters anywhere (surrogates stand for raw bytes)."""
    start = draw(st.integers(0, len(text)))
    stop = draw(st.integers(start, min(len(text), start + 4)))
    noise = draw(
        st.text(st.characters(codec="utf-8") | st.sampled_from("\udcff\udce9"), max_size=3)
    )
    return text[:start] + noise + text[stop:]


def _corrupt_field(draw: st.DrawFn, text: str) -> str:
    """Replace one field of one line with a nasty value."""
    lines = text.split("\n")
    line = draw(st.integers(min(1, len(lines) - 1), len(lines) - 1))  # not the header, mostly
    fields = lines[line].split(",")
    fields[draw(st.integers(0, len(fields) - 1))] = draw(
        st.sampled_from(NASTY_FIELDS) | st.text(max_size=4)
    )
    lines[line] = ",".join(fields)
    return "\n".join(lines)


def _corrupt_lines(draw: st.DrawFn, text: str) -> str:
    """Delete, duplicate, swap or cut lines."""
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    operation = draw(st.sampled_from(["delete", "duplicate", "swap", "cut"]))
    if operation == "delete":
        del lines[i]
    elif operation == "duplicate":
        lines.insert(j, lines[i])
    elif operation == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        return "\n".join(lines)[: draw(st.integers(0, len(text)))]
    return "\n".join(lines)


@FUZZ
@given(data=corrupted_files())
def test_corrupted_file_reads_or_raises_a_recording_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        recording = read_recording(path)
    except RecordingFormatError as error:
        assert error.path == str(path)
        return
    for batch in recording.sensors.values():
        assert len(batch) > 0
        assert (np.diff(batch.t_s) > 0).all()
        assert np.isfinite(batch.accel_mps2).all() and np.isfinite(batch.gyro_rps).all()
        assert batch.mag_ut is None or np.isfinite(batch.mag_ut).all()


def parsed_both_ways(data: bytes) -> tuple[Columns | None, Columns | None]:
    """What the bulk parser accepts (None if it declines) and the exact one (None if it rejects)."""
    path = Path("both.csv")
    try:
        text = decode_utf8(path, data)
        header, header_lines = read_header(text)
        layout = parse_header(str(path), header)
    except RecordingFormatError:
        return None, None
    data, text, _ = drop_partial_last_line(data, text)
    bulk = parse_bulk(data, layout) if header_lines == 1 else None
    if bulk is not None and first_problem(bulk) is not None:
        bulk = None
    try:
        return bulk, parse_exactly(str(path), text, layout)
    except RecordingFormatError:
        return bulk, None


@FUZZ
@given(data=corrupted_files().filter(lambda data: not data.startswith(b"\x1f\x8b")))
def test_bulk_parser_never_accepts_what_the_exact_parser_rejects(data: bytes) -> None:
    bulk, exact = parsed_both_ways(data)
    if bulk is not None:
        assert exact is not None
        assert_same_columns(bulk, exact)


def assert_same_columns(bulk: Columns, exact: Columns) -> None:
    """Bit-identical values and the same roles row by row."""
    np.testing.assert_array_equal(bulk.t_s, exact.t_s)
    np.testing.assert_array_equal(bulk.accel_mps2, exact.accel_mps2)
    np.testing.assert_array_equal(bulk.gyro_rps, exact.gyro_rps)
    if exact.mag_ut is None:
        assert bulk.mag_ut is None
    else:
        np.testing.assert_array_equal(bulk.mag_ut, exact.mag_ut)
    bulk_roles = [bulk.role_names[code] for code in bulk.role_codes]
    assert bulk_roles == [exact.role_names[code] for code in exact.role_codes]


# --- round trips and replay --------------------------------------------------------------

#: Values of any magnitude a sensor can report: readers drop samples beyond 16 g (156.9 m/s^2)
#: or 2000 deg/s (34.9 rad/s) as impossible (sensor.plausible).
accel_values = st.floats(-150.0, 150.0, allow_nan=False, allow_subnormal=False)
gyro_values = st.floats(-34.0, 34.0, allow_nan=False, allow_subnormal=False)


@st.composite
def traces(draw: st.DrawFn, role: str) -> SampleBatch:
    """A sensor trace with irregular spacing, gaps and values of any possible magnitude."""
    n = draw(st.integers(1, 40))
    steps_s = draw(
        st.lists(st.sampled_from([0.0025, 0.01, 0.013, 0.04, 3.0]), min_size=n, max_size=n)
    )
    t_s = draw(st.floats(-100.0, 100.0)) + np.cumsum(steps_s)
    accel = np.asarray(draw(st.lists(accel_values, min_size=3 * n, max_size=3 * n)))
    gyro = np.asarray(draw(st.lists(gyro_values, min_size=3 * n, max_size=3 * n)))
    return SampleBatch(role, np.round(t_s, 6), accel.reshape(n, 3), gyro.reshape(n, 3))


@st.composite
def recordings(draw: st.DrawFn) -> Recording:
    """One sensor (``lumbar``) or two (``upper`` and ``lower``)."""
    roles = draw(st.sampled_from([("lumbar",), ("upper", "lower")]))
    return Recording({role: draw(traces(role)) for role in roles})


def assert_same_recording(got: Recording, expected: Recording) -> None:
    """Same roles and samples within the format's precision (6 significant digits)."""
    assert got.roles == expected.roles
    for role, batch in expected.sensors.items():
        np.testing.assert_allclose(got.sensors[role].t_s, batch.t_s, rtol=0, atol=5e-7)
        for name in ("accel_mps2", "gyro_rps"):
            expected_values = getattr(batch, name)
            tolerance = 5e-6 * np.abs(expected_values) + 1e-300
            assert (np.abs(getattr(got.sensors[role], name) - expected_values) <= tolerance).all()


@ROUND_TRIPS
@given(recording=recordings(), gz=st.booleans())
def test_write_then_read_gives_the_recording_back(
    tmp_path: Path, recording: Recording, gz: bool
) -> None:
    path = tmp_path / ("r.csv.gz" if gz else "r.csv")
    write_recording(path, recording)
    assert_same_recording(read_recording(path), recording)
    bulk, exact = parsed_both_ways(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    assert bulk is not None and exact is not None
    assert_same_columns(bulk, exact)


@ROUND_TRIPS
@given(recording=recordings(), batch_s=st.sampled_from([0.01, 0.1, 0.37, 5.0]))
def test_iter_batches_reassembles_the_recording_in_time_order(
    recording: Recording, batch_s: float
) -> None:
    delivered = list(iter_batches(recording, batch_s=batch_s))
    origin_s = min(batch.t_s[0] for batch in recording.sensors.values())
    windows = [np.floor((b.t_s - origin_s) / batch_s) for b in delivered]
    assert all(len(set(w.tolist())) == 1 for w in windows)
    assert [w[0] for w in windows] == sorted(w[0] for w in windows)
    for role, batch in recording.sensors.items():
        mine = [b for b in delivered if b.role == role]
        np.testing.assert_array_equal(np.concatenate([b.t_s for b in mine]), batch.t_s)
        np.testing.assert_array_equal(
            np.concatenate([b.accel_mps2 for b in mine]), batch.accel_mps2
        )
        np.testing.assert_array_equal(np.concatenate([b.gyro_rps for b in mine]), batch.gyro_rps)


@ROUND_TRIPS
@given(recording=recordings(), batch_s=st.sampled_from([0.01, 0.1, 1.0]), data=st.data())
def test_writer_gives_the_same_recording_whatever_the_arrival_order(
    tmp_path: Path, recording: Recording, batch_s: float, data: st.DataObject
) -> None:
    batches = list(iter_batches(recording, batch_s=batch_s))
    queues = {role: [batch for batch in batches if batch.role == role] for role in recording.roles}
    arrival = data.draw(st.permutations([batch.role for batch in batches]))
    path = tmp_path / "live.csv"
    with RecordingWriter(path, recording.roles, max_hold_s=1e9) as writer:
        for role in arrival:  # each sensor in its own order, the sensors interleaved at random
            writer.write(queues[role].pop(0))
    times = [float(line.split(",")[0]) for line in path.read_text().splitlines()[1:]]
    assert times == sorted(times)
    assert_same_recording(read_recording(path), recording)
