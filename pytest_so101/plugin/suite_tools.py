"""What the acceptance suites share: the check table as pytest parameters, running one
table check on one joint (pytest's side of :mod:`pytest_so101.checks.table`), and why an arm
reads away from its rest pose (the follower's and the leader's rest checks)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest

from ..checks.diagnosis import arm_not_at_rest, explain_reading
from ..checks.table import Check, CheckResult, for_suite
from ..core.joints import MOTOR_NAMES, JointLimits

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


def at_a_terminal(config: pytest.Config) -> bool:
    """Whether a person can be asked: stdin is a terminal once pytest's capture (which
    points it at /dev/null during a test) is suspended, and this is not an xdist worker."""
    if hasattr(config, "workerinput"):
        return False
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return sys.stdin is not None and sys.stdin.isatty()
    capture.suspend_global_capture(in_=True)
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    finally:
        capture.resume_global_capture()


def ask(config: pytest.Config, text: str) -> str:
    """Ask the person at the terminal (pytest's capture suspended meanwhile); their
    answer line."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)
    try:
        print(f"\n[so101 guided] {text}", flush=True)
        return sys.stdin.readline()
    finally:
        if capture is not None:
            capture.resume_global_capture()


def explain_rest(arm, q_rest: np.ndarray, reading: np.ndarray, joint: int,
                 limits: JointLimits) -> tuple[str, str]:
    """Why a joint reads away from the rest pose: the arm is not at rest at all, or (see
    :func:`explain_reading`) a mirrored motor or a shifted zero."""
    q_read = arm.ticks_to_sim(reading)
    not_at_rest = arm_not_at_rest(q_read, q_rest)
    if not_at_rest is not None:
        return not_at_rest
    expected = arm.sim_to_ticks(q_rest)
    return explain_reading(joint, q_read[joint], q_rest[joint],
                           arm.calibrated_middle_sim()[joint],
                           reading[joint] - expected[joint], arm.calibration, limits,
                           declared_direction=arm.mapping.sim_to_robot.direction[joint],
                           units=arm.units)
