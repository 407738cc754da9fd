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

from pytest_so101.checks.guided import GuidedMove
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.measurement import Evidence
from pytest_so101.plugin.suite_tools import ask, at_a_terminal, judge
from pytest_so101.sim.guided import (
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
                                                          so101_mapping, operator, so101_inputs,
                                                          so101_check, joint):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    person, _ = operator
    j = MOTOR_NAMES.index(joint)
    so101_bus.disable_torque()                  # a person moves the arm by hand
    before = so101_arm.read_ticks()
    limits = so101_sim.limits
    move = choose_move(physical_moves(so101_sim)[j], so101_arm.ticks_to_sim(before)[j],
                       limits.lower_rad[j], limits.upper_rad[j])
    person.perform(move)
    done = GuidedMove(move, before, so101_arm.read_ticks())
    judge("guided-move", so101_inputs.with_readings(guided=done), so101_check)
