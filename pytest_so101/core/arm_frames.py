"""An arm's joint positions in named frames: servo ticks and the sim frame (rad), through
the arm's calibration and the declared ``[sim_to_robot]`` map. Pure arithmetic, no bus: the
arm on a bus (``bus/arm.py``) and the checks of its readings share it."""

from __future__ import annotations

import numpy as np

from .calibration import Calibration
from .frames import RobotUnit, ticks_to_units, units_to_ticks
from .mapping import MappingFile


class ArmFrames:
    """Ticks <-> the sim frame for an arm with this calibration and mapping."""

    def __init__(self, calibration: Calibration, mapping: MappingFile | None = None) -> None:
        self.calibration = calibration
        self.mapping = mapping

    @property
    def units(self) -> tuple[RobotUnit, ...]:
        if self.mapping is None or self.mapping.robot_units is None:
            raise ValueError("the sim frame needs a mapping with [sim_to_robot]")
        return self.mapping.robot_units

    def sim_to_ticks(self, q_sim_rad: np.ndarray) -> np.ndarray:
        """Continuous ticks of a sim pose through the declared [sim_to_robot] map."""
        units = self.units                               # needs [sim_to_robot]
        robot = self.mapping.sim_to_robot.apply(q_sim_rad)
        return units_to_ticks(robot, self.calibration, units, rounding=None, clamp=False)

    def ticks_to_sim(self, ticks: np.ndarray) -> np.ndarray:
        robot = ticks_to_units(ticks, self.calibration, self.units, clamp=False)
        return self.mapping.sim_to_robot.inverse().apply(robot)

    def calibrated_middle_sim(self) -> np.ndarray:
        """The sim pose (rad) of the middle of every calibrated range: the axis a mirrored
        motor's reading is reflected about."""
        cal = self.calibration
        return self.ticks_to_sim((cal.range_min + cal.range_max) / 2)
