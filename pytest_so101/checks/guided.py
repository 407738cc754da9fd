"""Guided: what only a person can see. With torque off, a person moves one named joint in a
named physical direction ("fold the elbow: bring the wrist toward the shoulder"); the
servo's reading, through the declared chain, must change that way and by a plausible
amount. A mirrored motor changes it the other way. Which way each move turns the joint in
the sim frame comes from the model (``sim/guided.py``), not from the files under test.

Evidence: ``physical`` on a real arm (a person), ``twin`` on the emulated arm (a scripted
operator moves it through its control socket).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.joints import MOTOR_NAMES
from ..core.mapping import RAD_TO_DEG
from ..core.measurement import Evidence, Measurement
from ..sim.guided import MAX_MOVE_DEG, MIN_MOVE_DEG, MOVE_DEG, PhysicalMove
from .base import Check, Inputs, on_arms
from .causes import drive_mode_reverses, explain_reversed


@dataclass(frozen=True)
class GuidedMove:
    """A person asked to make ``move``: the arm's readings (ticks) before and after."""

    move: PhysicalMove
    before: np.ndarray
    after: np.ndarray


def check_guided_move(i: Inputs) -> list[Measurement]:
    """The moved joint's reading changed the asked way, by a plausible amount."""
    done: GuidedMove = i["guided"]
    frames = ArmFrames(i.calibration, i.mapping)
    j, joint = done.move.joint, MOTOR_NAMES[done.move.joint]
    moved_deg = (frames.ticks_to_sim(done.after) - frames.ticks_to_sim(done.before)) * RAD_TO_DEG
    along = float(moved_deg[j] * done.move.sim_sign)
    others = [f"{MOTOR_NAMES[k]} {moved_deg[k]:+.1f} deg" for k in range(len(MOTOR_NAMES))
              if k != j and abs(moved_deg[k]) > MIN_MOVE_DEG]
    detail = (f"asked to {done.move.words}; the reading moved {moved_deg[j]:+.1f} deg in the "
              f"sim frame ({done.before[j]} -> {done.after[j]} ticks), {along:+.1f} deg the "
              "asked way" + (f"; other joints moved too: {', '.join(others)}" if others else ""))
    if along < 0:
        reason, fix = explain_reversed(
            j, declared_direction=i.mapping.sim_to_robot.direction[j],
            drive_mode_reversed=drive_mode_reverses(i.calibration, i.mapping.robot_units, j))
        cause = f"the joint turned the asked way but its reading went the other: {reason}"
    elif along < MIN_MOVE_DEG:
        cause = "the reading hardly changed: the joint did not move, or the map's scale is " \
                "far too small (radians taken for degrees)"
        fix = f"repeat, moving {joint} about {MOVE_DEG:.0f} deg; check its [sim_to_robot] scale"
    else:
        cause = "the reading changed far more than the move: the map's scale is too large"
        fix = f"check {joint}'s [sim_to_robot] scale against its units (the scale check)"
    return [Measurement("guided move, the asked way", joint, along, "deg", MIN_MOVE_DEG,
                        MAX_MOVE_DEG, detail, marginal_fraction=0.99, cause=cause, fix=fix)]


CHECKS: tuple[Check, ...] = (
    Check("guided-move", "a person's move changes the reading the declared way", "guided",
          ("calibration", "sim_to_robot", "guided"), check_guided_move,
          catches="a mirrored motor or a reversed direction on any joint, loaded or not "
          "(shoulder_pan and wrist_roll, which nothing else checks on a real arm)",
          tolerance=f"{MIN_MOVE_DEG:g}..{MAX_MOVE_DEG:g} deg the asked way",
          evidence=on_arms(twin=Evidence.TWIN, hardware=Evidence.PHYSICAL), suite="guided"),
)
