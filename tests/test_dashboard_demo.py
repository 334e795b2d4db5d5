"""``backspotter demo`` as a user runs it: on a machine with no broker listening it starts the
embedded one, the dashboard and a simulated lifter whose reps reach MQTT and the store; Ctrl-C
(SIGINT to the process group, as a terminal sends it) stops every part cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from brokers import free_port, port_accepts, wait_until
from mqtt_subscriber import Subscriber
from paho.mqtt.enums import MQTTProtocolVersion

from processing.live.outbox import Outbox, outbox_path_for
from processing.store.reader import SessionStore

BACKSPOTTER = str(Path(sys.executable).parent / "backspotter")


def test_demo_starts_broker_dashboard_and_a_lifter_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    mqtt_port, web_port, db = free_port(), free_port(), tmp_path / "demo.sqlite3"
    log = tmp_path / "demo.log"
    command = [BACKSPOTTER, "demo", "--port", str(web_port), "--db", str(db), "--speed", "20"]
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [*command, "--mqtt", f"mqtt://127.0.0.1:{mqtt_port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://localhost:{web_port}/"
        wait_until(lambda: f"open {url}" in log.read_text(), 60, f"the demo to print {url}")
        assert port_accepts("127.0.0.1", web_port)
        subscriber = Subscriber(
            "127.0.0.1", mqtt_port, "backspotter/v1/demo/#", MQTTProtocolVersion.MQTTv311
        )
        subscriber.wait_for(
            lambda _: any(e["type"] == "rep" for e in subscriber.events()), 60, "a rep"
        )
        subscriber.close()
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)
        status = demo.wait(30)
    assert status == 0, log.read_text()
    assert not port_accepts("127.0.0.1", web_port), "the dashboard outlived the demo"
    assert not port_accepts("127.0.0.1", mqtt_port), "the embedded broker outlived the demo"
    # A terminal's Ctrl-C reaches the embedded broker too; it must outlive the demo's last
    # acknowledgements, or the session's last events wait in the outbox for the next run.
    outbox = Outbox(outbox_path_for(db))
    try:
        assert outbox.count() == 0, log.read_text()
    finally:
        outbox.close()
    with SessionStore(db) as store:
        (session,) = store.list_sessions("demo")
        assert session.reps >= 1 and session.ended_at is not None
