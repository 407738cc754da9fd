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

from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.measurement import Evidence
from pytest_so101.plugin.suite_tools import TerminalOperator, at_a_terminal, guided_move, judge
from pytest_so101.sim.guided import ScriptedOperator

pytestmark = pytest.mark.so101_guided


@pytest.fixture(scope="module")
def operator(so101_twin, so101_sim, pytestconfig):
    if so101_twin is not None:
        return ScriptedOperator(so101_twin, so101_sim), Evidence.TWIN
    if not at_a_terminal(pytestconfig):
        pytest.skip("guided checks need a person at a terminal (not CI, not pytest -n)")
    return TerminalOperator(pytestconfig), Evidence.PHYSICAL


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_guided_move_changes_the_reading_the_declared_way(so101_arm, so101_bus, so101_sim,
                                                          so101_mapping, operator, so101_inputs,
                                                          so101_check, joint):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    person, _ = operator
    so101_bus.disable_torque()                  # a person moves the arm by hand
    done = guided_move(so101_arm, so101_sim, person, MOTOR_NAMES.index(joint))
    judge("guided-move", so101_inputs.with_readings(guided=done), so101_check)

