"""Options and runner shared by ``run`` and ``replay``: where events go and how to stop.

Kept free of heavy imports (argparse only at module level) so ``backspotter --help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from processing.commands.db_option import add_db_option
from processing.commands.threshold_options import add_threshold_options, reference_settings

if TYPE_CHECKING:
    from processing.live.service import ServiceConfig

DEFAULT_LIFTER = "default"


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--mqtt``, ``--no-mqtt``, ``--no-embedded-broker``, ``--db``, ``--no-db``, the threshold
    options, ``--cue``."""
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        default="mqtt://localhost:1883",
        help="broker, mqtt[s]://[user[:password]@]host[:port] (default: %(default)s; "
        "a user without password reads BACKSPOTTER_MQTT_PASSWORD)",
    )
    parser.add_argument("--no-mqtt", action="store_true", help="do not publish")
    parser.add_argument(
        "--no-embedded-broker",
        action="store_true",
        help="never start the embedded broker, even when nothing listens at a localhost URL",
    )
    add_db_option(parser)
    parser.add_argument(
        "--no-db",
        action="store_true",
        help="keep no session store (a gym's hub: its store consumers keep the events)",
    )
    parser.add_argument(
        "--await-store",
        action="store_true",
        help="keep each event in the outbox until a gym's store consumer (backspotter store) "
        "confirms it stored it, and send what is unconfirmed again when a consumer subscribes",
    )
    add_threshold_options(parser)
    parser.add_argument(
        "--cue",
        choices=("off", "bell", "tone"),
        help="sound on each flexion alert: terminal bell (default), generated tone, or none",
    )


def serve(args: argparse.Namespace, lifters: list[tuple[str, tuple[str, ...]]], cue: str) -> int:
    """Run the service for ``(lifter, source URLs)`` until the sources end or Ctrl-C."""
    import asyncio

    from processing.live.outbox import outbox_path_for
    from processing.live.service import LifterSpec, ServiceConfig
    from processing.store.exc import StoreError
    from processing.store.reader import default_db_path
    from processing.wire.mqtt_url import BrokerURL
    from sensor.exc import DeviceError, RecordingFormatError, SourceURLError

    conflict = _conflicting_outputs(args)
    if conflict:
        print(f"backspotter {args.command}: {conflict}", file=sys.stderr)
        return 2
    db = None if args.no_db else args.db or default_db_path()
    try:
        config = ServiceConfig(
            tuple(
                LifterSpec(name, urls, args.threshold, reference_settings(args))
                for name, urls in lifters
            ),
            mqtt_url=None if args.no_mqtt else BrokerURL.parse(args.mqtt),
            db=db,
            outbox_path=outbox_path_for(db),
            embedded_broker=not args.no_embedded_broker,
            await_store=args.await_store,
        )
        return asyncio.run(_serve(config, cue))
    except (ValueError, SourceURLError, RecordingFormatError) as error:  # bad input
        print(f"backspotter {args.command}: {error}", file=sys.stderr)
        return 2
    except (OSError, DeviceError, StoreError) as error:  # the world did not cooperate
        print(f"backspotter {args.command}: {error}", file=sys.stderr)
        return 1


def _conflicting_outputs(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of output options, if anything."""
    if args.no_db and args.db is not None:
        return "give --db or --no-db, not both"
    if args.await_store and args.no_mqtt:
        return "--await-store waits for a store consumer over MQTT: it needs MQTT on"
    return None


async def _serve(config: ServiceConfig, cue_kind: str) -> int:
    """The service with the console view, stopped cleanly by SIGINT or SIGTERM."""
    import asyncio
    import signal

    from processing.live.console import ConsoleView
    from processing.live.cue import make_cue
    from processing.live.service import Service

    service = Service(config)
    view = ConsoleView(service, make_cue(cue_kind, sys.stdout))
    service.observers.append(view)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, service.stop)
    with view.showing():
        await service.run()
    return 0
