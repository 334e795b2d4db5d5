"""``backspotter dashboard``: the Streamlit dashboard as a child process, localhost by default.

Binding to any other address needs a password (``BACKSPOTTER_DASHBOARD_PASSWORD`` or
``--password-file``), which the app then asks for. Settings reach the app through its
environment, so the broker URL and the password never show in ``ps``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from processing.commands.db_option import add_db_option
from processing.commands.option_ranges import PORT
from processing.store.location import StoreLocation

DEFAULT_PORT = 8501
DEFAULT_ADDRESS = "localhost"
_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DashboardOptions:
    """Where the dashboard listens and what it reads."""

    port: int
    address: str
    db: StoreLocation
    #: Broker of the live page, or None for no live feed.
    mqtt_url: str | None
    password: str | None = None

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = (
            "localhost" if self.address in ("localhost", "127.0.0.1", "0.0.0.0") else self.address
        )
        return f"http://{host}:{self.port}/"


def register(subparsers: Any) -> None:
    """Add the ``dashboard`` subcommand."""
    parser = subparsers.add_parser(
        "dashboard",
        help="the web dashboard: live page, sessions, session review, progress",
        description="Serve the Streamlit dashboard. It listens on localhost only unless "
        "--address says otherwise, which needs a password (BACKSPOTTER_DASHBOARD_PASSWORD or "
        "--password-file). Ctrl-C stops it.",
    )
    parser.add_argument("--port", type=PORT, default=DEFAULT_PORT, help="default: %(default)s")
    parser.add_argument(
        "--address",
        default=DEFAULT_ADDRESS,
        help="address to listen on, e.g. 0.0.0.0 for every interface (default: %(default)s)",
    )
    add_db_option(parser)
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        default="mqtt://localhost:1883",
        help="broker the live page follows (default: %(default)s)",
    )
    parser.add_argument("--no-mqtt", action="store_true", help="no live page feed")
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="file whose first line is the dashboard password "
        "(instead of BACKSPOTTER_DASHBOARD_PASSWORD)",
    )
    parser.set_defaults(func=run)


def streamlit_command(options: DashboardOptions) -> list[str]:
    """``python -m streamlit run dashboard/app.py`` with the server options we rely on."""
    import dashboard

    app = Path(dashboard.__file__).parent / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(options.port),
        "--server.address", options.address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]  # fmt: skip


def dashboard_environment(
    options: DashboardOptions, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The child's environment: ours plus the dashboard settings (see ``dashboard.config``)."""
    from dashboard.config import DB_ENV, MQTT_ENV, PASSWORD_ENV

    env = {k: v for k, v in environ.items() if k != PASSWORD_ENV}
    env[DB_ENV] = str(options.db)
    env[MQTT_ENV] = options.mqtt_url or ""
    if options.password:
        env[PASSWORD_ENV] = options.password
    return env


def start_dashboard(options: DashboardOptions) -> subprocess.Popen[bytes]:
    """Start Streamlit and wait until it serves; ``RuntimeError`` if it does not in time.

    Streamlit's own banner is silenced (the caller prints the URL); its errors still show.
    """
    child = subprocess.Popen(
        streamlit_command(options), env=dashboard_environment(options), stdout=subprocess.DEVNULL
    )
    try:
        _wait_until_serving(child, options.port)
    except BaseException:
        stop_dashboard(child)
        raise
    return child


def _wait_until_serving(child: subprocess.Popen[bytes], port: int) -> None:
    """Poll the health endpoint until it answers, the child dies, or time runs out."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while not _healthy(port):
        if child.poll() is not None:
            raise RuntimeError(f"the dashboard exited with status {child.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the dashboard did not answer on port {port}")
        time.sleep(0.1)


def _healthy(port: int) -> bool:
    """Streamlit's health endpoint answers ``ok``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop_dashboard(child: subprocess.Popen[bytes]) -> None:
    """Terminate Streamlit and reap it (killing it if it hangs)."""
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def options_from(args: argparse.Namespace) -> DashboardOptions:
    """Validated options; ``ValueError`` with a message for the user otherwise."""
    from dashboard.auth import binding_error
    from dashboard.config import PASSWORD_ENV
    from processing.store.reader import default_db_path
    from processing.wire.mqtt_url import BrokerURL

    password = os.environ.get(PASSWORD_ENV) or None
    if args.password_file is not None:
        lines = args.password_file.read_text().splitlines()
        password = lines[0].strip() if lines else None
    error = binding_error(args.address, password)
    if error:
        raise ValueError(error)
    if not args.no_mqtt:
        BrokerURL.parse(args.mqtt)
    mqtt_url = None if args.no_mqtt else args.mqtt
    return DashboardOptions(
        args.port, args.address, args.db or default_db_path(), mqtt_url, password
    )


def _terminate_on_sigterm() -> None:
    """Make SIGTERM stop us like Ctrl-C, so the child is stopped too."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C (or SIGTERM)."""
    try:
        options = options_from(args)
    except (ValueError, OSError) as error:
        print(f"backspotter dashboard: {error}", file=sys.stderr)
        return 2
    _terminate_on_sigterm()
    try:
        child = start_dashboard(options)
    except RuntimeError as error:
        print(f"backspotter dashboard: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"Backspotter dashboard: open {options.url}  (Ctrl-C stops it)", flush=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_dashboard(child)
