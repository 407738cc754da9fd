"""What the acceptance suites share: the check table as pytest parameters, and running
one table check on one joint (pytest's side of :mod:`pytest_so101.checks`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .checks import Check, CheckResult, for_suite
from .joints import MOTOR_NAMES

ALL_JOINTS = "all"


def table_params(suite: str) -> list:
    """``(check, joint)`` parameters of a suite: one per joint, or one for a check that
    judges the arm as a whole; ids like ``calibrated-range-shoulder_pan``."""
    return [pytest.param(check, joint, id=f"{check.name}-{joint}")
            for check in for_suite(suite)
            for joint in (MOTOR_NAMES if check.per_joint else (ALL_JOINTS,))]


def run_table_check(results: dict[str, CheckResult], check: Check, joint: str,
                    so101_check: Callable) -> None:
    """Record and judge one check's measurements of ``joint``; skip with the reason when
    the check could not run or does not apply to that joint."""
    result = results[check.name]
    if result.skipped and not result.measurements:
        pytest.skip(f"{check.title}: {result.skipped}")
    measurements = [m for m in result.measurements if joint in (ALL_JOINTS, m.joint)]
    if not measurements:
        pytest.skip(f"{check.title}: does not apply to {joint}")
    so101_check(measurements)
