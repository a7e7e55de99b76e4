"""Debian's Chromium driven by Playwright for the browser tests (no browser download)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, as root, and silent: the machine's closed network refuses background connections.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium():
    """A launched Chromium; a missing browser is a failure, not a skip."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} absent : installer le paquet Debian « chromium » (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


SCREENSHOTS_VARIABLE = "HYPERVISEUR_SCREENSHOTS_DIR"  # where pages are saved for the docs (docs/screenshots/)


def keep_screenshot(page, name: str) -> None:
    """A full-page PNG of ``page`` as ``<name>.png`` in ``$HYPERVISEUR_SCREENSHOTS_DIR``, when it is set."""
    import os

    folder = os.environ.get(SCREENSHOTS_VARIABLE)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
