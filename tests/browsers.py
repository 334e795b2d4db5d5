"""Debian's Chromium for the browser tests (Playwright never downloads a browser here)."""

from __future__ import annotations

from pathlib import Path

#: Screenshots for a human to look at (kept by CI).
SCREENSHOTS = Path(__file__).parents[1] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
