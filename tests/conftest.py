"""Shared fixtures: a REAL Mosquitto broker for every test that talks MQTT.

``mosquitto`` (session scope) starts ``/usr/sbin/mosquitto`` on a free port of 127.0.0.1 with a
generated config (anonymous access, persistence in a temporary directory) and yields a
:class:`MosquittoBroker`: ``.url`` (``mqtt://127.0.0.1:PORT``), ``.host``, ``.port``, and
``.kill()`` / ``.stop()`` / ``.start()`` / ``.restart()`` / ``.save()`` to simulate outages on the
same port. A test that stops the broker must start it again (``try/finally``) because the
broker is shared by the whole session; use a unique lifter name (``unique_lifter``) so topics
of different tests never mix.

``mqtt_subscriber`` is a factory of :class:`Subscriber` clients (paho, own thread) that collect
messages and let a test wait for a condition with a bounded timeout; they are closed after the
test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from blockbuster import BlockBuster, blockbuster_ctx
from brokers import MosquittoBroker
from mqtt_subscriber import Subscriber


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A real Mosquitto for the whole test session (see the module docstring)."""
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def unique_lifter() -> str:
    """A lifter name no other test uses, so its topics are its own."""
    return f"test-{secrets.token_hex(4)}"


@pytest.fixture
def mqtt_subscriber(mosquitto: MosquittoBroker) -> Iterator[Callable[..., Subscriber]]:
    """Factory ``(topic_filter, **options) -> Subscriber`` connected to ``mosquitto``."""
    made: list[Subscriber] = []

    def subscribe(topic_filter: str, **options: object) -> Subscriber:
        subscriber = Subscriber(mosquitto.host, mosquitto.port, topic_filter, **options)  # type: ignore[arg-type]
        made.append(subscriber)
        return subscriber

    yield subscribe
    for subscriber in made:
        subscriber.close()


@pytest.fixture
def no_blocking() -> Iterator[BlockBuster]:
    """Fail the test when Backspotter's code blocks the running asyncio event loop.

    blockbuster wraps the blocking calls of the standard library (sleep, file and socket I/O
    on blocking descriptors, SQLite, lock waits) and raises ``BlockingError`` when one runs on
    the event loop's thread with a frame of ``sensor`` or ``processing`` on the stack. Calls
    made by the test's own code, and calls in worker threads, are not checked.
    """
    # Tests check results with the session store's reader and the schema validator. Frames
    # of these modules do not count as Backspotter's, so such a call made by the test itself
    # passes, while the same call from the service is still caught by the service's frames.
    test_tools = ["processing.store", "processing.wire.schemas"]
    with blockbuster_ctx(["sensor", "processing"], excluded_modules=test_tools) as buster:
        # Allowed, narrowly: the URL of a replay source resolves its path once, before any
        # stream starts (tests build it on the loop; the CLI before the loop runs).
        allow(buster, "processing/commands/replay.py", "replay_url")
        # Opening sources (a replay reads its file) and outputs (the store and the outbox are
        # SQLite files) happens once, before any stream starts.
        allow(buster, "sensor/sources.py", "open_source")
        allow(buster, "processing/live/service.py", "_open_outputs")
        # The outbox is on the loop by design: an event is committed to disk before it is
        # sent, with no thread hand-off on the alert path (WAL, synchronous=NORMAL: no fsync
        # per commit; benchmarks/bench_alert_latency.py measures the whole path).
        for method in ("add", "pending", "ack", "count"):
            allow(buster, "processing/live/outbox.py", method)
        # At the end of a session the store writer's thread finishes its last rows.
        allow(buster, "processing/store/writer.py", "close")
        yield buster


def allow(buster: BlockBuster, path: str, function: str) -> None:
    """Let ``function`` of the file ending in ``path`` make any blocking call."""
    for checked in buster.functions.values():
        checked.can_block_in(path, function)
