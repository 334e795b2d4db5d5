"""The embedded broker lives exactly as long as the command that started it: a terminal's
Ctrl-C, which reaches the whole process group, does not stop it before the command's last
events are acknowledged, and it stops by itself once the command has gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from brokers import free_port, port_accepts
from mqtt_subscriber import Subscriber
from paho.mqtt.enums import MQTTProtocolVersion

from processing.live.broker import READY_LINE


def _subscribe_round_trip(port: int) -> None:
    """Connect and subscribe: the broker process itself answered (SUBACK)."""
    subscriber = Subscriber("127.0.0.1", port, "probe/#", MQTTProtocolVersion.MQTTv311)
    subscriber.close()


def test_the_broker_ignores_ctrl_c_and_stops_when_its_command_has_gone() -> None:
    port = free_port()
    command = [sys.executable, "-m", "processing.live.broker", "127.0.0.1", str(port)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as broker:
        assert broker.stdout is not None and broker.stdin is not None
        try:
            assert broker.stdout.readline() == READY_LINE
            os.kill(broker.pid, signal.SIGINT)
            # Answering after the signal means it was delivered (on the way back to user
            # space) and ignored.
            _subscribe_round_trip(port)
            assert broker.poll() is None
            broker.stdin.close()  # what the command's end, however it ends, does
            assert broker.wait(10) == 0
            assert not port_accepts("127.0.0.1", port)
        finally:
            if broker.poll() is None:
                broker.kill()
