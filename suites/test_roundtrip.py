"""Round trips and map agreement on the user's calibration and mapping.

Validates *their* configuration: every tick of every calibrated range, every frame pair
LeRobot offers, their declared maps, and their ``[sim_to_policy]`` map against the
reference chain sim -> robot -> policy frame over the whole joint range.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from pytest_so101 import strategies as so101_st
from pytest_so101.chain import reference_sim_to_policy
from pytest_so101.frames import (
    REGISTER_SIGN_BITS,
    RESOLUTION,
    RobotUnit,
    decode_register,
    encode_register,
    raw_to_ticks,
    ticks_to_raw,
    ticks_to_units,
    units_to_ticks,
)
from pytest_so101.invariants import (
    check_map_matches_reference,
    map_disagreement_deg,
    ticks_roundtrip_error,
    unit_per_tick,
)
from pytest_so101.joints import MOTOR_NAMES, N_JOINTS
from pytest_so101.measurement import Measurement

LEROBOT_UNITS = (RobotUnit.DEGREES, RobotUnit.RANGE_M100_100, RobotUnit.RANGE_0_100)
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_TICKS = np.arange(RESOLUTION)[:, None].repeat(N_JOINTS, axis=1)


@pytest.fixture(scope="module")
def reference_chain(so101_mapping, so101_context):
    if so101_mapping.sim_to_policy is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_policy] map to check")
    return reference_sim_to_policy(so101_mapping, so101_context.calibration)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_ticks_raw_encoder_roundtrip_is_exact(so101_calibration, so101_check, joint):
    """Present_Position -> raw encoder -> Present_Position, for all 4096 ticks."""
    j = MOTOR_NAMES.index(joint)
    raw = ticks_to_raw(ALL_TICKS, so101_calibration.homing_offset)
    back = raw_to_ticks(raw, so101_calibration.homing_offset)
    worst = float(np.abs(back - ALL_TICKS).max(axis=0)[j])
    in_range = bool(((raw >= 0) & (raw < RESOLUTION)).all())
    homing = so101_calibration.homing_offset[j]
    decoded = int(decode_register("Homing_Offset", encode_register("Homing_Offset", homing)))
    so101_check([
        Measurement("ticks->raw->ticks error", joint, worst if in_range else np.inf, "ticks",
                    0, 0, "" if in_range else "raw encoder value outside 0..4095"),
        Measurement("Homing_Offset register round trip error", joint, float(decoded - homing),
                    "ticks", 0, 0, f"homing_offset {homing} -> sign-magnitude bit "
                    f"{REGISTER_SIGN_BITS['Homing_Offset']} -> {decoded}"),
    ])


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_ticks_roundtrip_through_every_lerobot_mode(so101_calibration, so101_check, joint):
    """Each tick of the calibrated range -> LeRobot unit -> tick: exact when rounded to the
    nearest tick; within one tick with LeRobot's own int() truncation."""
    measurements = []
    for unit in LEROBOT_UNITS:
        units = (unit,) * N_JOINTS
        nearest = ticks_roundtrip_error(so101_calibration, units, rounding="nearest")
        lerobot = ticks_roundtrip_error(so101_calibration, units, rounding="lerobot")
        j = MOTOR_NAMES.index(joint)
        measurements += [
            Measurement(f"ticks->{unit.value}->ticks (nearest)", joint, float(nearest[j]),
                        "ticks", 0, 0),
            Measurement(f"ticks->{unit.value}->ticks (LeRobot int())", joint,
                        float(lerobot[j]), "ticks", None, 1),
        ]
    so101_check(measurements)


@pytest.mark.parametrize("unit", LEROBOT_UNITS, ids=lambda u: u.value)
def test_value_roundtrip_through_ticks_within_half_a_tick(so101_calibration, unit):
    """A value in a LeRobot unit -> nearest tick -> value moves by at most half a tick."""
    units = (unit,) * N_JOINTS
    half_tick = unit_per_tick(so101_calibration, units) / 2

    @PROPERTY
    @given(values=so101_st.joint_vectors(frame=unit.value, calibration=so101_calibration))
    def check(values):
        back = ticks_to_units(units_to_ticks(values, so101_calibration, units,
                                             rounding="nearest"), so101_calibration, units)
        error = np.abs(back - values)
        bad = [f"{MOTOR_NAMES[j]}: {values[j]!r} -> {back[j]!r} ({error[j]:.4g} > "
               f"{half_tick[j]:.4g} {unit.value})"
               for j in range(N_JOINTS) if error[j] > half_tick[j] * (1 + 1e-9)]
        assert not bad, "round trip through ticks moved by more than half a tick: " + \
            "; ".join(bad)

    check()


def test_sim_to_robot_is_monotone_with_declared_direction(so101_mapping, so101_calibration,
                                                          so101_joint_limits):
    """Sim motion -> declared map -> ticks (LeRobot int()) -> robot reading keeps the
    declared direction, quantisation and clamping included."""
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    sim_to_robot, units = so101_mapping.sim_to_robot, so101_mapping.robot_units

    def reading(q):
        ticks = units_to_ticks(sim_to_robot.apply(q), so101_calibration, units)
        return ticks_to_units(ticks, so101_calibration, units)

    @PROPERTY
    @given(a=so101_st.joint_vectors(so101_joint_limits),
           b=so101_st.joint_vectors(so101_joint_limits))
    def check(a, b):
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        step = (reading(hi) - reading(lo)) * sim_to_robot.direction
        bad = [f"{MOTOR_NAMES[j]}: sim {lo[j]:.6g} -> {hi[j]:.6g} rad moved the reading "
               f"by {step[j]:.6g} against direction {sim_to_robot.direction[j]:+g}"
               for j in range(N_JOINTS) if step[j] < 0]
        assert not bad, "; ".join(bad)

    check()


@pytest.mark.parametrize("which", ["sim_to_robot", "sim_to_policy"])
def test_map_then_inverse_is_identity(so101_mapping, so101_joint_limits, which):
    joint_map = getattr(so101_mapping, which)
    if joint_map is None:
        pytest.skip(f"{so101_mapping.source} declares no [{which}] map")
    inverse = joint_map.inverse()

    @PROPERTY
    @given(q=so101_st.joint_vectors(so101_joint_limits))
    def check(q):
        back = inverse.apply(joint_map.apply(q))
        np.testing.assert_allclose(back, q, rtol=1e-9, atol=1e-9,
                                   err_msg=f"[{which}] then its inverse is not the identity")

    check()


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_sim_to_policy_matches_reference_chain(so101_mapping, reference_chain, so101_joint_limits,
                                               so101_tolerances, so101_check, joint):
    """The declared [sim_to_policy] map equals sim -> robot -> policy frame over the range."""
    so101_check(check_map_matches_reference(
        so101_mapping.sim_to_policy, reference_chain, so101_joint_limits,
        tolerance_deg=so101_tolerances.deg, frame=so101_mapping.policy_frame), joint=joint)


def test_sim_to_policy_matches_reference_chain_property(so101_mapping, reference_chain,
                                                        so101_joint_limits, so101_tolerances):
    """Property form of the check above: random poses anywhere in the joint range."""
    declared = so101_mapping.sim_to_policy

    @PROPERTY
    @given(q=so101_st.joint_vectors(so101_joint_limits))
    def check(q):
        error = map_disagreement_deg(declared, reference_chain, q)
        bad = [f"{MOTOR_NAMES[j]}: at q = {q[j]:.4g} rad declared {declared.apply(q)[j]:.5g} "
               f"vs reference {reference_chain.apply(q)[j]:.5g} ({error[j]:.3g} deg > "
               f"{so101_tolerances.deg:g})" for j in range(N_JOINTS)
               if error[j] > so101_tolerances.deg]
        assert not bad, "[sim_to_policy] disagrees with the reference chain: " + "; ".join(bad)

    check()
