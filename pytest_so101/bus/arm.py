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
from dataclasses import replace

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
#: Settling is read every this long (s); a joint whose last STILL_READS reads lie within
#: its read noise has stopped moving.
SETTLE_READ_S = 0.05
STILL_READS = 3
#: The read noise of a still joint (ticks, peak to peak): +-1 tick.
READ_NOISE_TICKS = 2.0
#: How fast the arm goes back to where it was found at the end of a run (~26 deg/s).
RETURN_SPEED = 300.0
#: A joint this far from where it was found (deg) is said to be left off it.
LEFT_AWAY_DEG = 2.0
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
    ``frozen`` (joint name -> why, in words: its read-only checks failed, its direction is
    not checked...) is shared with the run and read at each move: those joints are held."""

    def __init__(self, bus: FeetechBus, calibration: Calibration, envelope: SafetyEnvelope,
                 mapping: MappingFile | None = None, *,
                 speed_ticks_per_s: float = DEFAULT_SPEED_TICKS_PER_S,
                 frozen: dict[str, str] | None = None,
                 noise_ticks: float = READ_NOISE_TICKS) -> None:
        super().__init__(calibration, mapping)
        self.bus, self.envelope = bus, envelope
        self.speed = speed_ticks_per_s
        self.noise_ticks = noise_ticks
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
                    f"{joint}: not moved ({travel[j]:+.0f} ticks asked): {self.frozen[joint]}")
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
        """Read until every joint is within ``settle_ticks`` of ``goal`` or stops moving:
        no joint changed by more than the read noise (``noise_ticks``) over the last
        :data:`STILL_READS` reads (a joint held short of its goal by its load settles
        there; a tick of noise is no motion)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        recent = [self.read_ticks()]
        while time.monotonic() < deadline:
            time.sleep(SETTLE_READ_S)
            now = self.read_ticks()
            if np.all(np.abs(now - goal) <= settle_ticks):
                return now
            recent = [*recent[-(STILL_READS - 1):], now]
            if len(recent) == STILL_READS and \
                    np.all(np.ptp(np.array(recent), axis=0) <= self.noise_ticks):
                return now
        return recent[-1]

    def return_to(self, found_ticks: np.ndarray, *, speed_ticks_per_s: float = RETURN_SPEED
                  ) -> str:
        """Bring the arm back to where the run found it (its rest pose, on its stops),
        slowly: the envelope widened to that pose alone (where the arm rested with torque
        off), held joints staying, torque off after. Nothing moves when the arm is back
        already. Returns a line saying where the arm was left."""
        found = np.asarray(found_ticks, dtype=float)
        off = np.abs(self.read_ticks() - found) * DEG_PER_TICK
        if np.all(off <= LEFT_AWAY_DEG):
            return self.where_left(found)
        goal = np.where([joint in self.frozen for joint in MOTOR_NAMES], self.read_ticks(), found)
        envelope, speed = self.envelope, self.speed
        self.envelope = replace(envelope, low_ticks=np.minimum(envelope.low_ticks, goal),
                                high_ticks=np.maximum(envelope.high_ticks, goal))
        self.speed = speed_ticks_per_s
        try:
            with self.motion():
                self.move_ticks(goal, settle_ticks=self.noise_ticks)
        finally:
            self.envelope, self.speed = envelope, speed
        return self.where_left(found)

    def where_left(self, found_ticks: np.ndarray) -> str:
        """Where the arm is against where it was found, in words, joint by joint."""
        off_deg = (self.read_ticks() - np.asarray(found_ticks, dtype=float)) * DEG_PER_TICK
        away = [f"{joint} {off_deg[j]:+.1f} deg" for j, joint in enumerate(MOTOR_NAMES)
                if abs(off_deg[j]) > LEFT_AWAY_DEG]
        if not away:
            return "the arm is back where it was found (its rest pose), torque off"
        return ("the arm was left off where it was found (its rest pose): "
                + ", ".join(away) + "; torque off: fold it onto its stops before the next run")

    def move_sim(self, q_sim_rad: np.ndarray) -> np.ndarray:
        """Move to a sim pose through the declared map; return the reached sim pose."""
        return self.ticks_to_sim(self.move_ticks(self.sim_to_ticks(q_sim_rad)))
