"""Fixtures shared by the tests that run pytest itself."""

from __future__ import annotations

import builtins

import pytest


@pytest.fixture
def run(pytester):
    """Run pytest in a subprocess in an isolated folder (its own empty ini, not this
    repo's); the HTML report only when asked for (its plots cost time); ``env`` sets
    environment variables for the run."""
    ini = pytester.makeini("[pytest]\n")

    def _run(*args: str, html: bool = False, **env: str):
        for key, value in env.items():
            pytester._monkeypatch.setenv(key, value)
        no_html = [] if html else ["-p", "no:html"]
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-c", str(ini),
                                             "--rootdir", str(pytester.path), *no_html, *args)

    return _run


@pytest.fixture
def prompts(monkeypatch):
    """Every prompt LeRobot shows on stdin (``input``), answered with Enter (use the file):
    a test asserts it asked nothing, or what it asked."""
    asked: list[str] = []

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return ""

    monkeypatch.setattr(builtins, "input", answer)
    return asked
