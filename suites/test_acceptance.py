"""After a recalibration: is a policy trained with the accepted baseline still valid?
(``--so101-accept`` stores a baseline; ``--so101-baseline`` picks another; the checks:
:mod:`pytest_so101.checks.acceptance`.) What the same physical pose reads now against the
baseline run (the arm folded at rest), wrist_roll's zero from the files (its range is fixed,
so its zero is the pose held while homing), the sweep of joints read in -100..100 or 0..100,
drive_mode and id. A horn re-seated and honestly recalibrated reads as before: explained,
not failed. After a real change, ``--so101-accept-changes`` accepts the new calibration as
the next baseline, recording what changed (docs/acceptance.md)."""

from __future__ import annotations

import pytest

from pytest_so101.checks.acceptance import Baseline
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.suite_tools import measure_each
from pytest_so101.report.baseline import baseline_calibration, measured_in
from pytest_so101.report.record import sha256_file

pytestmark = pytest.mark.so101_at_rest
CHECKS = ("baseline-rest-reading", "baseline-zero", "baseline-sweep", "baseline-wiring")


@pytest.fixture(scope="module")
def baseline(so101_baseline):
    path, record = so101_baseline
    before = baseline_calibration(record, str(path))
    if before is None:
        pytest.skip(f"{path} records no calibration")
    return Baseline(str(path), record["created"], before, sha256_file(str(path)),
                    rest_deg=measured_in(record, "rest reading vs mapped rest pose"),
                    observed_deg=measured_in(record, "reading vs observed pose"))


@pytest.fixture
def at_rest(request, so101_rest_pose):
    """What the arm reads folded at rest, when an arm is there ({} otherwise: the files
    alone are compared)."""
    try:
        arm = request.getfixturevalue("so101_arm_at_rest")
    except pytest.skip.Exception:
        return {}
    return {"rest_pose": so101_rest_pose, "positions": [arm.read_ticks()]}


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_a_trained_policy_sees_what_it_saw_at_the_baseline(baseline, at_rest, so101_inputs,
                                                           so101_check, joint):
    measured = measure_each(CHECKS, so101_inputs.with_readings(baseline=baseline, **at_rest))
    so101_check([m for m in measured if m.joint == joint])
