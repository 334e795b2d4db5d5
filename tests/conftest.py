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
