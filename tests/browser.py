"""Debian's chromium driven by the Python ``playwright`` package (never ``playwright
install``: the browser is the system's), for the report's browser test and
``scripts/report_screenshots.py``."""

from __future__ import annotations

import shutil

#: The size of the first screen the report is judged at.
VIEWPORT = {"width": 1400, "height": 900}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def why_no_browser() -> str:
    """Why the browser cannot run here ("" when it can)."""
    if chromium_path() is None:
        return "Debian's chromium is not installed (.ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return ""


def launch(playwright):
    """A headless chromium browser (a ``playwright.sync_api.Browser``)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
