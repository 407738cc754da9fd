"""The arm as tests use it: read and command joint positions in named frames, safely.

Motion happens only inside :meth:`Arm.motion` (torque on; off again however the block
ends, KeyboardInterrupt included), in steps of at most the envelope's cap at a bounded
speed, to goals the :class:`~pytest_so101.core.safety.SafetyEnvelope` accepts. A joint whose
read-only checks failed in the run (``frozen``) is never moved, and a move may be bounded
(``max_travel_ticks``): such a move is refused before anything is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.calibration import Calibration
from ..core.frames import DEG_PER_TICK
from ..core.joints import MOTOR_NAMES
from ..core.mapping import MappingFile
from ..core.safety import HOLD_TICKS, SafetyEnvelope
from .feetech import FeetechBus

DEFAULT_SPEED_TICKS_PER_S = 1000.0   # ~88 deg/s
SETTLE_TIMEOUT_S = 3.0
MAX_STEPS = 200


#: A pose counts as still when no value changed more than the tolerance over this long (s).
STILL_WINDOW_S = 0.2


def wait_still(read: Callable[[], np.ndarray], *, tolerance: float,
               window_s: float = STILL_WINDOW_S, timeout_s: float = SETTLE_TIMEOUT_S
               ) -> np.ndarray:
    """Read until no value changed by more than ``tolerance`` over ``window_s`` (a held arm
    sagging under its load until its servos balance it, a joint finishing a move), at most
    ``timeout_s``; the last reading. For an observer of the true pose (the twin's)."""
    deadline = time.monotonic() + timeout_s
    since, reference = time.monotonic(), np.asarray(read(), dtype=float)
    while True:
        time.sleep(window_s / 4)
        now = np.asarray(read(), dtype=float)
        if np.any(np.abs(now - reference) > tolerance):
            since, reference = time.monotonic(), now
        elif time.monotonic() - since >= window_s or time.monotonic() >= deadline:
            return now
        if time.monotonic() >= deadline:
            return now


class MotionRefusedError(RuntimeError):
    """A move the run will not make (a frozen joint, a travel beyond its bound); nothing
    was sent."""


class Arm(ArmFrames):
    """A calibrated arm on a bus; ``mapping`` relates its units to the sim frame.
    ``frozen`` (joint name -> why) is shared with the run and read at each move."""

    def __init__(self, bus: FeetechBus, calibration: Calibration, envelope: SafetyEnvelope,
                 mapping: MappingFile | None = None, *,
                 speed_ticks_per_s: float = DEFAULT_SPEED_TICKS_PER_S,
                 frozen: dict[str, str] | None = None) -> None:
        super().__init__(calibration, mapping)
        self.bus, self.envelope = bus, envelope
        self.speed = speed_ticks_per_s
        self.frozen = frozen if frozen is not None else {}
        self._moving = False
        self.torque_was_enabled = False
        #: The goals last written (ticks), None before any.
        self.goal_ticks: np.ndarray | None = None

    def refuse(self, goal_ticks: np.ndarray, present_ticks: np.ndarray, *,
               max_travel_ticks: float | None = None) -> None:
        """Raise :class:`MotionRefusedError` if the move would turn a frozen joint, or any joint
        further than ``max_travel_ticks``."""
        travel = np.asarray(goal_ticks, dtype=float) - np.asarray(present_ticks, dtype=float)
        for j, joint in enumerate(MOTOR_NAMES):
            if joint in self.frozen and abs(travel[j]) > HOLD_TICKS:
                raise MotionRefusedError(
                    f"{joint}: not moved ({travel[j]:+.0f} ticks asked): its read-only checks "
                    f"failed in this run ({self.frozen[joint]})")
            if max_travel_ticks is not None and abs(travel[j]) > max_travel_ticks:
                raise MotionRefusedError(
                    f"{joint}: would move {travel[j]:+.0f} ticks "
                    f"({travel[j] * DEG_PER_TICK:+.1f} deg), more than the "
                    f"{max_travel_ticks:.0f} ticks this move allows: nothing was sent")

    def read_ticks(self) -> np.ndarray:
        return self.bus.read_positions()

    def read_sim(self) -> np.ndarray:
        return self.ticks_to_sim(self.read_ticks())

    # -- motion ------------------------------------------------------------------------
    @contextmanager
    def motion(self) -> Iterator[Arm]:
        """Torque on for the block, off on every way out. Refused before torque goes on if
        a joint rests outside its servo's position limits: the servo would clamp the held
        goal into them and move that joint at once."""
        with self.bus.torque_off_on_exit():
            present = self.read_ticks()
            self._refuse_outside_limits(present)
            self._goal(present, present)                    # hold where it is first
            self.torque_was_enabled = True
            self.bus.torque(True)
            self._moving = True
            try:
                yield self
            finally:
                self._moving = False

    def _refuse_outside_limits(self, present_ticks: np.ndarray) -> None:
        registers = self.bus.read_calibration()          # the limits the servos enforce
        for j, joint in enumerate(MOTOR_NAMES):
            low, high = int(registers.range_min[j]), int(registers.range_max[j])
            if not low - HOLD_TICKS <= present_ticks[j] <= high + HOLD_TICKS:
                raise MotionRefusedError(
                    f"{joint}: rests at {present_ticks[j]:.0f} ticks, outside its servo's "
                    f"position limits [{low}, {high}]: torque on would drive it to the limit "
                    "at once; nothing was switched on (recalibrate with a full sweep, or "
                    "move the joint back by hand)")

    def move_ticks(self, goal_ticks: np.ndarray, *, settle_ticks: float = 3.0,
                   max_travel_ticks: float | None = None) -> np.ndarray:
        """Go to ``goal_ticks`` in capped steps at the speed cap; return the settled reading.
        Refused (:class:`MotionRefusedError`) before anything moves if it would turn a frozen
        joint or any joint further than ``max_travel_ticks``."""
        if not self._moving:
            raise RuntimeError("move_ticks needs `with arm.motion():` (torque off on exit)")
        goal = np.rint(np.asarray(goal_ticks, dtype=float))
        self.refuse(goal, self.read_ticks(), max_travel_ticks=max_travel_ticks)
        cap = 0.9 * self.envelope.max_step_ticks     # room for motion until the servo acts
        for _ in range(MAX_STEPS):
            present = self.read_ticks().astype(float)
            step = np.clip(goal - present, -cap, cap)
            target = np.rint(present + step)
            # judged on the reading the step came from: a second read could see the joint
            # moved meanwhile and refuse a step that was within the cap when computed
            self._goal(target, present)
            time.sleep(float(np.abs(step).max()) / self.speed)
            if np.array_equal(target, goal):
                return self.settle(goal, settle_ticks)
        lagging = np.argmax(np.abs(goal - present))
        raise RuntimeError(f"{MOTOR_NAMES[lagging]} does not follow: at {present[lagging]:.0f} "
                           f"ticks after {MAX_STEPS} steps toward {goal[lagging]:.0f}")

    def track(self, goal_ticks: np.ndarray) -> np.ndarray:
        """One teleoperation command: toward ``goal_ticks`` by at most the envelope's step
        cap, inside the envelope (a goal beyond it stops at its edge), frozen joints held.
        Returns what was sent. Needs ``with arm.motion():``."""
        if not self._moving:
            raise RuntimeError("track needs `with arm.motion():` (torque off on exit)")
        present = self.read_ticks().astype(float)
        goal = np.clip(np.rint(np.asarray(goal_ticks, dtype=float)),
                       np.ceil(self.envelope.low_ticks), np.floor(self.envelope.high_ticks))
        for j, joint in enumerate(MOTOR_NAMES):
            if joint in self.frozen:
                goal[j] = present[j]
        cap = 0.9 * self.envelope.max_step_ticks
        # between where it is and a goal inside the envelope: a joint resting outside it
        # heads back in, which the envelope allows
        target = np.rint(present + np.clip(goal - present, -cap, cap))
        self._goal(target, present)
        return target

    def _goal(self, goal_ticks: np.ndarray, present_ticks: np.ndarray) -> None:
        """Write goals (through the envelope), and remember them: a servo under load holds
        its goal short by its compliance, so a motion is what the goals moved by."""
        self.bus.write_goals(goal_ticks, self.envelope, present_ticks)
        self.goal_ticks = np.asarray(goal_ticks, dtype=float).copy()

    def settle(self, goal: np.ndarray, settle_ticks: float) -> np.ndarray:
        """Read until every joint is within ``settle_ticks`` of ``goal`` or stops moving."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last = self.read_ticks()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.read_ticks()
            if np.all(np.abs(now - goal) <= settle_ticks) or np.array_equal(now, last):
                return now
            last = now
        return last

    def move_sim(self, q_sim_rad: np.ndarray) -> np.ndarray:
        """Move to a sim pose through the declared map; return the reached sim pose."""
        return self.ticks_to_sim(self.move_ticks(self.sim_to_ticks(q_sim_rad)))
