"""Runs a paho-mqtt client on the asyncio event loop instead of a thread of its own.

One thread serves every lifter's connection, so publishing is a plain call from the event loop
and acknowledgements arrive on it too (no locks around the outbox, no thread hand-offs on the
alert path).
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
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.on_socket_close = self._on_close
        loop.add_reader(self._sock, self._on_readable)
        if client.want_write():
            loop.add_writer(self._sock, self._on_writable)
        self._timer = loop.call_later(HOUSEKEEPING_INTERVAL_S, self._on_tick)

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

    def _on_writable(self) -> None:
        """Write queued packets; stop asking for writability once the queue is empty."""
        self._client.loop_write()
        if self._sock is not None and not self._client.want_write():
            self._loop.remove_writer(self._sock)

    def _on_tick(self) -> None:
        """paho's keepalive and retry timers, then schedule the next tick."""
        self._client.loop_misc()
        if self._sock is not None:
            self._timer = self._loop.call_later(HOUSEKEEPING_INTERVAL_S, self._on_tick)

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        """paho queued a packet: write when the socket can take it."""
        if self._sock is not None:
            self._loop.add_writer(self._sock, self._on_writable)

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        """paho's queue is empty."""
        if self._sock is not None:
            self._loop.remove_writer(self._sock)

    def _on_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        """paho is closing the socket."""
        self.release()
