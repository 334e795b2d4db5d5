"""The ``--db`` option of the commands that use the session store: a file or a database URL."""

from __future__ import annotations

import argparse

from processing.store.location import StoreLocation, parse_location

DB_HELP = (
    "session store: an SQLite file, or postgresql://USER@HOST[:PORT]/DB for a gym's shared "
    "store (password from PGPASSWORD or a password file, never the URL)"
)


def add_db_option(parser: argparse.ArgumentParser, help_text: str = DB_HELP) -> None:
    """``--db PATH|URL`` (default: ``sessions.sqlite3`` in the user data dir)."""
    parser.add_argument(
        "--db",
        type=db_location,
        metavar="PATH|URL",
        help=f"{help_text} (default: in the user data dir)",
    )


def db_location(text: str) -> StoreLocation:
    """``--db`` parsed; a URL that is not usable is a usage error (exit 2)."""
    try:
        return parse_location(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
