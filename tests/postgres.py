"""A real PostgreSQL server for tests (used by ``conftest.py`` and test modules).

The server runs Debian's ``postgres`` binaries on a cluster made by ``initdb`` in a temporary
directory (under /dev/shm when it has room: databases are made 15x faster in memory), listening
on 127.0.0.1 at a free port (and on a unix socket in that directory), with durability turned off
for speed (``fsync=off``: a crash of the machine may lose the data, a crash of the server does
not). Two roles:

* ``backspotter``: the bootstrap superuser, admitted without a password (``trust``);
* ``coach``: a plain login role whose random password (``PostgresServer.password``) is checked
  with ``scram-sha-256``; a wrong or missing password is refused.

initdb and postgres refuse to run as root, so when the tests run as root the server runs as the
``postgres`` system user that Debian's package creates (subprocess's ``user``/``group``
arguments switch the user in the child before it executes the binary, like ``setpriv``: the
process we wait for and signal is the server itself, with no ``runuser`` in between).
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import quote

import psycopg
from brokers import ServerProcess, free_port, wait_until
from psycopg import sql
from psycopg.rows import TupleRow

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0
_INITDB_TIMEOUT_S = 60.0
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: How ``stop`` asks the postmaster to end (PostgreSQL's shutdown modes and their signals).
_SHUTDOWN_SIGNALS = {
    "smart": signal.SIGTERM,  # waits for the clients to disconnect
    "fast": signal.SIGINT,  # disconnects the clients, checkpoints
    "immediate": signal.SIGQUIT,  # no checkpoint: the next start recovers from the WAL
}
#: Settings on the command line of ``postgres``: no fsync (a crash of the machine may lose data).
#: ``synchronous_commit`` stays on: off, a commit would return before its WAL is written, and
#: an immediate stop (a crash of the server) would lose the last ~200 ms of commits.
_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    # Every CREATE DATABASE writes ~7 MB of WAL: checkpoint often enough that the WAL of a
    # long session stays small (it may be in memory, see ``_scratch_parent``).
    "max_wal_size": "64MB",
    "min_wal_size": "32MB",
}
#: /dev/shm is used only with this much room (the cluster needs ~100 MB, databases dropped).
_SHM_MIN_FREE_BYTES = 1 << 30
SETUP_HINT = "run `bash .ci/setup` (it installs Debian's postgresql package)"


class PostgresNotInstalledError(RuntimeError):
    """The PostgreSQL server binaries (or the ``postgres`` user, when root) are missing."""


def find_bindir() -> Path:
    """Directory of ``initdb`` and ``postgres``: ``pg_config --bindir``, else the newest Debian one.

    ``pg_config`` may belong to a newer libpq than the installed server, so its directory is
    used only when it holds the server binaries.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: _version_key(path.parent.name),
        reverse=True,
    )
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bindir
    raise PostgresNotInstalledError(
        "PostgreSQL server binaries (initdb, postgres) not found via `pg_config --bindir` "
        f"nor in /usr/lib/postgresql/*/bin: {SETUP_HINT}"
    )


def _version_key(version: str) -> tuple[int, ...]:
    """``"15"`` -> ``(15,)``, ``"9.6"`` -> ``(9, 6)``; names that are no version sort first."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def _server_account() -> pwd.struct_passwd | None:
    """The ``postgres`` system user when we are root (initdb refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresNotInstalledError(
            f"tests run as root but there is no `postgres` system user to run the server: "
            f"{SETUP_HINT}"
        ) from None


def _scratch_parent() -> Path | None:
    """``/dev/shm`` when it has room, else None (the system's temporary directory).

    A database is ~600 files; creating them on this machine's ext4 takes 0.25 s, in memory
    0.015 s, and every test makes a database.
    """
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    room = stats.f_bavail * stats.f_frsize
    return shm if room >= _SHM_MIN_FREE_BYTES and os.access(shm, os.W_OK | os.X_OK) else None


class PostgresServer(ServerProcess):
    """A real PostgreSQL server; ``stop`` and ``start`` keep its port and data directory.

    Use it as a context manager (start, then stop and delete the directory), or call ``start``
    and finally ``close``. ``parent`` is where the temporary directory is made (default:
    ``/dev/shm`` if it has room, else the system's); when root, the ``postgres`` user must be
    able to reach it, which pytest's own temporary directories (``/tmp/pytest-of-root``, mode
    0700) do not allow.
    """

    host = "127.0.0.1"
    #: Bootstrap superuser, admitted without a password over TCP and the unix socket.
    superuser = "backspotter"
    #: Login role that must give ``password`` (scram-sha-256); owner of ``create_database``'s.
    password_user = "coach"

    def __init__(self, parent: Path | None = None) -> None:
        """Find the binaries and make the (empty) working directory; nothing runs yet."""
        self.bindir = find_bindir()
        account = _server_account()
        # subprocess's user, group and extra_groups: None leaves them as they are.
        self._uid = None if account is None else account.pw_uid
        self._gid = None if account is None else account.pw_gid
        self._extra_groups: list[int] | None = None if account is None else []
        if parent is None:
            parent = _scratch_parent()
        self.workdir = Path(tempfile.mkdtemp(prefix="backspotter-postgres-", dir=parent))
        if account is not None:
            os.chown(self.workdir, account.pw_uid, account.pw_gid)
        self.datadir = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self.port = free_port()
        #: Password of ``password_user`` (URL-safe characters: no quoting in URLs or .pgpass).
        self.password = secrets.token_urlsafe(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._roles_made = False

    def __enter__(self) -> PostgresServer:
        """Start the server; clean up if it does not come up."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and delete its directory."""
        self.close()

    def url_for(self, user: str, dbname: str, *, password: str | None = None) -> str:
        """``postgresql://user[:password]@127.0.0.1:PORT/dbname`` of this server."""
        credentials = quote(user, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def connect(
        self,
        dbname: str = "postgres",
        user: str | None = None,
        *,
        password: str | None = None,
        autocommit: bool = False,
    ) -> psycopg.Connection[TupleRow]:
        """A psycopg connection over TCP, as the superuser unless ``user`` is given."""
        return psycopg.connect(
            self.url_for(user or self.superuser, dbname, password=password),
            autocommit=autocommit,
            connect_timeout=5,
        )

    def create_database(self, name: str) -> str:
        """Create the empty database ``name``; return its URL for the superuser (no password).

        The database is owned by ``coach``, so that role may create tables in its ``public``
        schema (since PostgreSQL 15 only the database owner may), and every table or sequence
        the superuser creates there is granted to ``coach`` too (default privileges): either
        role can write what the other reads.
        """
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: use lowercase letters, digits and _")
        database, coach, superuser = (
            sql.Identifier(name),
            sql.Identifier(self.password_user),
            sql.Identifier(self.superuser),
        )
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, coach))
        with self.connect(name, autocommit=True) as conn:
            for kind in ("TABLES", "SEQUENCES"):
                conn.execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT ALL ON {} TO {}").format(
                        superuser, sql.SQL(kind), coach
                    )
                )
        return self.url_for(self.superuser, name)

    def drop_database(self, name: str) -> None:
        """Drop the database ``name`` if it exists, closing the connections still open to it."""
        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def start(self) -> None:
        """Start the server (making the cluster the first time) and wait until it answers."""
        assert not self.running, "already running"
        if not self.datadir.exists():
            self._initdb()
        command = [str(self.bindir / "postgres"), "-D", str(self.datadir)]
        settings = {
            **_SETTINGS,
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.workdir),
        }
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                cwd=self.workdir,
                env=self._server_env(),
                user=self._uid,
                group=self._gid,
                extra_groups=self._extra_groups,
            )
        try:
            wait_until(self._ready, _START_TIMEOUT_S, f"postgres on port {self.port}")
            if not self._roles_made:
                self._make_roles()
        except BaseException:
            self._end(signal.SIGQUIT)
            raise

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Shut down in PostgreSQL's ``mode`` and wait for the postmaster to exit.

        ``fast`` disconnects the clients and writes a checkpoint; ``immediate`` is a crash as
        far as the data goes (the next ``start`` replays the WAL; committed rows survive).
        """
        self._end(_SHUTDOWN_SIGNALS[mode])

    def close(self) -> None:
        """Stop (fast) if running, then delete the working directory and the cluster."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _initdb(self) -> None:
        """Make the cluster: superuser ``backspotter``, UTF-8, C locale, our pg_hba.conf."""
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.datadir),
                "--username",
                self.superuser,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            timeout=_INITDB_TIMEOUT_S,
            check=False,
            cwd=self.workdir,
            env=self._server_env(),
            user=self._uid,
            group=self._gid,
            extra_groups=self._extra_groups,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stderr}")
        # Overwriting keeps the file's owner (the server's user). Roles not named here, and
        # connections from anywhere but 127.0.0.1 or the socket, have no entry: refused.
        (self.datadir / "pg_hba.conf").write_text(
            "# TYPE  DATABASE  USER         ADDRESS       METHOD\n"
            f"local   all       {self.superuser}                trust\n"
            f"host    all       {self.superuser}  127.0.0.1/32  trust\n"
            f"local   all       {self.password_user}                scram-sha-256\n"
            f"host    all       {self.password_user}        127.0.0.1/32  scram-sha-256\n"
        )

    def _make_roles(self) -> None:
        """Create ``coach`` with its password (stored as a SCRAM verifier)."""
        with self.connect(autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.password_user), sql.Literal(self.password)
                )
            )
        self._roles_made = True

    def _server_env(self) -> dict[str, str]:
        """Our environment without ``PG*`` variables, for initdb and the server.

        A test's ``PGPASSWORD`` or ``PGOPTIONS`` has no business in the server, and ``PGPORT``
        or ``PGDATA`` would compete with the command line.
        """
        return {key: value for key, value in os.environ.items() if not key.startswith("PG")}

    def _ready(self) -> bool:
        """The server accepts a connection; a server that died is reported with its log."""
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(
                f"postgres exited ({self._process.returncode}): "
                f"{self.log.read_text(errors='replace')}"
            )
        try:
            with self.connect(autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:  # refused, or "the database system is starting up"
            return False
        return True

    def _end(self, sig: signal.Signals) -> None:
        """Send ``sig`` and reap the postmaster; escalate to an immediate stop, then SIGKILL."""
        if self._process is None or self._process.poll() is not None:
            return
        for escalation in (sig, signal.SIGQUIT, signal.SIGKILL):
            self._process.send_signal(escalation)
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                continue
        raise RuntimeError(f"postgres (pid {self._process.pid}) did not exit")
