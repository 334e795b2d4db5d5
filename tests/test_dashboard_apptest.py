"""Every dashboard page under Streamlit's AppTest, against a session store filled by replaying
real fixtures through the live service (the path ``backspotter replay`` takes), and the live
page against a real Mosquitto the service publishes to.

Expected values come from the store's own read API and the fixtures' truth files, never from
the dashboard's code.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import plotly.io
import pytest
from brokers import MosquittoBroker, wait_until
from streamlit.testing.v1 import AppTest

from dashboard.config import DB_ENV, MQTT_ENV, PASSWORD_ENV
from dashboard.data import shared_store
from dashboard.live_feed import shared_feed
from processing.commands.replay import replay_url
from processing.live.outbox import outbox_path_for
from processing.live.service import LifterSpec, Service, ServiceConfig
from processing.store.reader import SessionDetail, SessionStore, StoredRep
from processing.wire.mqtt_url import BrokerURL
from sensor.recording import read_truth

ROOT = Path(__file__).parents[1]
APP = ROOT / "dashboard" / "app.py"
FIXTURES = ROOT / "fixtures"
BACKSPOTTER = str(Path(sys.executable).parent / "backspotter")
#: lifter -> fixture replayed for them
SEEDS = {"alice": "random_seed_110", "bob": "dual_sumo_rotated"}
_BIG_NUMBER = re.compile(r'bs-label">([^<]*)</div><div class="bs-\w+ bs-value">([^<]*)</div>')


@dataclass(frozen=True)
class Seeded:
    """A store with one replayed session per lifter."""

    db: Path
    session_ids: dict[str, str]


def replay(lifters: dict[str, str], db: Path, mqtt_url: str | None = None) -> None:
    """Replay each lifter's fixture at full speed through the service into ``db``."""
    specs = tuple(
        LifterSpec(name, (replay_url(FIXTURES / f"{fixture}.csv.gz", "max"),))
        for name, fixture in lifters.items()
    )
    config = ServiceConfig(
        specs,
        mqtt_url=None if mqtt_url is None else BrokerURL.parse(mqtt_url),
        db=db,
        outbox_path=outbox_path_for(db),
        embedded_broker=False,
    )
    asyncio.run(Service(config).run())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The fixtures of ``SEEDS`` replayed into a fresh store."""
    db = tmp_path_factory.mktemp("dashboard") / "sessions.sqlite3"
    replay(SEEDS, db)
    with SessionStore(db) as store:
        ids = {s.lifter: s.id for s in store.list_sessions()}
    yield Seeded(db, ids)
    shared_store.clear()


@pytest.fixture
def store(seeded: Seeded) -> Iterator[SessionStore]:
    """A reader of the seeded store, independent of the dashboard's."""
    with SessionStore(seeded.db) as reader:
        yield reader


def open_page(page: str, db: Path, mqtt_url: str = "", **query: str) -> AppTest:
    """The app on ``views/<page>.py`` with ``?query``, reading ``db`` (MQTT off unless given)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DB_ENV, str(db))
        env.setenv(MQTT_ENV, mqtt_url)
        app = AppTest.from_file(str(APP), default_timeout=60).run()
        app.switch_page(f"views/{page}.py")
        app.query_params.update(query)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def rerun(app: AppTest, db: Path, mqtt_url: str = "") -> AppTest:
    """Run the app again with the same environment."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DB_ENV, str(db))
        env.setenv(MQTT_ENV, mqtt_url)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def big_numbers(app: AppTest) -> dict[str, str]:
    """Label -> value of every large number on the page."""
    return {label: value for m in app.markdown for label, value in _BIG_NUMBER.findall(m.value)}


def figures(app: AppTest) -> list[plotly.graph_objects.Figure]:
    """The Plotly figures on the page, decoded."""
    return [plotly.io.from_json(chart.proto.spec) for chart in app.get("plotly_chart")]


def reps_of(detail: SessionDetail) -> list[StoredRep]:
    """Every rep of a stored session."""
    return [rep for lift_set in detail.sets for rep in lift_set.reps]


def test_the_seeded_sessions_match_the_fixtures_truth(store: SessionStore, seeded: Seeded) -> None:
    for lifter, fixture in SEEDS.items():
        truth = read_truth(FIXTURES / f"{fixture}.csv.gz")
        assert truth is not None
        summary = store.get_session(seeded.session_ids[lifter]).summary
        assert summary.sets == len(truth["sets"])
        assert summary.reps == sum(len(s["reps"]) for s in truth["sets"])


def test_sessions_page_lists_every_session_with_its_worst_rep(
    seeded: Seeded, store: SessionStore
) -> None:
    app = open_page("sessions", seeded.db)
    rows = app.dataframe[0].value
    assert list(rows["Lifter"]) == [s.lifter for s in store.list_sessions()]
    for _, row in rows.iterrows():
        detail = store.get_session(seeded.session_ids[row["Lifter"]])
        assert (row["Sets"], row["Reps"], row["Alerts"]) == (
            detail.summary.sets,
            detail.summary.reps,
            detail.summary.alerts,
        )
        worst = max(reps_of(detail), key=lambda r: r.peak_flexion_deg or -1e9)
        assert row["Worst rep"] == (
            f"set {worst.set_number} rep {worst.number}: {worst.peak_flexion_deg:.1f}°"
        )


def test_sessions_page_filters_by_lifter_and_date(seeded: Seeded, store: SessionStore) -> None:
    app = open_page("sessions", seeded.db)
    app.selectbox(key="sessions-lifter").set_value("bob")
    rerun(app, seeded.db)
    assert list(app.dataframe[0].value["Lifter"]) == ["bob"]

    day = store.list_sessions()[0].started_at.date()
    app.date_input(key="sessions-dates").set_value((day - timedelta(days=9), day - timedelta(1)))
    rerun(app, seeded.db)
    assert not app.dataframe
    assert "No sessions match" in app.info[0].value


def test_session_page_shows_trace_threshold_rep_markers_and_a_table_per_set(
    seeded: Seeded, store: SessionStore
) -> None:
    session_id = seeded.session_ids["bob"]
    detail = store.get_session(session_id)
    app = open_page("session", seeded.db, session=session_id)
    numbers = big_numbers(app)
    assert (numbers["Sets"], numbers["Reps"]) == (
        str(detail.summary.sets),
        str(detail.summary.reps),
    )

    trace_figure = figures(app)[0]
    threshold = detail.summary.threshold_deg
    assert threshold is not None
    assert any(s.type == "line" and s.y0 == threshold for s in trace_figure.layout.shapes)
    assert any(s.type == "rect" and s.y0 == threshold for s in trace_figure.layout.shapes)
    # One numbered marker per rep; those with a measured peak sit on it.
    markers = [t for t in trace_figure.data if t.mode == "markers+text"]
    reps = reps_of(detail)
    assert sorted(int(n) for t in markers for n in t.text) == sorted(r.number for r in reps)
    assert list(markers[0].y) == [
        r.peak_flexion_deg for r in reps if r.peak_flexion_deg is not None
    ]
    assert trace_figure.layout.xaxis.title.text == "Session time (s)"
    assert trace_figure.layout.yaxis.title.text == "Lumbar flexion (°)"

    rep_tables = app.table[: len(detail.sets)]
    for table, lift_set in zip(rep_tables, detail.sets, strict=True):
        rows = table.value
        assert list(rows["Rep"]) == [r.number for r in lift_set.reps]
        assert list(rows["Peak lumbar flexion (°)"]) == [
            round(r.peak_flexion_deg or 0, 1) for r in lift_set.reps
        ]
        assert list(rows["Concentric (s)"]) == [round(r.concentric_s, 2) for r in lift_set.reps]
        assert list(rows["Alert"] == "ALERT") == [r.flexion_alert for r in lift_set.reps]


def test_session_page_names_the_first_rep_over_the_threshold_beside_the_slowing(
    seeded: Seeded, store: SessionStore
) -> None:
    session_id = seeded.session_ids["bob"]
    detail = store.get_session(session_id)
    app = open_page("session", seeded.db, session=session_id)
    fatigue = app.table[len(detail.sets)].value
    for (_, row), lift_set in zip(fatigue.iterrows(), detail.sets, strict=True):
        first_over = [r.number for r in lift_set.reps if r.flexion_alert][:1]
        assert row["First rep over threshold"] == (f"rep {first_over[0]}" if first_over else "none")
        assert row["Rep 1 concentric (s)"] == f"{lift_set.reps[0].concentric_s:.2f}"
    concentric = figures(app)[1]
    assert concentric.layout.yaxis.title.text == "Concentric time (s)"


def test_session_page_offers_csv_and_json_downloads(seeded: Seeded) -> None:
    app = open_page("session", seeded.db, session=seeded.session_ids["alice"])
    labels = [getattr(button, "label", None) for button in app.get("download_button")]
    assert labels == ["Reps (CSV)", "Whole session (JSON)"]


def test_progress_page_logs_soreness_and_plots_it_beside_the_sessions(
    seeded: Seeded, store: SessionStore
) -> None:
    app = open_page("progress", seeded.db)
    app.selectbox(key="progress-lifter").set_value("alice")
    rerun(app, seeded.db)
    app.slider(key="score").set_value(7)
    app.text_input(key="note").input("stiff left side")
    next(b for b in app.button if b.label == "Log soreness").click()
    rerun(app, seeded.db)

    logged = store.soreness_for(lifter="alice")
    assert [(e.session_id, e.score, e.note) for e in logged] == [
        (seeded.session_ids["alice"], 7, "stiff left side")
    ]
    progress = figures(app)[0]
    soreness = next(t for t in progress.data if t.name == "soreness")
    assert list(soreness.y) == [7]
    worst = next(t for t in progress.data if t.name == "worst rep")
    summary = store.get_session(seeded.session_ids["alice"]).summary
    assert list(worst.y) == [summary.peak_flexion_deg]
    assert "stiff left side" in app.table[0].value.to_string()


@pytest.fixture
def live_feeds() -> Iterator[None]:
    """Close the dashboard's MQTT subscribers after the test."""
    yield
    shared_feed.clear()


def wait_for_session_on_live_page(app: AppTest, db: Path, mqtt_url: str, stored_db: Path) -> None:
    """Rerun the live page until it shows the whole session stored in ``stored_db``."""
    with SessionStore(stored_db) as store:
        stored = store.list_sessions()[0]

    def shows_the_whole_session() -> bool:
        numbers = big_numbers(rerun(app, db, mqtt_url))
        return numbers.get("Reps this session") == str(stored.reps)

    wait_until(shows_the_whole_session, 30, f"{stored.reps} reps on the live page")
    numbers = big_numbers(app)
    assert numbers["Set"] == str(stored.sets)
    assert f"Alerts this session: {stored.alerts}" in " ".join(m.value for m in app.markdown)
    gauge = figures(app)[0]
    assert gauge.data[0].gauge.threshold.value == stored.threshold_deg


def open_live_page(db: Path, mqtt_url: str, lifter: str) -> AppTest:
    """The live page of ``lifter``, once its feed is connected."""
    app = open_page("live", db, mqtt_url, lifter=lifter)
    wait_until(lambda: "connected" in _status(rerun(app, db, mqtt_url)), 30, "the feed to connect")
    return app


@pytest.mark.usefixtures("live_feeds")
def test_live_page_follows_a_replay_over_mqtt_alone(
    mosquitto: MosquittoBroker, unique_lifter: str, tmp_path: Path
) -> None:
    # The dashboard reads an empty store: everything it shows came over MQTT.
    empty, service_db = tmp_path / "dashboard.sqlite3", tmp_path / "service.sqlite3"
    app = open_live_page(empty, mosquitto.url, unique_lifter)
    replay({unique_lifter: SEEDS["alice"]}, service_db, mosquitto.url)
    wait_for_session_on_live_page(app, empty, mosquitto.url, service_db)


@pytest.mark.usefixtures("live_feeds")
def test_live_page_started_after_the_session_catches_up_from_the_store(
    mosquitto: MosquittoBroker, unique_lifter: str, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite3"
    replay({unique_lifter: SEEDS["alice"]}, db, mosquitto.url)
    # Only the retained status is left on the broker; it names the session to read back.
    app = open_live_page(db, mosquitto.url, unique_lifter)
    wait_for_session_on_live_page(app, db, mosquitto.url, db)


@pytest.mark.usefixtures("live_feeds")
def test_live_page_recovers_by_itself_when_the_broker_restarts(
    mosquitto: MosquittoBroker, unique_lifter: str, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite3"
    app = open_live_page(db, mosquitto.url, unique_lifter)
    try:
        mosquitto.kill()
        wait_until(lambda: "connecting" in _status(rerun(app, db, mosquitto.url)), 30, "outage")
    finally:
        mosquitto.start()
    replay({unique_lifter: SEEDS["alice"]}, db, mosquitto.url)
    wait_for_session_on_live_page(app, db, mosquitto.url, db)


def _status(app: AppTest) -> str:
    """The live page's status line."""
    return next((m.value for m in app.markdown if "bs-status" in m.value), "")


def test_downloaded_json_holds_the_stored_session(seeded: Seeded, store: SessionStore) -> None:
    from dashboard.data import session_json

    session_id = seeded.session_ids["alice"]
    document = json.loads(session_json(store.get_session(session_id), store.get_trace(session_id)))
    assert [e["seq"] for e in document["events"]] == list(range(1, len(document["events"]) + 1))
    assert (
        sum(len(s["reps"]) for s in document["sets"]) == store.get_session(session_id).summary.reps
    )


def test_a_configured_password_is_asked_for_before_any_page(seeded: Seeded) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DB_ENV, str(seeded.db))
        env.setenv(MQTT_ENV, "")
        env.setenv(PASSWORD_ENV, "correct horse")
        app = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not app.dataframe and not app.get("plotly_chart")
        app.text_input[0].input("wrong")
        app.button[0].click().run()
        assert app.error[0].value == "Wrong password."
        app.text_input[0].input("correct horse")
        app.button[0].click().run()
        app.switch_page("views/sessions.py").run()
    assert not app.text_input
    assert len(app.dataframe[0].value) == len(SEEDS)


def test_listening_beyond_localhost_without_a_password_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    command = [BACKSPOTTER, "dashboard", "--address", "0.0.0.0", "--db", str(tmp_path / "s.db")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "set a password first" in result.stderr
    assert not (tmp_path / "s.db").exists()
