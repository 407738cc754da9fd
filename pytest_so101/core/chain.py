"""The reference chain sim -> robot -> policy frame, as per-joint affine maps.

Every frame conversion of :mod:`frames` is affine per joint once clamping and tick
quantisation are left out, so a chain of them is a :class:`JointMap`. The reference
chain is built from the user's declared ``[sim_to_robot]`` map and the *known*
conversions (calibration, LeRobot modes, legacy degrees); a declared ``[sim_to_policy]``
map is judged against it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .calibration import Calibration
from .errors import config_error
from .frames import (
    LEGACY_SHIFT_DEG,
    LEGACY_SIGN,
    PolicyFrame,
    RobotUnit,
    ticks_to_policy_frame,
    units_to_ticks,
)
from .joints import N_JOINTS
from .mapping import RAD_TO_DEG, JointMap, MappingFile


def robot_to_policy_map(units: Sequence[RobotUnit], frame: PolicyFrame,
                        calibration: Calibration | None, *, source: str | None = None
                        ) -> JointMap:
    """Affine map from the robot's units to the policy frame (through continuous ticks).

    Needs the calibration unless the robot already reports in the policy frame's units.
    """
    if calibration is None and tuple(units) == frame.units:
        if not frame.legacy:
            return JointMap.identity("same units")
        is_deg = np.array([u is RobotUnit.DEGREES for u in units])
        return JointMap(np.where(is_deg, LEGACY_SHIFT_DEG, 0.0), np.ones(N_JOINTS),
                        np.where(is_deg, LEGACY_SIGN, 1.0), name="legacy degrees")
    if calibration is None:
        units_text = "/".join(sorted({u.value for u in units}))
        raise config_error(
            f"converting the robot's units ({units_text}) to the policy frame '{frame.value}' "
            "needs the arm's calibration", source=source,
            field="sim_to_robot.units")

    def convert(x: np.ndarray) -> np.ndarray:
        ticks = units_to_ticks(x, calibration, units, rounding=None, clamp=False)
        return ticks_to_policy_frame(ticks, calibration, frame, clamp=False)

    at_zero = convert(np.zeros(N_JOINTS))
    slope = convert(np.ones(N_JOINTS)) - at_zero
    return JointMap.from_affine(slope, at_zero, name=f"robot->{frame.value}",
                                source=calibration.source)


def reference_sim_to_policy(mapping: MappingFile, calibration: Calibration | None) -> JointMap:
    """sim radians -> robot units (declared ``[sim_to_robot]``) -> policy frame (known)."""
    if mapping.sim_to_robot is None or mapping.robot_units is None:
        raise config_error("the reference chain needs a [sim_to_robot] table",
                           source=mapping.source, field="sim_to_robot")
    if mapping.policy_frame is None:
        raise config_error("the reference chain needs [policy] frame", source=mapping.source,
                           field="policy.frame")
    robot_to_policy = robot_to_policy_map(mapping.robot_units, mapping.policy_frame, calibration,
                                          source=mapping.source)
    chain = mapping.sim_to_robot.then(robot_to_policy)
    return JointMap(chain.offset, chain.scale, chain.direction, name="reference chain",
                    source=mapping.source)


def user_chains(mapping: MappingFile, calibration: Calibration | None) -> dict[str, JointMap]:
    """The sim -> policy chains the user relies on: the reference and, if declared, theirs."""
    chains = {"reference": reference_sim_to_policy(mapping, calibration)}
    if mapping.sim_to_policy is not None:
        chains["declared"] = mapping.sim_to_policy
    return chains


def map_disagreement_deg(declared: JointMap, reference: JointMap,
                         q_sim_rad: np.ndarray) -> np.ndarray:
    """|declared(q) - reference(q)| per joint, expressed as sim degrees through the reference."""
    diff = declared.apply(q_sim_rad) - reference.apply(q_sim_rad)
    return np.abs(diff) / reference.scale * RAD_TO_DEG
