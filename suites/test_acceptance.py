"""After a recalibration: compare with the arm's accepted baseline (``--so101-accept``
stores one; ``--so101-baseline`` picks another; the check:
:mod:`pytest_so101.checks.acceptance`). A joint whose zero moved by more than the angle
tolerance fails, saying which joint and by how much."""

from __future__ import annotations

import pytest

from pytest_so101.checks.acceptance import Baseline
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.suite_tools import judge
from pytest_so101.report.baseline import baseline_calibration


@pytest.fixture(scope="module")
def baseline(so101_baseline):
    path, record = so101_baseline
    before = baseline_calibration(record, str(path))
    if before is None:
        pytest.skip(f"{path} records no calibration")
    return Baseline(str(path), record["created"], before)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_calibration_zero_unchanged_since_the_baseline(baseline, so101_inputs, so101_check,
                                                      joint):
    judge("since-baseline", so101_inputs.with_readings(baseline=baseline), so101_check,
          joint=joint)
