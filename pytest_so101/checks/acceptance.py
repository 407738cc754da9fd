"""After a recalibration: the arm's calibration against its last accepted baseline
(``--so101-accept`` stores one; ``--so101-baseline`` picks another). A joint whose zero
moved by more than the angle tolerance fails, saying which joint and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.calibration import TICKS_PER_TURN, Calibration, compare_calibrations
from ..core.measurement import Measurement
from .base import Check, Inputs


@dataclass(frozen=True)
class Baseline:
    """An accepted baseline: its file, when it was made and the calibration it recorded."""

    path: str
    created: str
    calibration: Calibration


def check_since_baseline(i: Inputs) -> list[Measurement]:
    """Per joint: the calibration's zero shift, range change, drive_mode or id change since
    the baseline."""
    baseline: Baseline = i["baseline"]
    limit_ticks = i.tolerances.deg * TICKS_PER_TURN / 360
    name = baseline.path.rsplit("/", 1)[-1]
    out = []
    for change in compare_calibrations(baseline.calibration, i.calibration):
        joint = change.joint
        out += [
            Measurement("zero shift since baseline", joint, float(change.zero_shift_ticks),
                        "ticks", -limit_ticks, limit_ticks,
                        f"{change.zero_shift_ticks:+.0f} ticks ({change.zero_shift_deg:+.2f} deg)"
                        f" since baseline {name} of {baseline.created}: homing_offset "
                        f"{change.homing_offset_ticks:+d}, range_min {change.range_min_ticks:+d}"
                        f", range_max {change.range_max_ticks:+d} ticks"),
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
        ]
    return out


CHECKS: tuple[Check, ...] = (
    Check("since-baseline", "calibration since the accepted baseline", "acceptance",
          ("calibration", "baseline"), check_since_baseline,
          catches="a zero that moved since the baseline (a horn re-seated or slipped, a "
          "recalibration), a changed range, drive_mode or servo id",
          tolerance="--so101-tolerance-deg (zero), four times it (range)", suite="acceptance"),
)
