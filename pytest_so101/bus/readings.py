"""What an arm says read-only, in one pass: the readings the read-only checks judge
(``checks.catalog.read_only_arm``), by need name. Nothing is written to the servos.

``so101-diagnose --port`` and the LeRobot integration's connect check read an arm with it;
the suites read the same registers test by test.
"""

from __future__ import annotations

import numpy as np

from ..core.joints import MOTOR_NAMES
from . import telemetry
from .feetech import FeetechBus

#: Repeated position reads: the read noise, and the pose (their last).
POSITION_READS = 10


def read_only(bus: FeetechBus, *, scan: bool = True, trace_samples: int = 3,
              position_reads: int = POSITION_READS) -> dict[str, object]:
    """``servos``, ``registers``, ``positions`` (k, 6), ``records``, ``trace`` and, with
    ``scan``, ``scan`` (every id pinged: about 0.4 s at 1 Mbaud)."""
    readings: dict[str, object] = {"servos": bus.identify(),
                                   "registers": bus.read_calibration()}
    readings["positions"] = np.array([bus.read_positions() for _ in range(position_reads)])
    readings["records"] = telemetry.read_records(bus, bus.ids, MOTOR_NAMES)
    readings["trace"] = telemetry.trace(bus, bus.ids, MOTOR_NAMES, samples=trace_samples)
    if scan:
        readings["scan"] = bus.scan()
    return readings
