"""docs/getting-started.md, run as written: every ``backspotter`` command of its ``sh`` blocks,
in order, as a real process on an emulated Bluetooth radio (``tests/emulated_cli.py``).

The commands are read from the guide itself, so the guide and this test cannot drift apart.
``scan`` must list the sensors the ``run`` line names; ``run`` must count the lifter's reps and
end cleanly on Ctrl-C (SIGINT); ``dashboard`` must serve the session ``run`` stored.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from brokers import free_port, wait_until
from test_dashboard_browser import healthy

from processing.store.reader import SessionStore

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "getting-started.md"
LAUNCHER = Path(__file__).parent / "emulated_cli.py"
#: The emulated lifter stands still, walks up to the bar and pulls one set of three reps.
REPS = 3
_RUN_TIMEOUT_S = 120


def guide_commands() -> list[list[str]]:
    """Every ``backspotter`` command line in the guide's ``sh`` code blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("backspotter ")]


def launch(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``backspotter ARGV`` on the emulated radio, its output into ``log``."""
    assert argv[0] == "backspotter"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(LAUNCHER), *argv[1:]],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=LAUNCHER.parent,
        )  # fmt: skip


def ctrl_c(process: subprocess.Popen[bytes], log: Path) -> str:
    """Press Ctrl-C; the command must end cleanly (exit 0). Returns its output."""
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0, log.read_text()
    return log.read_text()


def test_the_guide_names_scan_run_and_dashboard_in_that_order() -> None:
    assert [c[1] for c in guide_commands()] == ["scan", "run", "dashboard"]


def test_every_command_of_the_guide_works_on_an_emulated_radio(tmp_path: Path) -> None:
    scan, run, dashboard = guide_commands()
    # A private data directory: the store the guide's run writes and its dashboard reads.
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}

    found = subprocess.run(
        [sys.executable, str(LAUNCHER), *scan[1:]], env=env, cwd=LAUNCHER.parent,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    for url in (u for u in run if u.startswith("ble://")):
        assert url.split("&role=")[0] in found.stdout, found.stdout

    run_log = tmp_path / "run.log"
    service = launch(run, env, run_log)
    try:
        wait_until(
            lambda: f"set 1 rep {REPS}:" in run_log.read_text() or service.poll() is not None,
            _RUN_TIMEOUT_S,
            "the guide's run to count the reps",
        )
        output = ctrl_c(service, run_log)
    finally:
        service.kill()
    assert "upright reference taken from your stance" in output, output
    assert "session ended" in output, output
    store_path = tmp_path / "data" / "backspotter" / "sessions.sqlite3"
    with SessionStore(store_path) as store:
        (session,) = store.list_sessions("me")
    assert (session.mode, session.reps) == ("dual", REPS)

    # The guide's dashboard on a free port (the only option added), reading that store.
    port = free_port()
    dash_log = tmp_path / "dashboard.log"
    server = launch([*dashboard, "--port", str(port)], env, dash_log)
    try:
        # Ready once it answers and has said so (its Ctrl-C handler is in place by then).
        wait_until(
            lambda: (
                (healthy(port) and "open http" in dash_log.read_text()) or server.poll() is not None
            ),
            60,
            "the dashboard",
        )
        assert server.poll() is None, dash_log.read_text()
        output = ctrl_c(server, dash_log)
    finally:
        server.kill()
    assert f"open http://localhost:{port}/" in output, output
