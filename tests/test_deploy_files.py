"""The gym deployment files (``docs/gym/``, ``docs/deploy-gym.md``), checked without Docker.

Docker's daemon is not available to the tests, so each file is checked against what it is
for: every command in ``compose.yaml`` goes through the real ``backspotter`` argument parser,
``mosquitto.conf`` runs in the real Mosquitto 2.0.11 with a real MQTT 5 shared subscription,
the secret recipe of the doc is run by bash, and the doc's hub command is parsed like the
compose commands. What only Docker can show (the image builds, the containers start) is not
covered here.
"""

from __future__ import annotations

import getpass
import json
import re
import shlex
import stat
import subprocess
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import pytest
import yaml
from brokers import MOSQUITTO, MosquittoBroker, wait_until
from mqtt_subscriber import Subscriber
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from processing.cli import build_parser
from processing.live.store_consumer import ConsumerConfig
from processing.store.location import PostgresURL

REPO = Path(__file__).resolve().parents[1]
GYM = REPO / "docs" / "gym"
COMPOSE = GYM / "compose.yaml"
DOCKERFILE = GYM / "Dockerfile"
MOSQUITTO_CONF = GYM / "mosquitto.conf"
DOC = REPO / "docs" / "deploy-gym.md"

START_COMMAND = "docker compose -f docs/gym/compose.yaml up -d"
#: Services running the Backspotter image, i.e. a ``backspotter`` command line.
BACKSPOTTER_SERVICES = ("store-1", "store-2", "dashboard")
STORE_SERVICES = ("store-1", "store-2")
SECRETS_DIR = "/run/secrets/"
#: Environment variables that would hold a password itself (never allowed in compose.yaml).
PASSWORD_VARIABLES = {
    "PGPASSWORD",
    "POSTGRES_PASSWORD",
    "BACKSPOTTER_DASHBOARD_PASSWORD",
    "BACKSPOTTER_MQTT_PASSWORD",
}
_TIMEOUT_S = 10.0


# --- docs/gym/compose.yaml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as Docker Compose reads it (YAML merge keys resolved)."""
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict), "compose.yaml is not a mapping"
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    """One service's definition."""
    services: dict[str, Any] = compose["services"]
    assert name in services, f"compose.yaml has no service {name!r}"
    return dict(services[name])


def argv(definition: dict[str, Any]) -> list[str]:
    """A service's ``command`` as the argument list the image's ENTRYPOINT gets."""
    command = definition["command"]
    if isinstance(command, str):
        return shlex.split(command)
    assert all(isinstance(arg, str) for arg in command), f"not all strings: {command!r}"
    return list(command)


def parse(args: list[str]) -> Any:
    """``backspotter ARGS`` through the project's real parser; a usage error fails the test."""
    try:
        return build_parser().parse_args(args)
    except SystemExit as exit_:
        raise AssertionError(f"backspotter rejects {args!r} (exit {exit_.code})") from None


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from either of Compose's two forms."""
    env = definition.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def secret_targets(definition: dict[str, Any]) -> dict[str, str]:
    """Secret name -> its path in the service's container."""
    targets: dict[str, str] = {}
    for entry in definition.get("secrets") or []:
        if isinstance(entry, str):
            targets[entry] = SECRETS_DIR + entry
        else:
            target = entry.get("target", entry["source"])
            targets[entry["source"]] = target if target.startswith("/") else SECRETS_DIR + target
    return targets


def test_compose_defines_the_gym_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"broker", "postgres", *BACKSPOTTER_SERVICES}
    broker = service(compose, "broker")
    assert broker["image"] == "eclipse-mosquitto:2"
    assert "1883:1883" in broker["ports"], "the hubs reach the broker on the gym server's 1883"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in broker["volumes"]}
    assert (GYM / mounts["/mosquitto/config/mosquitto.conf"]).resolve() == MOSQUITTO_CONF
    assert mounts["/mosquitto/data"] in compose["volumes"], "broker persistence in a volume"
    postgres = service(compose, "postgres")
    assert postgres["image"] == "postgres:16"
    assert "ports" not in postgres, "PostgreSQL stays on the Compose network"
    data = {volume.split(":")[1]: volume.split(":")[0] for volume in postgres["volumes"]}
    assert data["/var/lib/postgresql/data"] in compose["volumes"]


def test_backspotter_services_build_the_image_from_the_repository_root(
    compose: dict[str, Any],
) -> None:
    built = {name for name, item in compose["services"].items() if "build" in item}
    assert built == set(BACKSPOTTER_SERVICES)
    images = set()
    for name in BACKSPOTTER_SERVICES:
        build = service(compose, name)["build"]
        context = (GYM / build["context"]).resolve()
        assert context == REPO, f"{name}: context {context} is not the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE
        images.add(service(compose, name)["image"])
    assert len(images) == 1, f"one image for every Backspotter service, not {images}"


@pytest.mark.parametrize("name", BACKSPOTTER_SERVICES)
def test_every_command_parses_with_the_real_cli(compose: dict[str, Any], name: str) -> None:
    args = parse(argv(service(compose, name)))
    assert args.command == ("dashboard" if name == "dashboard" else "store")


def test_store_consumers_share_one_group_with_stable_distinct_client_ids(
    compose: dict[str, Any],
) -> None:
    parsed = [parse(argv(service(compose, name))) for name in STORE_SERVICES]
    # The default id (GROUP-HOSTNAME) would change whenever Compose recreates the container,
    # abandoning the broker's session and its queued messages: each one names its own.
    client_ids = [args.client_id for args in parsed]
    assert None not in client_ids, "every consumer gives --client-id"
    assert len(set(client_ids)) == len(client_ids), f"client ids collide: {client_ids}"
    assert len({args.group for args in parsed}) == 1, "the consumers share one --group"
    for name in STORE_SERVICES:
        definition = service(compose, name)
        assert definition["restart"] == "unless-stopped"
        depends = definition["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert "broker" in depends


def test_commands_reach_the_broker_and_postgres_by_their_service_names(
    compose: dict[str, Any],
) -> None:
    listener = mosquitto_setting("listener").split()
    postgres_env = environment(service(compose, "postgres"))
    for name in BACKSPOTTER_SERVICES:
        args = parse(argv(service(compose, name)))
        broker = urlsplit(args.mqtt)
        assert (broker.scheme, broker.hostname) == ("mqtt", "broker"), f"{name}: {args.mqtt}"
        assert broker.port == int(listener[0]), f"{name}: not mosquitto.conf's listener port"
        assert isinstance(args.db, PostgresURL), f"{name} must use the shared PostgreSQL"
        db = urlsplit(str(args.db))
        assert (db.hostname, db.port) == ("postgres", 5432)
        assert db.username == postgres_env["POSTGRES_USER"]
        assert db.path.strip("/") == postgres_env["POSTGRES_DB"]
        assert name in STORE_SERVICES or not args.no_mqtt, "the live page follows the broker"


def test_postgres_is_healthy_only_when_it_answers_over_tcp(compose: dict[str, Any]) -> None:
    postgres = service(compose, "postgres")
    check = postgres["healthcheck"]["test"]
    assert check[0] == "CMD" and check[1] == "pg_isready"
    # The image's first-start server listens on its Unix socket only: a socket check would
    # pass before the real server is up.
    assert check[check.index("-h") + 1] == "127.0.0.1"
    env = environment(postgres)
    assert check[check.index("-U") + 1] == env["POSTGRES_USER"]
    assert check[check.index("-d") + 1] == env["POSTGRES_DB"]


def test_dashboard_listens_on_its_published_port_behind_a_password(
    compose: dict[str, Any],
) -> None:
    dashboard = service(compose, "dashboard")
    args = parse(argv(dashboard))
    assert args.address == "0.0.0.0"
    assert f"{args.port}:{args.port}" in dashboard["ports"]
    assert args.password_file is not None, "listening beyond localhost needs a password"
    assert str(args.password_file) in secret_targets(dashboard).values()


def test_no_password_in_any_command_or_environment(compose: dict[str, Any]) -> None:
    declared = set(compose["secrets"])
    for name, definition in compose["services"].items():
        mounted = secret_targets(definition)
        for key, value in environment(definition).items():
            assert key not in PASSWORD_VARIABLES, f"{name}: {key} would hold a password"
            if re.search("PASS|SECRET|TOKEN", key):
                # Only pointers to a file: *_FILE for the images, PGPASSFILE for libpq.
                assert key.endswith("_FILE") or key == "PGPASSFILE", f"{name}: {key}"
                secret = value.removeprefix(SECRETS_DIR)
                assert value.startswith(SECRETS_DIR) and secret in declared, f"{name}: {key}"
                assert mounted.get(secret) == value, f"{name}: {key} names an unmounted secret"
        if "command" not in definition:
            continue
        for arg in argv(definition):
            assert urlsplit(arg).password is None, f"{name}: a password in {arg!r}"
            assert not arg.startswith("--password") or arg == "--password-file", name
        if isinstance(parse(argv(definition)).db, PostgresURL):
            env = environment(definition)
            assert "PGPASSFILE" in env, f"{name} needs PGPASSFILE for the PostgreSQL password"


def test_every_secret_is_declared_and_kept_out_of_git(compose: dict[str, Any]) -> None:
    declared: dict[str, Any] = compose["secrets"]
    used = set()
    for name, definition in compose["services"].items():
        for secret in secret_targets(definition):
            assert secret in declared, f"{name} uses the undeclared secret {secret!r}"
            used.add(secret)
    assert used == set(declared), f"declared but unused: {set(declared) - used}"
    for secret, spec in declared.items():
        path = (GYM / spec["file"]).resolve()
        assert path.parent == GYM / "secrets", f"{secret}: {path} is not under docs/gym/secrets"
        ignored = subprocess.run(
            ["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", str(path)], check=False
        )
        assert ignored.returncode == 0, f"git would commit {path}"


# --- docs/gym/mosquitto.conf ------------------------------------------------------------------


def mosquitto_setting(name: str) -> str:
    """The value of a setting given once, uncommented, in mosquitto.conf."""
    values = [
        line.split(None, 1)[1]
        for line in MOSQUITTO_CONF.read_text().splitlines()
        if line.split(None, 1)[:1] == [name]
    ]
    assert len(values) == 1, f"mosquitto.conf sets {name} {len(values)} time(s)"
    return values[0].strip()


def run_conf(workdir: Path, text: str) -> MosquittoBroker:
    """``text`` (mosquitto.conf) on a free port, persisting into ``workdir``; not started."""
    broker = MosquittoBroker(workdir)
    rewritten, listeners = re.subn(r"(?m)^listener 1883$", f"listener {broker.port}", text)
    rewritten, locations = re.subn(
        r"(?m)^persistence_location .*$", f"persistence_location {workdir}/", rewritten
    )
    assert (listeners, locations) == (1, 1), "mosquitto.conf changed shape: update this test"
    # Started as root (as in CI), Mosquitto switches to the user "mosquitto", which cannot
    # write the persistence file in pytest's directory; naming the current user avoids that.
    broker.config.write_text(f"{rewritten}\nuser {getpass.getuser()}\n")
    return broker


def test_mosquitto_conf_shares_a_subscription_in_the_real_mosquitto(tmp_path: Path) -> None:
    assert Path(MOSQUITTO).exists()
    broker = run_conf(tmp_path, MOSQUITTO_CONF.read_text())
    broker.start()
    shared = "$share/g/backspotter/v1/+/events/#"
    consumers: list[Subscriber] = []
    publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    try:
        consumers += [
            Subscriber(broker.host, broker.port, shared, session=f"store-{n}") for n in (1, 2)
        ]
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        sent = [f"event-{n}" for n in range(20)]
        for payload in sent:
            info = publisher.publish("backspotter/v1/alice/events/rep", payload, qos=1)
            info.wait_for_publish(_TIMEOUT_S)

        def received() -> list[str]:
            return [m.payload.decode() for c in consumers for m in c.messages]

        wait_until(lambda: len(received()) >= len(sent), _TIMEOUT_S, "20 shared messages")
        assert sorted(received()) == sorted(sent), "each message exactly once across the group"
        assert all(c.messages for c in consumers), "both consumers got a share"
        assert all(m.qos == 1 for c in consumers for m in c.messages)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        for consumer in consumers:
            consumer.close()
        broker.stop()
    assert broker.database.exists(), "persistence on: the broker wrote its file when stopped"


def connack(broker: MosquittoBroker, username: str | None, password: str | None) -> ReasonCode:
    """The broker's answer to an MQTT 5 CONNECT with these credentials."""
    answers: list[ReasonCode] = []
    done = threading.Event()

    def on_connect(client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        answers.append(reason)
        done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_connect = on_connect
    if username is not None:
        client.username_pw_set(username, password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(_TIMEOUT_S), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return answers[0]


def test_mosquitto_conf_password_alternative_refuses_anonymous_clients(tmp_path: Path) -> None:
    text = MOSQUITTO_CONF.read_text()
    # The alternative as the comment shows it, uncommented in place of allow_anonymous true.
    alternative = re.findall(r"(?m)^#\s+(allow_anonymous false|password_file \S+)$", text)
    assert len(alternative) == 2, f"mosquitto.conf shows no password alternative: {alternative}"
    passwords = tmp_path / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "hub", "hub-secret"], check=True
    )
    secured = re.sub(
        r"(?m)^password_file \S+$", f"password_file {passwords}", "\n".join(alternative)
    )
    text, replaced = re.subn(r"(?m)^allow_anonymous true$", secured, text)
    assert replaced == 1
    broker = run_conf(tmp_path, text)
    broker.start()
    try:
        assert connack(broker, None, None).is_failure, "anonymous clients are refused"
        assert connack(broker, "hub", "wrong").is_failure
        assert not connack(broker, "hub", "hub-secret").is_failure
    finally:
        broker.stop()


def test_broker_keeps_sessions_as_long_as_the_consumers_ask() -> None:
    expiration = mosquitto_setting("persistent_client_expiration")
    units_s = {"h": 3600, "d": 86400, "w": 7 * 86400}
    seconds = int(expiration[:-1]) * units_s[expiration[-1]]
    default = {f.name: f.default for f in fields(ConsumerConfig)}["session_expiry_s"]
    assert seconds == default, f"{expiration} is not the consumers' session expiry {default} s"


# --- docs/gym/Dockerfile ----------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, ``(KEYWORD, arguments)``, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_installs_the_project_on_python_3_11_as_a_non_root_user() -> None:
    steps = instructions()
    assert steps[0][0] == "FROM" and steps[0][1].startswith("python:3.11-"), steps[0]
    runs = " && ".join(args for keyword, args in steps if keyword == "RUN")
    copied = {args.split()[-1].rstrip("/") for keyword, args in steps if keyword == "COPY"}
    installs = re.findall(r"pip install (\S+)", runs)
    assert installs and all(target in copied for target in installs), installs
    assert "[dev]" not in runs and "-e " not in runs, "no dev extras, no editable install"
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users, "the image runs as a non-root user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert json.loads(dict(steps)["ENTRYPOINT"]) == ["backspotter"]


def test_dockerfile_copies_everything_pip_install_reads() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= {
        pattern.rstrip("*")
        for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied: set[str] = set()
    for keyword, args in instructions():
        if keyword == "COPY":
            sources = args.split()[:-1]
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            copied.update(sources)
    assert needed <= copied, f"pip install . also needs {needed - copied}"


# --- docs/deploy-gym.md -----------------------------------------------------------------------


def shell_blocks() -> list[str]:
    """The ```sh blocks of the doc, each with its continuation lines joined."""
    blocks = re.findall(r"(?ms)^\s*```sh\n(.*?)^\s*```", DOC.read_text())
    return [re.sub(r"\\\n\s*", " ", block) for block in blocks]


def test_doc_hub_command_parses_with_the_real_cli() -> None:
    commands = [
        shlex.split(line)
        for block in shell_blocks()
        for line in block.splitlines()
        if line.strip().startswith("backspotter run")
    ]
    assert commands, "deploy-gym.md shows the hub command"
    for command in commands:
        args = parse(command[1:])
        assert args.no_db and args.await_store, "a gym hub keeps no store and awaits the store"
        assert urlsplit(args.mqtt).port == int(mosquitto_setting("listener").split()[0])
        assert len(args.lifter_groups) >= 2, "the example shows several lifters on one hub"


def test_doc_and_compose_give_the_same_one_command() -> None:
    assert START_COMMAND in COMPOSE.read_text()
    assert START_COMMAND in DOC.read_text()


def test_doc_secret_recipe_makes_the_files_compose_mounts(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    recipe = next(block for block in shell_blocks() if "docs/gym/secrets" in block)
    # Run as written, from a stand-in repository root, except the chown: it needs root and a
    # user 10001 (checked against the Dockerfile below instead).
    chown = [line for line in recipe.splitlines() if "chown" in line]
    assert len(chown) == 1
    uid = re.search(r"chown (\d+):", chown[0])
    users = [args for keyword, args in instructions() if keyword == "USER"]
    assert uid and users[-1].split(":")[0] == uid.group(1), "chown to the image's user"
    script = recipe.replace(chown[0], "")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        input="coach password\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    secrets = tmp_path / "docs" / "gym" / "secrets"
    expected = {Path(spec["file"]).name for spec in compose["secrets"].values()}
    assert {path.name for path in secrets.iterdir()} == expected
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} readable by others"
    password = (secrets / "postgres_password").read_text().strip()
    host, port, db, user, pgpass_password = (secrets / "pgpass").read_text().strip().split(":")
    assert pgpass_password == password, "pgpass holds the password PostgreSQL was created with"
    url = urlsplit(str(parse(argv(service(compose, "store-1"))).db))
    assert (host, int(port), db, user) == (
        url.hostname,
        url.port,
        url.path.strip("/"),
        url.username,
    )
    assert (secrets / "dashboard_password").read_text().splitlines()[0] == "coach password"


def test_doc_links_point_to_files_in_the_repository() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", DOC.read_text())
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "the doc links the deployment files"
    for link in local:
        assert (DOC.parent / link).exists(), f"deploy-gym.md links {link}, not in the repository"
