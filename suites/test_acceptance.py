"""After a recalibration: compare with the arm's accepted baseline (``--so101-accept``
stores one; ``--so101-baseline`` picks another). A joint whose zero moved by more than
the angle tolerance fails, saying which joint and by how much."""

from __future__ import annotations

import pytest

from pytest_so101.core.calibration import TICKS_PER_TURN, compare_calibrations
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.measurement import Measurement
from pytest_so101.report.baseline import baseline_calibration


@pytest.fixture(scope="module")
def changes(so101_baseline, so101_calibration):
    path, record = so101_baseline
    before = baseline_calibration(record, str(path))
    if before is None:
        pytest.skip(f"{path} records no calibration")
    return path, record, {d.joint: d for d in compare_calibrations(before, so101_calibration)}


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_calibration_zero_unchanged_since_the_baseline(changes, so101_tolerances, so101_check,
                                                      joint):
    path, record, by_joint = changes
    change = by_joint[joint]
    limit_ticks = so101_tolerances.deg * TICKS_PER_TURN / 360
    so101_check([
        Measurement("zero shift since baseline", joint, float(change.zero_shift_ticks), "ticks",
                    -limit_ticks, limit_ticks,
                    f"{change.zero_shift_ticks:+.0f} ticks ({change.zero_shift_deg:+.2f} deg) "
                    f"since baseline {path.name} of {record['created']}: homing_offset "
                    f"{change.homing_offset_ticks:+d}, range_min {change.range_min_ticks:+d}, "
                    f"range_max {change.range_max_ticks:+d} ticks"),
        Measurement("range change since baseline", joint,
                    float(max(abs(change.range_min_ticks), abs(change.range_max_ticks))),
                    "ticks", None, limit_ticks * 4,
                    f"range_min {change.range_min_ticks:+d}, range_max "
                    f"{change.range_max_ticks:+d} ticks"),
        Measurement("drive_mode or id changed since baseline", joint,
                    float(change.drive_mode_changed or change.id_changed), "", 0, 0,
                    ("drive_mode changed: in LeRobot's range units the joint now turns the "
                     "other way" if change.drive_mode_changed else "")
                    + ("; " if change.drive_mode_changed and change.id_changed else "")
                    + ("the servo id changed" if change.id_changed else ""),
                    cause="the calibration file was edited or written for another wiring",
                    fix="restore drive_mode/id from the baseline, or recalibrate and accept "
                    "a new baseline (--so101-accept)"),
    ])
