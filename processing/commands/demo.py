"""``backspotter demo``: the whole system on one machine, with nothing strapped on.

It starts an MQTT broker if none listens on localhost (the embedded amqtt), the dashboard, and
a simulated lifter wearing two sensors who deadlifts a realistic session in real time, streamed
through the same service as ``backspotter run --source sim://...``: pipeline, MQTT events and
session store. When a session ends the next one starts. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing.commands.dashboard import DEFAULT_PORT
from processing.commands.option_ranges import PORT, SPEED

if TYPE_CHECKING:
    from processing.live.service import Service, ServiceConfig
    from processing.wire.mqtt_url import BrokerURL

DEMO_LIFTER = "demo"
#: Simulator seeds whose lifter wears two sensors (upper L1, lower S1). Seed 8 is five sets,
#: 17 reps (7 of them rounded past 30°), the first set half a minute in, about 15 minutes with
#: realistic rests.
DEMO_SEEDS = (8, 3, 10, 7, 5, 12)


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="try everything with a simulated lifter: broker, live session, dashboard",
        description="Start a broker (embedded, if none listens on localhost), the dashboard "
        "and a simulated two-sensor lifter deadlifting in real time through the live service; "
        "print the address to open. Ctrl-C stops everything.",
    )
    parser.add_argument("--port", type=PORT, default=DEFAULT_PORT, help="dashboard port")
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        default="mqtt://localhost:1883",
        help="broker (default: %(default)s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="session store (default: demo.sqlite3 in the user data dir, apart from real sessions)",
    )
    parser.add_argument(
        "--speed", type=SPEED, default=1.0, help="times real time (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, help=f"first simulated session (default: {DEMO_SEEDS[0]})"
    )
    parser.set_defaults(func=run)


def seeds(first: int | None) -> Iterator[int]:
    """The simulated sessions to stream, one after another, for ever."""
    if first is not None:
        yield first
    yield from itertools.cycle(DEMO_SEEDS)


def sim_config(url: BrokerURL, db_path: Path, seed: int, speed: float) -> ServiceConfig:
    """One simulated session of the demo lifter, published and stored like a real one."""
    from processing.live.outbox import outbox_path_for
    from processing.live.service import LifterSpec, ServiceConfig

    source = f"sim://?seed={seed}&speed={speed:g}"
    return ServiceConfig(
        (LifterSpec(DEMO_LIFTER, (source,)),),
        mqtt_url=url,
        db=db_path,
        outbox_path=outbox_path_for(db_path),
        embedded_broker=False,
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C (or SIGTERM)."""
    import asyncio

    from processing.store.reader import default_db_path
    from processing.wire.mqtt_url import BrokerURL

    if args.speed <= 0:
        print("backspotter demo: --speed must be positive", file=sys.stderr)
        return 2
    try:
        url = BrokerURL.parse(args.mqtt)
    except ValueError as error:
        print(f"backspotter demo: {error}", file=sys.stderr)
        return 2
    db_path = args.db or default_db_path().with_name("demo.sqlite3")
    try:
        return asyncio.run(_demo(args, url, db_path))
    except (RuntimeError, OSError) as error:
        print(f"backspotter demo: {error}", file=sys.stderr)
        return 1


async def _demo(args: argparse.Namespace, url: BrokerURL, db_path: Path) -> int:
    """Broker, dashboard, then simulated sessions until stopped; everything closed in reverse."""
    import asyncio
    import contextlib

    from processing.commands.dashboard import DashboardOptions, start_dashboard, stop_dashboard
    from processing.live.broker import ensure_broker

    async with contextlib.AsyncExitStack() as stack:
        broker = await ensure_broker(url)
        if broker is not None:
            stack.push_async_callback(broker.stop)
        options = DashboardOptions(args.port, "localhost", db_path, str(url))
        dashboard = await asyncio.to_thread(start_dashboard, options)
        stack.callback(stop_dashboard, dashboard)
        print(
            f"\nBackspotter demo: open {options.url} in a browser (Live, Sessions, Progress).\n"
            f"A simulated lifter '{DEMO_LIFTER}' is deadlifting now; Ctrl-C stops everything.\n",
            flush=True,
        )
        await _sessions(args, url, db_path)
    return 0


async def _sessions(args: argparse.Namespace, url: BrokerURL, db_path: Path) -> None:
    """Stream simulated sessions back to back until SIGINT or SIGTERM."""
    import asyncio
    import signal

    from processing.live.service import Service

    stopping = asyncio.Event()
    current: list[Service] = []

    def stop() -> None:
        stopping.set()
        for service in current:
            service.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    for seed in seeds(args.seed):
        if stopping.is_set():
            return
        current[:] = [Service(sim_config(url, db_path, seed, args.speed))]
        await _show(current[0])


async def _show(service: Service) -> None:
    """Run one session with the console view (silent: the dashboard shows the alerts)."""
    from processing.live.console import ConsoleView
    from processing.live.cue import make_cue

    view = ConsoleView(service, make_cue("off", sys.stdout))
    service.observers.append(view)
    with view.showing():
        await service.run()
