"""Runs one MqttPublisher in a process of its own, so a test can crash it with SIGKILL.

Usage: python publisher_process.py URL LIFTER OUTBOX EVENTS. Publishes a status and EVENTS
``set_start`` events of session ``crash-test``, prints ``connected <protocol>`` once the broker
accepted it, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from processing.events import Event
from processing.live.mqtt import MqttPublisher
from processing.live.outbox import Outbox
from processing.wire.messages import EventStamper, now_ms
from processing.wire.mqtt_url import BrokerURL

SESSION_ID = "crash-test"


async def main(url: str, lifter: str, outbox_path: str, count: int) -> None:
    publisher = MqttPublisher(BrokerURL.parse(url), lifter, Outbox(Path(outbox_path)))
    publisher.start()
    publisher.set_status(SESSION_ID, {"lumbar": True})
    events = [Event("set_start", float(i), {"set": i}) for i in range(1, count + 1)]
    publisher.publish_events(EventStamper(SESSION_ID).stamp(events, now_ms()))
    if not await publisher.wait_connected(30.0):
        sys.exit("no connection")
    print(f"connected {publisher.protocol}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
