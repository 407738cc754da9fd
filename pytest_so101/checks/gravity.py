"""Gravity as an observer: the servo's holding load against the model's gravity torque.

With torque on and the arm held still, each loaded joint's servo must push against
gravity. The model says which way and how hard (MuJoCo's bias force at a *known* pose:
the rest pose on its stops, or where the twin was placed); the servo's ``Present_Load``
says which way it pushes in its own frame; the declared chain (mapping direction and
calibration) says how the servo's frame turns with the joint. A mirrored motor or a
reversed direction makes the two disagree in sign, whatever the files say.

Present_Load (docs/domain.md section 10): magnitude in 0.1 % of the servo's maximum torque,
direction in bit 10. *Assumed* (not verified on STS3215 firmware): a positive load pushes
toward increasing Present_Position (:data:`LOAD_SIGN`). If every loaded joint of a
healthy arm reads reversed, the firmware uses the other sign; the failure says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.joints import MOTOR_NAMES, JointLimits
from ..core.mapping import RAD_TO_DEG
from ..core.measurement import Evidence, Measurement
from .base import Check, Inputs, on_arms
from .causes import drive_mode_reverses, explain_reversed

#: Present_Load > 0 pushes toward increasing Present_Position (assumed; see above).
LOAD_SIGN = 1
#: A joint counts as loaded when gravity needs at least this much torque to hold it (N m).
LOADED_NM = 0.08
#: Below this fraction of the maximum torque a load reading says nothing about direction.
NOISE_FLOOR = 0.015
#: A joint this close to a limit may rest on its stop, which then takes the load (deg).
NEAR_LIMIT_DEG = 3.0
#: The measured torque may differ from the model's by this factor either way (friction,
#: masses of a real arm, PWM vs torque): the magnitude is advisory, the sign is firm.
MAGNITUDE_BAND = (0.25, 4.0)


@dataclass(frozen=True)
class GravitySample:
    """One held pose: where the arm is known to be, what the model and the servos say."""

    pose_name: str
    q_known_rad: np.ndarray       # sim frame, motor order: known independently of the servos
    model_nm: np.ndarray          # torque the model needs to hold it there (sim frame)
    load_fraction: np.ndarray     # Present_Load / full scale, servo frame, signed


def _loaded(sample: GravitySample, limits: JointLimits, j: int) -> bool:
    q_deg = sample.q_known_rad[j] * RAD_TO_DEG
    near_stop = min(q_deg - limits.lower_deg[j], limits.upper_deg[j] - q_deg) < NEAR_LIMIT_DEG
    return abs(sample.model_nm[j]) >= LOADED_NM and not near_stop


def check_gravity_loads(samples: list[GravitySample], *, ticks_per_sim: np.ndarray,
                        max_torque_nm: np.ndarray, limits: JointLimits,
                        evidence: Evidence, declared_direction: np.ndarray | None = None,
                        drive_mode_reversed: np.ndarray | None = None) -> list[Measurement]:
    """Per loaded joint: the measured holding torque, brought into the sim frame through
    the *declared* direction (``ticks_per_sim``: sign of d ticks / d q_sim from the mapping
    and calibration), over the model's; its sign must be positive (firm), its size within
    a loose band (advisory). Joints loaded at no sampled pose get no measurement."""
    declared = np.sign(ticks_per_sim) * LOAD_SIGN
    ratios: dict[int, list[tuple[float, GravitySample]]] = {}
    for sample in samples:
        measured_nm = sample.load_fraction * max_torque_nm * declared
        for j in range(len(MOTOR_NAMES)):
            if _loaded(sample, limits, j):
                ratios.setdefault(j, []).append(
                    (float(measured_nm[j] / sample.model_nm[j]), sample))
    reversed_joints = {j for j, rs in ratios.items()
                       if any(r < 0 and abs(s.load_fraction[j]) >= NOISE_FLOOR for r, s in rs)}
    everything = len(ratios) >= 2 and reversed_joints == set(ratios)
    out = []
    for j, rs in sorted(ratios.items()):
        joint = MOTOR_NAMES[j]
        firm = [(r, s) for r, s in rs if abs(s.load_fraction[j]) >= NOISE_FLOOR]
        worst_r, worst_s = min(firm or rs, key=lambda pair: pair[0])
        detail = (f"held at {worst_s.pose_name} ({worst_s.q_known_rad[j] * RAD_TO_DEG:.1f} deg "
                  f"sim): the model needs {worst_s.model_nm[j]:+.3f} N m, the servo reports "
                  f"Present_Load {worst_s.load_fraction[j] * 100:+.1f} % "
                  f"({worst_s.load_fraction[j] * max_torque_nm[j]:+.3f} N m in its own frame); "
                  f"{len(rs)} loaded pose(s)")
        reason, remedy = explain_reversed(
            j, declared_direction=None if declared_direction is None else
            float(declared_direction[j]),
            drive_mode_reversed=bool(drive_mode_reversed is not None and drive_mode_reversed[j]))
        cause = ("the servo pushes against gravity the other way round than the declared "
                 f"chain turns it: {reason}")
        if everything:
            cause += ("; every loaded joint reads reversed, so the servos may report "
                      "Present_Load with the opposite sign (assumed, not verified, for this "
                      "firmware): confirm with --so101-guided")
        fix = f"check {joint} with --so101-guided; {remedy}"
        loads = np.array([sample.load_fraction[j] for _, sample in rs])
        model = np.array([sample.model_nm[j] for _, sample in rs])
        if len(rs) >= 2 and np.ptp(loads) < NOISE_FLOOR and np.ptp(model) >= LOADED_NM / 2:
            cause = (f"Present_Load reads {loads.mean() * 100:+.1f} % at every held pose while "
                     f"the model's torque goes from {model.min():+.3f} to {model.max():+.3f} "
                     "N m: the load reading does not follow the arm's weight (an overload or "
                     "a lockup: see the servo health suite's load at rest), so its sign says "
                     "nothing about the direction")
            fix = (f"clear {joint}'s overload (torque off, power the servo off and on), then run "
                   "again; --so101-guided checks its direction without the load reading")
        else:
            cause += ("; unless Present_Load itself is wrong (the servo health suite's load at "
                      "rest names an overload or lockup)")
        if firm:
            out.append(Measurement("gravity load direction", joint, worst_r, "x", 0.0, None,
                                   detail, cause=cause, fix=fix, evidence=evidence))
        spread = max(rs, key=lambda pair: abs(np.log(max(abs(pair[0]), 1e-6))))
        out.append(Measurement(
            "gravity load / model", joint, spread[0], "x", *MAGNITUDE_BAND,
            f"at {spread[1].pose_name}: measured over modelled holding torque; advisory "
            "(friction, a real arm's masses and PWM-based load readings differ from the model)",
            evidence=evidence, advisory=True))
    return out


@dataclass(frozen=True)
class HeldUnderGravity:
    """The arm held still at known poses: the samples, the servos' maximum torque (N m,
    the model's actuator limits: Present_Load's 100 %) and a pose near which the declared
    chain's direction (d ticks / d q_sim) is taken (the rest pose)."""

    samples: list[GravitySample]
    max_torque_nm: np.ndarray
    q_reference_rad: np.ndarray


def check_gravity(i: Inputs) -> list[Measurement]:
    """:func:`check_gravity_loads` through the declared chain of the files under test."""
    held: HeldUnderGravity = i["gravity"]
    frames = ArmFrames(i.calibration, i.mapping)
    q = np.asarray(held.q_reference_rad, dtype=float)
    ticks_per_sim = frames.sim_to_ticks(q + 1e-3) - frames.sim_to_ticks(q)
    units = i.mapping.robot_units
    return check_gravity_loads(
        held.samples, ticks_per_sim=ticks_per_sim, max_torque_nm=held.max_torque_nm,
        limits=i.limits, evidence=Evidence.TWIN,
        declared_direction=i.mapping.sim_to_robot.direction,
        drive_mode_reversed=np.array([drive_mode_reverses(i.calibration, units, j)
                                      for j in range(len(units))]))


CHECKS: tuple[Check, ...] = (
    Check("gravity", "gravity load vs the model", "gravity",
          ("calibration", "sim_to_robot", "gravity"), check_gravity,
          catches="a mirrored motor or a reversed direction on a loaded joint (shoulder_lift, "
          "elbow_flex, wrist_flex), whatever the files say: the servo pushes against gravity "
          "the other way round than the declared chain turns it",
          tolerance="the sign of the holding load (firm); its size within "
          f"{MAGNITUDE_BAND[0]:g}..{MAGNITUDE_BAND[1]:g} x the model's (advisory)",
          evidence=on_arms(twin=Evidence.TWIN, motion=Evidence.PHYSICAL), suite="gravity",
          empty_reason="no joint is loaded by gravity at the sampled poses"),
)
