"""A broker out of the box: when nothing listens at a localhost broker URL, run amqtt.

The embedded broker runs as a child process (``python -m processing.live.broker HOST PORT``), so its
pure-Python packet handling never competes with the pipeline for the service's event loop.
It speaks MQTT 3.1.1 only; the publisher falls back to it by itself. It lives exactly as long
as the command that started it: that command stops it once its last events are acknowledged,
and it stops by itself when its standard input closes (the command ended, however it ended).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from processing.wire.mqtt_url import BrokerURL

log = logging.getLogger(__name__)

READY_LINE = b"backspotter-broker-ready\n"
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


class EmbeddedBroker:
    """A running amqtt child process."""

    def __init__(self, process: asyncio.subprocess.Process, host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port

    @classmethod
    async def start(cls, host: str, port: int) -> EmbeddedBroker:
        """Start amqtt on ``host:port`` and wait until it accepts connections."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "processing.live.broker", host, str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        if line != READY_LINE:
            await _end(process)
            raise RuntimeError(f"the embedded MQTT broker did not start on {host}:{port}")
        return cls(process, host, port)

    async def stop(self) -> None:
        """Terminate the broker and reap it."""
        await _end(self.process)


async def ensure_broker(url: BrokerURL) -> EmbeddedBroker | None:
    """Start an embedded broker if ``url`` is plain MQTT on this machine and nobody listens."""
    if url.tls or not url.is_loopback() or await accepts_connections(url.host, url.port):
        return None
    try:
        broker = await EmbeddedBroker.start(url.host, url.port)
    except RuntimeError:
        if await accepts_connections(url.host, url.port):
            return None  # another command started one at the same moment: share it
        raise
    log.info(
        "no MQTT broker listened at %s: started an embedded amqtt broker there "
        "(MQTT 3.1.1, pid %d); it stops with this command",
        url,
        broker.process.pid,
    )
    return broker


async def accepts_connections(host: str, port: int) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _end(process: asyncio.subprocess.Process) -> None:
    """Terminate ``process``, killing it if it does not stop in time."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()


async def serve(host: str, port: int) -> None:
    """Run amqtt (anonymous access, no persistence) until standard input closes."""
    from amqtt.broker import Broker

    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    sys.stdout.buffer.write(READY_LINE)
    sys.stdout.flush()
    try:
        # Only the parent holds the other end of stdin: EOF means it has gone.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    finally:
        await broker.shutdown()


def main() -> None:
    """Entry point of the child process."""
    parser = argparse.ArgumentParser(description="Embedded amqtt broker for Backspotter.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # amqtt warns on every MQTT 5 attempt
    # A terminal's Ctrl-C reaches the whole process group; stopping first, the broker would
    # leave the command's last events unacknowledged. The command terminates it after them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
