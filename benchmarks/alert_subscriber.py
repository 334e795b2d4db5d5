"""Subscriber process of the service benchmarks: prints ``session_id seq wall_s`` for every
``flexion_alert`` of every lifter, the wall clock read as the message arrives.

Usage: python alert_subscriber.py HOST PORT (prints ``ready`` once subscribed).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

TOPIC = "backspotter/v1/+/events/flexion_alert"


def on_connect(client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
    client.subscribe(TOPIC, qos=1)


def on_subscribe(client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
    print("ready", flush=True)


def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
    wall_s = time.time()
    event = json.loads(message.payload)
    print(event["session_id"], event["seq"], f"{wall_s:.6f}", flush=True)


def main() -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(sys.argv[1], int(sys.argv[2]))
    client.loop_forever()


if __name__ == "__main__":
    main()
