"""Where the plugin keeps its state on ``config.stash``, and the lazily loaded context."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .options import Setting

if TYPE_CHECKING:
    from .context import So101Context
    from .measurement import Measurement

SETTINGS_KEY = pytest.StashKey[dict[str, Setting]]()
REPORTER_KEY = pytest.StashKey[object]()
CONTEXT_KEY = pytest.StashKey["So101Context"]()
MEASUREMENTS_KEY = pytest.StashKey[list["Measurement"]]()
#: Joints whose read-only checks failed in this run (joint -> the failing test): motion
#: tests never move them.
FROZEN_KEY = pytest.StashKey[dict[str, str]]()


def context_of(config: pytest.Config) -> So101Context:
    """The run's loaded files and tolerances (loaded on first use if no option named one)."""
    if CONTEXT_KEY not in config.stash:
        from .context import load_context

        config.stash[CONTEXT_KEY] = load_context(config.stash[SETTINGS_KEY])
    return config.stash[CONTEXT_KEY]
