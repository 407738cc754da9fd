"""The declared maps against the reference chain, over the whole joint range.

A declared ``[sim_to_policy]`` map (a user's own sim -> policy conversion, e.g. the
offset-only fix) must equal the chain sim -> robot (declared ``[sim_to_robot]``) -> policy
frame (the known conversions: LeRobot's normalization with the calibration, the legacy
conversion): per joint at the range ends (table check ``sim-to-policy-vs-reference``), and
property-based at random poses anywhere in the range. One pose cannot establish a
direction; the whole range does.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from pytest_so101 import strategies as so101_st
from pytest_so101.core.chain import map_disagreement_deg
from pytest_so101.core.joints import MOTOR_NAMES, N_JOINTS
from pytest_so101.plugin.suite_tools import run_table_check, table_params

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(("check", "joint"), table_params("roundtrip"))
def test_roundtrip(so101_configuration, so101_check, check, joint):
    run_table_check(so101_configuration, check, joint, so101_check)


def test_sim_to_policy_matches_reference_chain_property(so101_mapping, so101_calibration,
                                                        so101_joint_limits, so101_tolerances):
    """Property form of the table check: random poses anywhere in the joint range."""
    from pytest_so101.core.chain import reference_sim_to_policy

    declared = so101_mapping.sim_to_policy
    if declared is None or so101_mapping.policy_frame is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_policy] map to check")
    reference = reference_sim_to_policy(so101_mapping, so101_calibration)

    @PROPERTY
    @given(q=so101_st.joint_vectors(so101_joint_limits))
    def check(q):
        error = map_disagreement_deg(declared, reference, q)
        bad = [f"{MOTOR_NAMES[j]}: at q = {q[j]:.4g} rad declared {declared.apply(q)[j]:.5g} "
               f"vs reference {reference.apply(q)[j]:.5g} ({error[j]:.3g} deg > "
               f"{so101_tolerances.deg:g})" for j in range(N_JOINTS)
               if error[j] > so101_tolerances.deg]
        assert not bad, "[sim_to_policy] disagrees with the reference chain: " + "; ".join(bad)

    check()
