"""Where the session store lives: an SQLite file (one lifter, the default) or a PostgreSQL
database (a gym: many hubs and store consumers, one dashboard).

A ``--db`` value is either a file path or ``postgresql://user@host[:port]/dbname[?options]``.
A PostgreSQL password never comes from the URL, which would put it on a command line and in
``ps``: libpq reads it from ``PGPASSWORD``, from the password file ``PGPASSFILE`` (or the URL's
``passfile=`` option) or from ``~/.pgpass``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class PostgresURL:
    """A PostgreSQL database by libpq URL, without a password (safe to log as it is)."""

    url: str

    @classmethod
    def parse(cls, text: str) -> PostgresURL:
        """Check a ``postgresql://`` URL; refuse one that carries a password.

        Error messages never quote the URL: a refused one may hold the password.
        """
        parts = urlsplit(text)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"a database URL starts with postgresql://, not {parts.scheme!r}")
        if parts.password is not None:
            raise ValueError(
                "the database URL holds a password: give it in PGPASSWORD or a password file "
                "(PGPASSFILE, ~/.pgpass or ?passfile=PATH), never on the command line"
            )
        if not parts.path.strip("/"):
            raise ValueError("the database URL names no database (postgresql://user@host/DB)")
        return cls(text)

    def __str__(self) -> str:
        """The URL itself: it holds no password."""
        return self.url


StoreLocation = Path | PostgresURL


def parse_location(text: str) -> StoreLocation:
    """A ``--db`` value: a ``postgresql://`` URL, or else an SQLite file path."""
    if urlsplit(text).scheme in _SCHEMES:
        return PostgresURL.parse(text)
    return Path(text)
