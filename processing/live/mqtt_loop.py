"""Runs a paho-mqtt client on the asyncio event loop instead of a thread of its own.

One thread serves every lifter's connection, so publishing is a plain call from the event loop
and acknowledgements arrive on it too (no locks around the outbox, no thread hand-offs on the
alert path).

paho writes a publish straight to the socket when it can (no write callback is registered, so
no selector change per message); only what is left over (full socket buffer, or packets queued
inside a paho callback) waits for writability, which :meth:`SocketBinding.flush` arranges.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import paho.mqtt.client as paho

#: How often paho's housekeeping (keepalive pings, retries) runs.
HOUSEKEEPING_INTERVAL_S = 1.0


class SocketBinding:
    """Feeds a connected paho client's socket events from ``loop``; ``release()`` undoes it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: paho.Client) -> None:
        self._loop = loop
        self._client = client
        sock = client.socket()
        if sock is None:
            raise ValueError("the client has no socket; connect it first")
        self._sock: int | None = sock.fileno()
        self._writing = False
        client.on_socket_close = self._on_close
        loop.add_reader(self._sock, self._on_readable)
        self._timer = loop.call_later(HOUSEKEEPING_INTERVAL_S, self._on_tick)
        self.flush()

    def flush(self) -> None:
        """Make sure packets paho could not write at once get written when possible."""
        if self._sock is not None and not self._writing and self._client.want_write():
            self._writing = True
            self._loop.add_writer(self._sock, self._on_writable)

    def release(self) -> None:
        """Stop watching the socket (it was closed, or the client is abandoned)."""
        if self._sock is None:
            return
        self._timer.cancel()
        self._loop.remove_reader(self._sock)
        self._loop.remove_writer(self._sock)
        self._sock = None

    def _on_readable(self) -> None:
        """Read what arrived; TLS may hold decrypted bytes the selector cannot see."""
        self._client.loop_read()
        sock = self._client.socket()
        while isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._client.loop_read()
            sock = self._client.socket()
        self.flush()  # callbacks (PUBACK, CONNACK) may have queued packets

    def _on_writable(self) -> None:
        """Write queued packets; stop watching writability once the queue is empty."""
        self._client.loop_write()
        if self._sock is not None and not self._client.want_write():
            self._writing = False
            self._loop.remove_writer(self._sock)

    def _on_tick(self) -> None:
        """paho's keepalive and retry timers, then schedule the next tick."""
        self._client.loop_misc()
        if self._sock is not None:
            self.flush()
            self._timer = self._loop.call_later(HOUSEKEEPING_INTERVAL_S, self._on_tick)

    def _on_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        """paho is closing the socket."""
        self.release()
