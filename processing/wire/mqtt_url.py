"""``mqtt://`` and ``mqtts://`` broker URLs, with credentials kept out of logs and reprs."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

#: Environment variable read for the password when the URL names a user but no password,
#: so the password need not appear on the command line (where ``ps`` shows it).
PASSWORD_ENV = "BACKSPOTTER_MQTT_PASSWORD"
#: ...or a file named by this variable, whose first line is the password (a container secret).
PASSWORD_FILE_ENV = "BACKSPOTTER_MQTT_PASSWORD_FILE"
DEFAULT_URL = "mqtt://localhost:1883"
_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class _LoginClient(Protocol):
    """The part of paho's client that :meth:`BrokerURL.log_in` uses (this package has no
    paho import)."""

    def username_pw_set(self, username: str | None, password: str | None = None) -> None:
        """Set the credentials."""

    def tls_set(self, ca_certs: str | None = None) -> object:
        """Use TLS, trusting ``ca_certs`` (the system's CAs when None)."""


@dataclass(frozen=True)
class BrokerURL:
    """Where the broker is and how to log in; ``str()`` and ``repr()`` hide the credentials."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @classmethod
    def parse(cls, url: str, environ: Mapping[str, str] = os.environ) -> BrokerURL:
        """Parse ``mqtt[s]://[user[:password]@]host[:port][?ca=FILE]``.

        Error messages never quote the URL, since it may hold a password.
        """
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("MQTT URL has no host")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError("MQTT URL has an invalid port") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if username is not None and password is None:
            password = environ.get(PASSWORD_ENV) or _password_from_file(environ)
        ca = parse_qs(parts.query).get("ca")
        ca_file = Path(ca[-1]) if ca else None
        return cls(parts.scheme, parts.hostname, port, username, password, ca_file)

    @property
    def tls(self) -> bool:
        """True for ``mqtts://``."""
        return self.scheme == "mqtts"

    def log_in(self, client: _LoginClient) -> None:
        """Give an MQTT client (paho's) this URL's credentials and TLS settings."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=None if self.ca_file is None else str(self.ca_file))

    def is_loopback(self) -> bool:
        """True when the broker would run on this machine (where one may be started)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        """The URL for logs: user and password replaced by ``***``."""
        login = "***@" if self.username or self.password else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{login}{host}:{self.port}"

    def __repr__(self) -> str:
        """Same as ``str()``: reprs end up in logs and tracebacks too."""
        return f"BrokerURL({str(self)!r})"


def _password_from_file(environ: Mapping[str, str]) -> str | None:
    """The first line of the file ``BACKSPOTTER_MQTT_PASSWORD_FILE`` names, if it names one."""
    path = environ.get(PASSWORD_FILE_ENV)
    if not path:
        return None
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise ValueError(f"cannot read {PASSWORD_FILE_ENV} {path}: {error.strerror}") from None
    return lines[0].strip() if lines else None
