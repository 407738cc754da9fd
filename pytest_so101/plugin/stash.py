"""Where the plugin keeps its state on ``config.stash``, and the lazily loaded context."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .options import Setting

if TYPE_CHECKING:
    from ..core.measurement import Measurement
    from .context import FleetRun, So101Context

SETTINGS_KEY = pytest.StashKey[dict[str, Setting]]()
REPORTER_KEY = pytest.StashKey[object]()
CONTEXT_KEY = pytest.StashKey["So101Context"]()
MEASUREMENTS_KEY = pytest.StashKey[list["Measurement"]]()
#: Joints held still for the rest of the run, per arm (the fleet arm's id, None for the one
#: arm of a run without --so101-arms): joint -> why, in words (its read-only checks failed,
#: the arm as a whole failed, its direction is not checked). Motion tests never move them.
FROZEN_KEY = pytest.StashKey[dict[str | None, dict[str, str]]]()
#: The test report property naming the fleet arm and the worker a test ran on (JSON).
ARM_PROPERTY = "so101_arm"
#: Where each arm was left at the end of a run that may move it (arm id or None -> line).
ARM_LEFT_KEY = pytest.StashKey[dict[str | None, str]]()
#: Key marking a test's setup report when the test used the plugin's fixtures: a check of
#: the arm or its files (a run of unrelated tests checked nothing, and writes no report).
CHECK_PROPERTY = "so101_check"
#: The test report property naming the baseline a test compared with (its path).
BASELINE_PROPERTY = "so101_baseline"
#: The fleet of a run with --so101-arms.
FLEET_KEY: pytest.StashKey[FleetRun] = pytest.StashKey()


def frozen_joints(config: pytest.Config, arm_id: str | None = None) -> dict[str, str]:
    """The joints held still on one arm (joint -> why, in words)."""
    return config.stash.setdefault(FROZEN_KEY, {}).setdefault(arm_id, {})


def context_of(config: pytest.Config) -> So101Context:
    """The run's loaded files and tolerances (loaded on first use if no option named one)."""
    if CONTEXT_KEY not in config.stash:
        from .context import load_context

        config.stash[CONTEXT_KEY] = load_context(config.stash[SETTINGS_KEY])
    return config.stash[CONTEXT_KEY]


def in_the_suites(node: pytest.Item) -> bool:
    """Whether a test is one of the plugin's suites (``suites/``, ``pytest_so101.suites``),
    which judge the user's files, not the user's own code."""
    return node.path.parent.name == "suites"

