"""What the acceptance suites share: the declared checks as pytest parameters, running a
declared check on what a test measured (pytest's side of :mod:`pytest_so101.checks`), and
asking the person at the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from ..checks.base import Check, CheckResult, Inputs, run_check
from ..checks.catalog import BY_NAME, for_suite
from ..core.joints import MOTOR_NAMES
from ..core.measurement import ARM, Measurement

ALL_JOINTS = ARM


def table_params(suite: str) -> list:
    """``(check, joint)`` parameters of a suite's checks of the files: one per joint, or
    one for a check that judges the arm as a whole; ids like
    ``calibrated-range-shoulder_pan``."""
    return [pytest.param(check, joint, id=f"{check.name}-{joint}")
            for check in for_suite(suite)
            for joint in (MOTOR_NAMES if check.per_joint else (ALL_JOINTS,))]


def selected(result: CheckResult, joint: str | None = None) -> list[Measurement]:
    """A check's measurements (of ``joint`` when given); skip with the reason when the
    check could not run or does not apply to that joint."""
    if result.skipped and not result.measurements:
        pytest.skip(f"{result.title}: {result.skipped}")
    measurements = [m for m in result.measurements if joint in (None, ALL_JOINTS, m.joint)]
    if not measurements:
        pytest.skip(f"{result.title}: does not apply to {joint}")
    return measurements


def run_table_check(results: dict[str, CheckResult], check: Check, joint: str,
                    so101_check: Callable) -> None:
    """Record and judge one check of the files, run once for the session, on ``joint``."""
    so101_check(selected(results[check.name], joint))


def measure(name: str, inputs: Inputs, *, joint: str | None = None) -> list[Measurement]:
    """Run the declared check ``name`` on ``inputs`` (what the test measured, as readings):
    its measurements (of ``joint`` when given), not yet recorded."""
    return selected(run_check(BY_NAME[name], inputs), joint)


def measure_each(names: tuple[str, ...], inputs: Inputs) -> list[Measurement]:
    """The measurements of several declared checks on the same readings (a check with
    nothing to say adds none); skip only when none has any."""
    results = [run_check(BY_NAME[name], inputs) for name in names]
    found = [m for r in results for m in r.measurements]
    if not found:
        pytest.skip("; ".join(f"{r.title}: {r.skipped}" for r in results if r.skipped))
    return found


def judge(name: str, inputs: Inputs, so101_check: Callable, *, joint: str | None = None
          ) -> list[Measurement]:
    """Run the declared check ``name``, record its measurements and fail on a failing one."""
    return so101_check(measure(name, inputs, joint=joint))


def model_or_none(request: pytest.FixtureRequest):
    """The run's MuJoCo model (``so101_sim``), or None where there is none."""
    try:
        return request.getfixturevalue("so101_sim")
    except pytest.skip.Exception:
        return None


def sag_ticks(arm, targets_ticks, request: pytest.FixtureRequest):
    """Where the model says each joint settles relative to its targets under gravity, in
    ticks (rows of targets give rows): a servo holds its goal short by load / stiffness.
    None without the model or the arm's map into the sim frame."""
    sim = model_or_none(request)
    if sim is None or arm.mapping is None or arm.mapping.sim_to_robot is None:
        return None
    q = arm.ticks_to_sim(targets_ticks)
    return arm.sim_to_ticks(q + sim.sag_rad(q)) - arm.sim_to_ticks(q)


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


def guided_move(arm, sim, person, j: int):
    """The person (or the twin's scripted operator) makes the physical move of joint ``j``
    toward the side of its range with more room, torque off: a
    :class:`~pytest_so101.checks.guided.GuidedMove` with the readings before and after."""
    from ..checks.guided import GuidedMove
    from ..sim.guided import choose_move, physical_moves

    before = arm.read_ticks()
    limits = sim.limits
    move = choose_move(physical_moves(sim)[j], arm.ticks_to_sim(before)[j],
                       limits.lower_rad[j], limits.upper_rad[j])
    person.perform(move)
    return GuidedMove(move, before, arm.read_ticks())


class TerminalOperator:
    """The person at the terminal, asked through :func:`ask` to make a physical move (a
    :class:`~pytest_so101.sim.guided.PhysicalMove`) with torque off."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def perform(self, move) -> None:
        from ..sim.guided import MOVE_DEG, describe

        answer = ask(self.config, f"{describe(move)}, about {MOVE_DEG:.0f} degrees, then press "
                     "Enter (s then Enter skips this joint)")
        if answer.strip().lower() == "s":
            pytest.skip("skipped by the person at the terminal")

    def restore(self, joint: str) -> None:
        """Ask the person to put the joint back where it was (folded at rest)."""
        ask(self.config, f"{joint}: put it back where it was, folded at rest, then press Enter")
