"""Guided (``--so101-guided``): what only a person can see. With torque off, the person at
the terminal is asked to move one named joint in a named physical direction ("fold the
elbow: bring the wrist toward the shoulder"); the servo's reading, through the declared
chain, must change that way and by a plausible amount. A mirrored motor changes it the
other way. On the twin a scripted operator performs the moves through its control socket
(evidence ``twin``); on a real arm a person does (evidence ``physical``). Without a
terminal (CI, pytest -n) the hardware version skips. Nothing is written to the arm but
torque off.
"""

from __future__ import annotations

import pytest

from pytest_so101.checks.diagnosis import drive_mode_reverses, explain_reversed
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.mapping import RAD_TO_DEG
from pytest_so101.core.measurement import Evidence, Measurement
from pytest_so101.plugin.suite_tools import ask, at_a_terminal
from pytest_so101.sim.guided import (
    MAX_MOVE_DEG,
    MIN_MOVE_DEG,
    MOVE_DEG,
    PhysicalMove,
    ScriptedOperator,
    choose_move,
    describe,
    physical_moves,
)

pytestmark = pytest.mark.so101_guided


@pytest.fixture(scope="module")
def operator(so101_twin, so101_sim, pytestconfig):
    if so101_twin is not None:
        return ScriptedOperator(so101_twin, so101_sim), Evidence.TWIN
    if not at_a_terminal(pytestconfig):
        pytest.skip("guided checks need a person at a terminal (not CI, not pytest -n)")
    return TerminalOperator(pytestconfig), Evidence.PHYSICAL


class TerminalOperator:
    """The person at the terminal, asked through :func:`ask`."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def perform(self, move: PhysicalMove) -> None:
        answer = ask(self.config, f"{describe(move)}, about {MOVE_DEG:.0f} degrees, then press "
                     "Enter (s then Enter skips this joint)")
        if answer.strip().lower() == "s":
            pytest.skip("skipped by the person at the terminal")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_guided_move_changes_the_reading_the_declared_way(so101_arm, so101_bus, so101_sim,
                                                          so101_mapping, operator, so101_check,
                                                          joint):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    person, evidence = operator
    j = MOTOR_NAMES.index(joint)
    so101_bus.disable_torque()                  # a person moves the arm by hand
    before = so101_arm.read_ticks()
    q_before = so101_arm.ticks_to_sim(before)
    limits = so101_sim.limits
    move = choose_move(physical_moves(so101_sim)[j], q_before[j], limits.lower_rad[j],
                       limits.upper_rad[j])
    person.perform(move)
    after = so101_arm.read_ticks()
    moved_deg = (so101_arm.ticks_to_sim(after) - q_before) * RAD_TO_DEG
    along = float(moved_deg[j] * move.sim_sign)
    others = [f"{MOTOR_NAMES[k]} {moved_deg[k]:+.1f} deg" for k in range(len(MOTOR_NAMES))
              if k != j and abs(moved_deg[k]) > MIN_MOVE_DEG]
    detail = (f"asked to {move.words}; the reading moved {moved_deg[j]:+.1f} deg in the sim "
              f"frame ({before[j]} -> {after[j]} ticks), {along:+.1f} deg the asked way"
              + (f"; other joints moved too: {', '.join(others)}" if others else ""))
    if along < 0:
        reason, fix = explain_reversed(
            j, declared_direction=so101_mapping.sim_to_robot.direction[j],
            drive_mode_reversed=drive_mode_reverses(so101_arm.calibration,
                                                    so101_mapping.robot_units, j))
        cause = f"the joint turned the asked way but its reading went the other: {reason}"
    elif along < MIN_MOVE_DEG:
        cause = "the reading hardly changed: the joint did not move, or the map's scale is " \
                "far too small (radians taken for degrees)"
        fix = f"repeat, moving {joint} about {MOVE_DEG:.0f} deg; check its [sim_to_robot] scale"
    else:
        cause = "the reading changed far more than the move: the map's scale is too large"
        fix = f"check {joint}'s [sim_to_robot] scale against its units (the scale check)"
    so101_check([Measurement("guided move, the asked way", joint, along, "deg", MIN_MOVE_DEG,
                             MAX_MOVE_DEG, detail, marginal_fraction=0.99, cause=cause, fix=fix,
                             evidence=evidence)])
