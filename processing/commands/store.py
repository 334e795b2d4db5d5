"""``backspotter store``: build the session store from the events the hubs publish."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from processing.commands.db_option import add_db_option

#: A consumer still stopping this long after SIGINT or SIGTERM, in s, prints every thread's
#: stack to stderr: where it waits (storing what has arrived takes well under a second).
SHUTDOWN_REPORT_S = 10.0


def register(subparsers: Any) -> None:
    """Add the ``store`` subcommand."""
    parser = subparsers.add_parser(
        "store",
        help="a gym's store consumer: events from the broker into the session store",
        description="Subscribe to every lifter's events (backspotter/v1/+/events/#, and the "
        "live angle for the session chart) through an MQTT 5 shared subscription and store "
        "them. Start several with the same --group to share the load; each needs its own "
        "--client-id, kept across restarts so the broker holds what arrives while it is "
        "down. Needs an MQTT 5 broker with shared subscriptions (Mosquitto 2, EMQX, "
        "VerneMQ). Ctrl-C or SIGTERM stops it after storing what has arrived.",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        default="mqtt://localhost:1883",
        help="broker, mqtt[s]://[user@]host[:port] (default: %(default)s; the password "
        "comes from BACKSPOTTER_MQTT_PASSWORD or the file BACKSPOTTER_MQTT_PASSWORD_FILE)",
    )
    add_db_option(parser)
    parser.add_argument(
        "--group",
        default="backspotter-store",
        help="shared-subscription group; consumers of one group share the messages "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--client-id",
        metavar="ID",
        help="MQTT client id, the same on every restart (default: GROUP-HOSTNAME)",
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="store events only, not the live angle trace (the session page then has no chart)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Consume until SIGINT or SIGTERM."""
    import faulthandler
    import signal
    import threading

    from processing.live.store_consumer import ConsumerConfig, StoreConsumer
    from processing.store.exc import StoreError
    from processing.store.reader import default_db_path
    from processing.wire.mqtt_url import PASSWORD_ENV, BrokerURL

    if urlsplit(args.mqtt).password is not None:
        print(
            "backspotter store: the MQTT URL holds a password: give it in "
            f"{PASSWORD_ENV}, never on the command line",
            file=sys.stderr,
        )
        return 2
    try:
        config = ConsumerConfig(
            BrokerURL.parse(args.mqtt),
            args.db or default_db_path(),
            client_id=args.client_id or f"{args.group}-{socket.gethostname()}",
            group=args.group,
            traces=not args.no_trace,
        )
    except ValueError as error:
        print(f"backspotter store: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        """Stop after storing what has arrived; say where it waits if that takes long."""
        stop.set()
        faulthandler.dump_traceback_later(SHUTDOWN_REPORT_S)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    consumer = StoreConsumer(config)
    print(
        f"storing every lifter's events from {config.mqtt_url} (group {config.group}, client "
        f"{config.client_id}) into {config.db}; Ctrl-C stops",
        flush=True,
    )
    try:
        consumer.run(stop)
    except (OSError, StoreError) as error:
        print(f"backspotter store: {error}", file=sys.stderr)
        return 1
    finally:
        faulthandler.cancel_dump_traceback_later()
    counts = consumer.counts
    print(
        f"stored {counts.events_stored} event(s) and {counts.trace_messages} trace message(s); "
        f"{counts.duplicates} duplicate(s) and {counts.malformed} malformed message(s) dropped"
    )
    return 0
