"""Dashboard settings, passed from ``backspotter dashboard`` to the Streamlit app by environment.

Environment variables (rather than command-line arguments) keep the broker URL, which may hold
credentials, and the dashboard password out of ``ps`` listings, and work the same under
``streamlit run`` and Streamlit's ``AppTest``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from processing.store.location import StoreLocation, parse_location
from processing.wire.mqtt_url import DEFAULT_URL

DB_ENV = "BACKSPOTTER_DB"
MQTT_ENV = "BACKSPOTTER_MQTT"
PASSWORD_ENV = "BACKSPOTTER_DASHBOARD_PASSWORD"


@dataclass(frozen=True)
class DashboardSettings:
    """Where the dashboard reads from, and the password that guards it (if any)."""

    #: The session store: an SQLite file or a PostgreSQL database.
    db: StoreLocation
    #: Broker of the live page; None switches the live page's feed off.
    mqtt_url: str | None
    password: str | None = field(default=None, repr=False)


def settings_from_env(environ: Mapping[str, str] = os.environ) -> DashboardSettings:
    """Settings from ``BACKSPOTTER_DB``, ``BACKSPOTTER_MQTT`` (empty: off) and the password."""
    from processing.store.reader import default_db_path

    db_text = environ.get(DB_ENV)
    mqtt_text = environ.get(MQTT_ENV, DEFAULT_URL)
    return DashboardSettings(
        db=parse_location(db_text) if db_text else default_db_path(),
        mqtt_url=mqtt_text or None,
        password=environ.get(PASSWORD_ENV) or None,
    )
