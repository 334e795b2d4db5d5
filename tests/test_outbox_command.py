"""Events left in the outbox by runs that could not reach a broker: the next good run says
what it delivers late and how old it is, and ``backspotter outbox`` lists and purges them.

The console script runs in this process (``processing.cli.main``) so its log reaches caplog;
the broker is the suite's real Mosquitto.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from brokers import MosquittoBroker, free_port
from mqtt_subscriber import Subscriber

from processing.cli import main
from processing.live.outbox import Outbox, outbox_path_for

SHORT = Path(__file__).parents[1] / "fixtures" / "random_seed_110.csv.gz"
AN_HOUR_MS = 3_600_000


def replay(db: Path, lifter: str, url: str) -> int:
    """``backspotter replay`` of a short fixture at full speed to ``url``, storing in ``db``."""
    return main(
        ["replay", str(SHORT), "--speed", "max", "--mqtt", url, "--no-embedded-broker",
         "--lifter", lifter, "--db", str(db), "--cue", "off"]
    )  # fmt: skip


def unreachable() -> str:
    """A broker URL nothing listens at."""
    return f"mqtt://127.0.0.1:{free_port()}"


def waiting(db: Path) -> dict[str, int]:
    """Events waiting in the outbox beside ``db``, per session."""
    outbox = Outbox(outbox_path_for(db))
    try:
        return {str(p.session_id): p.count for p in outbox.sessions()}
    finally:
        outbox.close()


def outbox_command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``backspotter outbox ARGS``: exit status, stdout, stderr (earlier output dropped)."""
    capsys.readouterr()
    status = main(["outbox", *args])
    out, err = capsys.readouterr()
    return status, out, err


def late_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The publisher's log lines about late deliveries."""
    return [r.getMessage() for r in caplog.records if "late" in r.getMessage()]


def until_session_end(subscriber: Subscriber) -> list[dict[str, object]]:
    """Every event received once the good run's ``session_end`` arrived."""
    subscriber.wait_for(
        lambda m: any(x.topic.endswith("/events/session_end") for x in m), what="session_end"
    )
    return subscriber.events()


def test_a_good_run_delivers_what_an_earlier_run_left_and_logs_how_late(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    db = tmp_path / "s.sqlite3"
    assert replay(db, unique_lifter, unreachable()) == 0
    (stale, count), *others = waiting(db).items()
    assert not others and count >= 5
    # That run was an hour ago (a real wait would make the test slow; the age is what counts).
    with sqlite3.connect(outbox_path_for(db)) as file:
        file.execute("UPDATE outbox SET queued_ms = queued_ms - ?", (AN_HOUR_MS,))

    status, out, _ = outbox_command(capsys, "list", "--db", str(db))
    assert status == 0
    assert f"{count} event(s) waiting in 1 session(s)" in out
    row = next(line for line in out.splitlines() if stale in line)
    assert re.search(rf"{unique_lifter}\s+{stale}\s+{count}\s+1 h 0 min\s+1 h 0 min\s+", row)
    assert "session_start 1" in row and "session_end 1" in row

    caplog.clear()
    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/events/#")
    assert replay(db, unique_lifter, mosquitto.url) == 0
    events = until_session_end(subscriber)
    assert [e["seq"] for e in events if e["session_id"] == stale] == list(range(1, count + 1))
    # One line for the batch, naming how many and how old; the good run's own events (queued
    # a few ms before the first CONNACK) are not late.
    assert late_lines(caplog) == [
        f"{unique_lifter}: delivered {count} event(s) late, queued 1 h 0 min to 1 h 0 min ago "
        f"(session {stale})"
    ]
    assert waiting(db) == {}
    status, out, _ = outbox_command(capsys, "list", "--db", str(db))
    assert (status, out.splitlines()) == (
        0,
        [f"{outbox_path_for(db)}: 0 event(s) waiting in 0 session(s)"],
    )


def test_purged_events_are_never_sent(
    mosquitto: MosquittoBroker,
    mqtt_subscriber: Callable[..., Subscriber],
    unique_lifter: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "s.sqlite3"
    assert replay(db, unique_lifter, unreachable()) == 0
    assert replay(db, unique_lifter, unreachable()) == 0
    assert replay(db, "someone-else", unreachable()) == 0
    first, second, theirs = waiting(db)
    listed = outbox_command(capsys, "list", "--db", str(db), "--lifter", unique_lifter)[1]
    assert first in listed and second in listed and theirs not in listed

    # Everything at once only when asked for in so many words; an unknown session is refused.
    status, _, err = outbox_command(capsys, "purge", "--db", str(db), "--lifter", unique_lifter)
    assert status == 2 and "--yes" in err
    status, _, err = outbox_command(capsys, "purge", "--db", str(db), "--session", "nope")
    assert status == 2 and "no event of session nope" in err
    assert set(waiting(db)) == {first, second, theirs}

    status, out, _ = outbox_command(capsys, "purge", "--db", str(db), "--session", first)
    assert status == 0 and "purged" in out
    assert set(waiting(db)) == {second, theirs}
    args = ("purge", "--db", str(db), "--lifter", unique_lifter, "--yes")
    assert outbox_command(capsys, *args)[0] == 0
    assert set(waiting(db)) == {theirs}

    caplog.clear()
    subscriber = mqtt_subscriber(f"backspotter/v1/{unique_lifter}/events/#")
    assert replay(db, unique_lifter, mosquitto.url) == 0
    sessions = {e["session_id"] for e in until_session_end(subscriber)}
    assert len(sessions) == 1 and not sessions & {first, second}
    assert late_lines(caplog) == []
    assert set(waiting(db)) == {theirs}


def test_outbox_command_exit_statuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite3"
    # No outbox yet: nothing waits, and looking creates no file.
    status, out, _ = outbox_command(capsys, "list", "--db", str(db))
    assert status == 0 and "nothing waits" in out
    assert outbox_command(capsys, "purge", "--db", str(db), "--yes")[0] == 0
    assert not outbox_path_for(db).exists()

    status, _, err = outbox_command(capsys, "list", "--db", str(db), "--lifter", "no spaces")
    assert status == 2 and "lifter name" in err

    outbox_path_for(db).write_bytes(b"this is not an SQLite file, it only has its name" * 20)
    status, _, err = outbox_command(capsys, "list", "--db", str(db))
    assert status == 1 and err.startswith(f"backspotter outbox list: {outbox_path_for(db)}: ")
