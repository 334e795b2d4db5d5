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

``postgres_server`` (session scope) starts a REAL PostgreSQL (Debian's binaries, ``initdb`` once
per session in a temporary directory; as the ``postgres`` system user when the tests run as
root) on a free port of 127.0.0.1 and yields a :class:`PostgresServer`: ``.url_for(user, db)``,
``.create_database(name)``, ``.connect()``, ``.port``, the superuser ``backspotter`` (no
password) and the role ``coach`` whose ``.password`` is checked (scram-sha-256), and
``.stop(mode)`` / ``.start()`` on the same port and data. A test that stops the server must start
it again (``try/finally``). Missing binaries fail the tests that need them, naming
``bash .ci/setup``. ``postgres_url`` is the URL (``postgresql://backspotter@127.0.0.1:PORT/NAME``)
of a fresh empty database, owned by ``coach``, for each test, dropped after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from blockbuster import BlockBuster, blockbuster_ctx
from brokers import MosquittoBroker
from browsers import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from mqtt_subscriber import Subscriber
from playwright.sync_api import Browser, sync_playwright
from postgres import PostgresNotInstalledError, PostgresServer


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A real Mosquitto for the whole test session (see the module docstring)."""
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole test session (see the module docstring)."""
    # Its directory is not under tmp_path_factory: when root, the server runs as user
    # "postgres", which cannot enter pytest's /tmp/pytest-of-root (mode 0700).
    try:
        server = PostgresServer()
    except PostgresNotInstalledError as error:
        pytest.fail(str(error), pytrace=False)
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh empty database for this test (superuser, no password; owner ``coach``)."""
    name = f"test_{secrets.token_hex(6)}"
    yield postgres_server.create_database(name)
    # Dropped (3 ms) so that a long session does not pile up ~7 MB per test, in memory when the
    # cluster is on /dev/shm. FORCE closes what the test left connected instead of failing a
    # passed test at teardown. A server the test left stopped is that test's failure, not ours.
    if postgres_server.running:
        postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the tests of one module."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
