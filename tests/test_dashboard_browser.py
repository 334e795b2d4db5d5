"""The dashboard in a real browser: Mosquitto, ``backspotter replay`` and ``backspotter
dashboard`` as real processes, Debian's Chromium driven by Playwright.

The live page must count the fixture's true number of reps as the replay streams, and the
session page must list every rep the store holds. Screenshots land in
``artifacts/screenshots/`` (kept by CI) for a human to look at.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from brokers import MosquittoBroker, free_port, port_accepts, wait_until
from browsers import SCREENSHOTS
from playwright.sync_api import Browser, Page, ViewportSize, expect

from processing.store.reader import SessionStore, StoredSet
from sensor.recording import read_truth

ROOT = Path(__file__).parents[1]
BACKSPOTTER = str(Path(sys.executable).parent / "backspotter")
FIXTURE = ROOT / "fixtures" / "random_seed_110.csv.gz"
#: 93 s of recording in about 9 s.
REPLAY_SPEED = "10"
DESKTOP = ViewportSize(width=1280, height=900)
#: A phone propped up sideways against the wall.
PHONE_LANDSCAPE = ViewportSize(width=844, height=390)
#: The same phone held upright.
PHONE_PORTRAIT = ViewportSize(width=390, height=844)
_TIMEOUT_MS = 40_000


@dataclass(frozen=True)
class Dashboard:
    """A running ``backspotter dashboard``."""

    url: str
    db: Path
    port: int


def healthy(port: int) -> bool:
    """Streamlit's health endpoint answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def dashboard(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[Dashboard]:
    """``backspotter dashboard`` on a free port, reading a fresh store, following Mosquitto."""
    port, db = free_port(), tmp_path / "sessions.sqlite3"
    command = [BACKSPOTTER, "dashboard", "--port", str(port), "--db", str(db)]
    server_log = tmp_path / "dashboard.log"
    # Streamlit logs a page's exception on the server and may still draw the page: the log
    # is where a traceback shows up, so it is kept and read.
    with server_log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--mqtt", mosquitto.url], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: healthy(port) or process.poll() is not None, 60, "the dashboard")
        assert process.poll() is None, f"backspotter dashboard exited with {process.returncode}"
        yield Dashboard(f"http://127.0.0.1:{port}/", db, port)
    finally:
        process.terminate()
        assert process.wait(15) == 0
    assert not port_accepts("127.0.0.1", port), "Streamlit outlived backspotter dashboard"
    assert_clean_log(server_log.read_text(errors="replace"))


#: How Streamlit's server reports a browser tab that closed or moved on while it was still
#: sending to it (a page navigating away, a test ending): a race inside Starlette's websocket
#: code, not an error of the dashboard.
_SOCKET_CLOSED = "starlette.websockets.WebSocketDisconnected: "
_ASGI_EXCEPTION = "Exception in ASGI application"


def assert_clean_log(text: str) -> None:
    """Fail on any traceback or error the dashboard server logged, showing the whole log."""
    kept = [block for block in text.split(_ASGI_EXCEPTION) if not _socket_closed(block)]
    bad = [line for b in kept for line in b.splitlines() if "Traceback" in line or "Error" in line]
    assert not bad, f"the dashboard server logged errors:\n{text}"


def _socket_closed(block: str) -> bool:
    """Whether a logged ASGI exception is only a websocket the browser had closed: every
    exception it chains is Starlette's disconnect, and no frame is this project's code."""
    lines = block.splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    closed = sum(line.startswith(_SOCKET_CLOSED) for line in lines)
    other = [
        line
        for line in lines
        if ("Error" in line or "Exception" in line)
        and not line.startswith((" ", _SOCKET_CLOSED, "During handling"))
    ]
    ours = any(f"{ROOT / part}" in block for part in ("dashboard", "processing", "sensor"))
    return 0 < tracebacks == closed and not other and not ours


def test_the_log_check_catches_a_traceback() -> None:
    assert_clean_log("Uvicorn server started\nBackspotter dashboard: open http://x/\n")
    for line in ("Traceback (most recent call last):", "pyarrow.lib.ArrowTypeError: bad"):
        with pytest.raises(AssertionError):
            assert_clean_log(f"started\n{line}\n")


def test_the_log_check_lets_a_closed_tab_pass_but_nothing_after_it() -> None:
    closed = (
        f"{_ASGI_EXCEPTION}\nTraceback (most recent call last):\n"
        '  File "/venv/starlette/websockets.py", line 131, in receive_bytes\n'
        f"{_SOCKET_CLOSED}WebSocket is not connected.\n"
    )
    assert_clean_log(f"started\n{closed}")
    ours = closed.replace("/venv/starlette", f"{ROOT / 'dashboard'}")
    then = f"{closed}Traceback (most recent call last):\nStopIteration\n"
    for log in (f"{closed}pyarrow.lib.ArrowTypeError: bad\n", ours, then):
        with pytest.raises(AssertionError):
            assert_clean_log(f"started\n{log}")


def shoot(page: Page, name: str) -> None:
    """Save a screenshot of the whole page (Streamlit scrolls inside, so grow the viewport)."""
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return main.getBoundingClientRect().top + main.scrollHeight; }"
    )
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    page.set_viewport_size(ViewportSize(width=width, height=min(int(height), 4000)))
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def big_value(page: Page, key: str) -> str:
    """The text of a large number by its container key."""
    return page.locator(f".st-key-{key} .bs-value").inner_text()


def start_replay(mqtt_url: str, db: Path, lifter: str, log: Path) -> subprocess.Popen[bytes]:
    """``backspotter replay`` of the fixture as a real process, output into ``log``."""
    command = [BACKSPOTTER, "replay", str(FIXTURE), "--speed", REPLAY_SPEED, "--lifter", lifter]
    options = ["--mqtt", mqtt_url, "--db", str(db), "--no-embedded-broker", "--cue", "off"]
    with log.open("wb") as out:
        return subprocess.Popen([*command, *options], stdout=out, stderr=subprocess.STDOUT)


def true_rep_count() -> int:
    """The fixture's number of reps according to its truth file."""
    truth = read_truth(FIXTURE)
    assert truth is not None
    return sum(len(s["reps"]) for s in truth["sets"])


def test_live_page_counts_the_true_reps_and_the_session_page_lists_them(
    dashboard: Dashboard,
    browser: Browser,
    mosquitto: MosquittoBroker,
    unique_lifter: str,
    tmp_path: Path,
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(_TIMEOUT_MS)
    page.goto(f"{dashboard.url}?lifter={unique_lifter}")
    expect(page.locator(".st-key-live-status")).to_contain_text(": connected", timeout=_TIMEOUT_MS)

    replay = start_replay(mosquitto.url, dashboard.db, unique_lifter, tmp_path / "replay.log")
    try:
        page.wait_for_function(
            "() => Number(document.querySelector('.st-key-live-total-reps .bs-value')"
            "?.textContent) >= 2"
        )
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=_TIMEOUT_MS)
        shoot(page, "live_mid_session")
        page.set_viewport_size(DESKTOP)
        expected = true_rep_count()
        expect(page.locator(".st-key-live-total-reps .bs-value")).to_have_text(
            str(expected), timeout=_TIMEOUT_MS
        )
        assert replay.wait(30) == 0, (tmp_path / "replay.log").read_text()
    finally:
        replay.kill()
    expect(page.get_by_text("Session ended")).to_be_visible(timeout=_TIMEOUT_MS)
    shoot(page, "live_session_end")
    _phone_view(browser, dashboard.url, unique_lifter, expected)

    with SessionStore(dashboard.db) as store:
        session = store.list_sessions(unique_lifter)[0]
        sets = store.get_session(session.id).sets
    assert session.reps == expected
    assert big_value(page, "live-set") == str(session.sets)
    check_session_page(page, dashboard.url, session.id, sets)


def _phone_view(browser: Browser, url: str, lifter: str, reps: int) -> None:
    """The live page on a phone held sideways and upright: the angle's number never overlaps
    the gauge's arc (on a narrow screen it did, in a font sized in pixels)."""
    for viewport, name in ((PHONE_LANDSCAPE, "landscape"), (PHONE_PORTRAIT, "portrait")):
        phone = browser.new_page(viewport=viewport)
        phone.set_default_timeout(_TIMEOUT_MS)
        phone.goto(f"{url}?lifter={lifter}")
        expect(phone.locator(".st-key-live-total-reps .bs-value")).to_have_text(
            str(reps), timeout=_TIMEOUT_MS
        )
        arc = phone.locator(".js-plotly-plot").first
        expect(arc).to_be_visible(timeout=_TIMEOUT_MS)
        arc_box = arc.locator(".indicatorlayer").bounding_box()
        number_box = phone.locator(".st-key-live-angle .bs-value").bounding_box()
        assert arc_box is not None and number_box is not None
        assert number_box["y"] >= arc_box["y"] + arc_box["height"] - 1, (arc_box, number_box)
        phone.screenshot(path=SCREENSHOTS / f"live_phone_{name}.png")
        phone.close()


def check_session_page(
    page: Page, url: str, session_id: str, sets: tuple[StoredSet, ...], shots: str = ""
) -> None:
    """Selecting the session on the Sessions page opens it; every stored rep is in its table
    (screenshots named with the prefix ``shots``)."""
    page.set_viewport_size(DESKTOP)
    page.goto(f"{url}sessions")
    table = page.locator("[data-testid='stDataFrame']")
    expect(table).to_be_visible(timeout=_TIMEOUT_MS)
    shoot(page, f"{shots}sessions")
    page.set_viewport_size(DESKTOP)
    # The grid is a canvas: click the first row's selection box (left column, below the header).
    table.click(position={"x": 16, "y": 52})
    expect(page).to_have_url(f"{url}session?session={session_id}", timeout=_TIMEOUT_MS)
    for lift_set in sets:
        rows = page.locator(f".st-key-review-set-{lift_set.number} tbody tr")
        expect(rows).to_have_count(len(lift_set.reps), timeout=_TIMEOUT_MS)
        for row, rep in zip(rows.all(), lift_set.reps, strict=True):
            cells = [c.strip() for c in row.locator("td, th").all_inner_texts()]
            peak = "—" if rep.peak_flexion_deg is None else f"{rep.peak_flexion_deg:.1f}"
            assert cells[:3] == [str(rep.number), peak, f"{rep.concentric_s:.2f}"]
            assert cells[-1] == ("ALERT" if rep.flexion_alert else "")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=_TIMEOUT_MS)
    shoot(page, f"{shots}session_review")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{url}progress")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=_TIMEOUT_MS)
    shoot(page, f"{shots}progress")
