"""``backspotter outbox list|purge``: the events that wait in the outbox for a broker.

The outbox (``NAME.outbox.sqlite3`` beside the session store) holds every event the broker
has not acknowledged yet; the next run that reaches a broker sends them all, however old.
``list`` shows what waits, per session; ``purge`` deletes it, so stale events are never sent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing.commands.db_option import add_db_option

if TYPE_CHECKING:
    from processing.live.outbox import Outbox, PendingSession


def register(subparsers: Any) -> None:
    """Add the ``outbox`` subcommand with its ``list`` and ``purge`` actions."""
    common = argparse.ArgumentParser(add_help=False)
    add_db_option(common, "session store whose outbox to use, as given to run/replay")
    common.add_argument(
        "--lifter",
        action="append",
        metavar="NAME",
        help="only this lifter's events (repeat for several; default: every lifter)",
    )
    parser = subparsers.add_parser(
        "outbox",
        help="list or purge events still waiting for the MQTT broker",
        description="Events that no broker has acknowledged wait in the outbox beside the "
        "session store and are sent, oldest first, by the next run that reaches a broker. "
        "List them, or purge them so they are never sent.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", parents=[common], help="waiting events per session: count, age, types"
    )
    listing.set_defaults(func=run_list)
    purge = actions.add_parser("purge", parents=[common], help="delete waiting events")
    purge.add_argument("--session", metavar="ID", help="only this session's events")
    purge.add_argument(
        "--yes", action="store_true", help="needed to purge more than one session's events"
    )
    purge.set_defaults(func=run_purge)


def run_list(args: argparse.Namespace) -> int:
    """Print what waits, one line per session; 0 also when nothing does."""
    return _with_outbox(args, lambda outbox, path: _print_list(outbox, path, args.lifter))


def run_purge(args: argparse.Namespace) -> int:
    """Delete one session's (``--session``) or, with ``--yes``, every selected event."""
    if args.session is None and not args.yes:
        print(
            "backspotter outbox purge: give --session ID, or --yes to purge every waiting "
            "event" + (" of the lifter(s) given" if args.lifter else ""),
            file=sys.stderr,
        )
        return 2
    return _with_outbox(args, lambda outbox, path: _purge(outbox, path, args))


def _with_outbox(args: argparse.Namespace, action: Callable[[Outbox, Path], int]) -> int:
    """Open the outbox the arguments name and run ``action(outbox, path)`` on it."""
    import sqlite3

    from processing.live.outbox import Outbox, OutboxError, outbox_path_for
    from processing.store.reader import default_db_path
    from processing.wire.messages import validate_lifter

    name = f"backspotter outbox {args.action}"
    try:
        for lifter in args.lifter or ():
            validate_lifter(lifter)
    except ValueError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    path = outbox_path_for(args.db or default_db_path())
    if not path.exists():
        # Opening would create it: a look must not leave files behind.
        print(f"no outbox at {path}: nothing waits")
        return 0
    try:
        outbox = Outbox(path)
        try:
            status = action(outbox, path)
        finally:
            outbox.close()
    except (sqlite3.Error, OutboxError, OSError) as error:
        print(f"{name}: {path}: {error}", file=sys.stderr)
        return 1
    return status


def _print_list(outbox: Outbox, path: Path, lifters: Sequence[str] | None) -> int:
    """The table of waiting sessions."""
    pending = outbox.sessions(lifters)
    total = sum(p.count for p in pending)
    print(f"{path}: {total} event(s) waiting in {len(pending)} session(s)")
    if pending:
        print("\n".join(format_sessions(pending)))
    return 0


def _purge(outbox: Outbox, path: Path, args: argparse.Namespace) -> int:
    """Delete the selected rows and say how many went; 2 for a session with nothing waiting."""
    deleted = outbox.purge(args.lifter, args.session)
    if args.session is not None and not deleted:
        print(
            f"backspotter outbox purge: no event of session {args.session} waits in {path} "
            "(see backspotter outbox list)",
            file=sys.stderr,
        )
        return 2
    print(f"{path}: purged {deleted} event(s)")
    return 0


def format_sessions(pending: Sequence[PendingSession]) -> list[str]:
    """One line per session: lifter, session, count, oldest and newest age, types."""
    from processing.live.outbox import format_age
    from processing.wire.messages import now_ms

    now = now_ms()
    rows = [("LIFTER", "SESSION", "EVENTS", "OLDEST", "NEWEST", "TYPES")]
    for p in pending:
        types = ", ".join(f"{kind} {n}" for kind, n in sorted(p.types.items()))
        ages = (format_age(now - p.oldest_ms), format_age(now - p.newest_ms))
        rows.append((p.stream, p.session_id or "?", str(p.count), *ages, types))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
