"""The PostgreSQL fixtures: a real server, fresh databases, password checks, restarts."""

from __future__ import annotations

import os
import pwd
import secrets
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from postgres import PostgresServer


def user_tables(url: str) -> list[str]:
    """Names of the tables outside PostgreSQL's own schemas in the database at ``url``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY tablename"
        ).fetchall()
    return [row[0] for row in rows]


def test_server_answers(postgres_server: PostgresServer, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SELECT current_user").fetchone() == ("backspotter",)
        assert conn.execute("SHOW server_version_num").fetchone() is not None
        assert conn.info.port == postgres_server.port
    assert postgres_url.startswith(f"postgresql://backspotter@127.0.0.1:{postgres_server.port}/")


def test_server_runs_as_a_non_root_user(postgres_server: PostgresServer) -> None:
    assert postgres_server.pid is not None
    owner = Path(f"/proc/{postgres_server.pid}").stat().st_uid
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert owner == expected != 0


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_empty_database(postgres_url: str, run: int) -> None:
    # Whichever run comes second would find the first one's table if they shared a database.
    assert user_tables(postgres_url) == []
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE left_behind (run int)")
        conn.execute("INSERT INTO left_behind VALUES (%s)", (run,))
    assert user_tables(postgres_url) == ["left_behind"]


def test_two_databases_are_different(postgres_server: PostgresServer, postgres_url: str) -> None:
    name = f"other_{secrets.token_hex(4)}"
    other_url = postgres_server.create_database(name)
    try:
        assert other_url != postgres_url
        with psycopg.connect(postgres_url) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
        assert user_tables(postgres_url) == ["only_here"]
        assert user_tables(other_url) == []
        with pytest.raises(psycopg.errors.DuplicateDatabase):
            postgres_server.create_database(name)
    finally:
        postgres_server.drop_database(name)
    with pytest.raises(psycopg.OperationalError, match=f'database "{name}" does not exist'):
        psycopg.connect(other_url).close()


def coach_url(server: PostgresServer, postgres_url: str) -> str:
    """The URL of the same database for the role ``coach``, without a password."""
    return server.url_for(server.password_user, postgres_url.rsplit("/", 1)[1])


def test_coach_connects_with_the_password_from_the_environment(
    postgres_server: PostgresServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    with psycopg.connect(coach_url(postgres_server, postgres_url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("coach",)
        # Owner of the database: may create tables in its public schema.
        conn.execute("CREATE TABLE reps (n int)")
        conn.execute("INSERT INTO reps VALUES (1)")
    # A table the superuser makes is granted to coach (default privileges) and vice versa.
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT n FROM reps").fetchall() == [(1,)]
        conn.execute("CREATE TABLE sets (n serial, label text)")
    with psycopg.connect(coach_url(postgres_server, postgres_url)) as conn:
        conn.execute("INSERT INTO sets (label) VALUES ('first')")
        assert conn.execute("SELECT n, label FROM sets").fetchall() == [(1, "first")]


def test_coach_connects_with_the_password_from_a_password_file(
    postgres_server: PostgresServer,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dbname = postgres_url.rsplit("/", 1)[1]
    passfile = tmp_path / "pgpass"
    passfile.write_text(
        f"127.0.0.1:{postgres_server.port}:{dbname}:coach:{postgres_server.password}\n"
    )
    passfile.chmod(0o600)  # libpq ignores a password file others may read
    monkeypatch.delenv("PGPASSWORD", raising=False)  # it would win over the file
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with psycopg.connect(coach_url(postgres_server, postgres_url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("coach",)


def test_coach_is_refused_a_wrong_or_missing_password(
    postgres_server: PostgresServer,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url = coach_url(postgres_server, postgres_url)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-file"))
    monkeypatch.setenv("PGPASSWORD", postgres_server.password + "x")
    with pytest.raises(
        psycopg.OperationalError, match='password authentication failed for user "coach"'
    ):
        psycopg.connect(url).close()
    monkeypatch.delenv("PGPASSWORD")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(url).close()
    # The password in the URL works like the one from the environment.
    right = postgres_server.url_for("coach", "postgres", password=postgres_server.password)
    psycopg.connect(right).close()


def test_unknown_roles_are_refused(postgres_server: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match=r'no pg_hba.conf entry .* user "postgres"'):
        postgres_server.connect(user="postgres").close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_data_survives_a_restart(
    postgres_server: PostgresServer, postgres_url: str, mode: Literal["fast", "immediate"]
) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE kept (label text)")
        conn.execute("INSERT INTO kept VALUES ('before')")
    port, consumer = postgres_server.port, psycopg.connect(postgres_url)
    try:
        postgres_server.stop(mode)
        assert not postgres_server.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres_url, connect_timeout=2).close()
        with pytest.raises(psycopg.OperationalError):
            consumer.execute("SELECT 1")
    finally:
        consumer.close()
        postgres_server.start()
    assert postgres_server.port == port
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT label FROM kept").fetchall() == [("before",)]
