"""Real brokers and bounded waiting for tests (used by ``conftest.py`` and test modules)."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

MOSQUITTO = "/usr/sbin/mosquitto"
_READY_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


def port_accepts(host: str, port: int) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


async def eventually(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """``wait_until`` for code running on the event loop: checks between loop iterations."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)


class ServerProcess:
    """A server the tests start, stop and start again as a child process."""

    _process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None


class MosquittoBroker(ServerProcess):
    """A real Mosquitto process; restarts keep its port, config and persistence file."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path, access: str = "allow_anonymous true\n") -> None:
        """``access``: config lines on who may connect and how (TLS, password file)."""
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.database = workdir / "mosquitto.db"
        self._process: subprocess.Popen[bytes] | None = None
        self.config.write_text(
            f"listener {self.port} {self.host}\n"
            f"{access}"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            # Running as root makes Mosquitto switch to user "mosquitto", which cannot
            # write the persistence file here; naming the current user avoids the switch.
            f"user {getpass.getuser()}\n"
            "max_queued_messages 0\n"
            # Deliver small messages at once instead of waiting for the last one's ACK.
            "set_tcp_nodelay true\n"
            f"log_dest file {self.log}\n"
        )

    @property
    def url(self) -> str:
        """``mqtt://host:port`` of the broker."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        assert not self.running, "already running"
        with self.log.open("ab") as output:  # also its complaint about running as root
            self._process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=output, stderr=output
            )
        wait_until(self._ready, _READY_TIMEOUT_S, f"mosquitto on port {self.port}")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: Mosquitto writes its persistence file)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): connections drop, in-memory state not saved is lost."""
        self._end(signal.SIGKILL)

    def restart(self, hard: bool = True) -> None:
        """Kill (or stop) and start again on the same port."""
        self.kill() if hard else self.stop()
        self.start()

    def save(self) -> None:
        """Make Mosquitto write its persistence file now (SIGUSR1) and wait for it."""
        assert self._process is not None
        before = self.database.stat().st_mtime_ns if self.database.exists() else -1
        self._process.send_signal(signal.SIGUSR1)
        wait_until(
            lambda: self.database.exists() and self.database.stat().st_mtime_ns != before,
            _READY_TIMEOUT_S,
            "mosquitto persistence file",
        )

    def _ready(self) -> bool:
        """The port accepts connections; a broker that died is reported with its log."""
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
        return port_accepts(self.host, self.port)

    def _end(self, sig: signal.Signals) -> None:
        """Send ``sig`` and reap the process."""
        if self._process is None or self._process.poll() is not None:
            return
        os.kill(self._process.pid, sig)
        self._process.wait(timeout=_READY_TIMEOUT_S)
