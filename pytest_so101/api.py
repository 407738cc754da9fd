"""pytest-so101's public API: what your own tests and tools may call, kept stable.

Everything here is importable from ``pytest_so101.api`` (docs/own_tests.md walks through
it, with examples the project's tests run). Units and frames are in the names: ``q_sim_rad``
is a joint vector in the MuJoCo model's frame (radians, shape (6,), motor order
shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper; batches are
(k, 6)); ``ticks`` are servo positions 0..4095; robot units are LeRobot's (degrees,
-100..100, 0..100 for the gripper).

Files (each error one line naming the file, the joint and the value, a
:class:`So101ConfigError`):
    :func:`load_calibration` -> :class:`Calibration` (a LeRobot calibration JSON),
    :func:`load_mapping` -> :class:`MappingFile` (the sim <-> robot <-> policy map),
    :func:`load_stats` -> :class:`NormStats` (a policy's or a dataset's normalization stats).

Maps and conversions:
    :class:`JointMap` (``y = direction * scale * x + offset`` per joint; ``apply``,
    ``inverse``), ``MappingFile.for_calibration(cal).sim_to_robot`` (sim rad -> robot
    units of that arm), :func:`lerobot_mapping` (the bundled map for LeRobot's
    ``use_degrees``), :func:`reference_sim_to_policy` (sim rad -> the policy's frame through
    the robot's units), :func:`ticks_to_units` / :func:`units_to_ticks` (LeRobot's formulas,
    arrays (..., 6)).

Checks you can run on your own code's output (each returns one :class:`Measurement` per
joint; ``Measurement.passed``, ``.outcome``, ``.summary()``):
    :func:`check_map_matches_reference` (your map against a reference over each joint's
    whole range, deg), :func:`check_normalized_near_zero` (a pose, normalized by the stats,
    near 0; advisory unless ``strict=True``).

The model: :class:`SimModel` (MuJoCo; imported on first use): ``SimModel().site_position(
q_sim_rad)`` is the gripper frame's world position in metres, shape (3,) for one pose and
(k, 3) for a batch of (k, 6).

An arm at connect: :func:`check_at_connect` opens the port with
:class:`~pytest_so101.bus.feetech.FeetechBus`, reads the arm once (nothing is written),
judges the checks of :data:`AT_CONNECT` (and, given stats, :data:`OF_STATS`) and closes
the port; a problem is one line naming the joint, the value, the likely cause and the fix.
LeRobot's checked follower runs it (``integrations/lerobot_robot_so101_checked``,
docs/lerobot.md). Only the check modules it runs are imported (no MuJoCo, no pytest).

Hypothesis strategies for your property tests: :mod:`pytest_so101.strategies`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .bus import telemetry
from .bus.feetech import BusError, FeetechBus
from .bus.readings import read_only
from .checks import configuration, health, hil, normalization, rest_pose
from .checks.base import Check, CheckResult, Inputs, Setup, run_check
from .checks.causes import arm_not_at_rest
from .checks.configuration import check_map_matches_reference
from .checks.normalization import check_normalized_near_zero
from .core.arm_frames import ArmFrames
from .core.calibration import Calibration, load_calibration
from .core.chain import reference_sim_to_policy
from .core.errors import So101ConfigError, config_error
from .core.frames import PolicyFrame, RobotUnit, ticks_to_units, units_to_ticks
from .core.joints import MOTOR_NAMES
from .core.lerobot_maps import lerobot_mapping
from .core.mapping import JointMap, MappingFile, load_mapping
from .core.measurement import Measurement, Outcome
from .core.poses import RestPose
from .core.stats import NormStats, load_stats
from .core.tolerances import Tolerances

# SimModel: the module's __getattr__ (MuJoCo imported on first use)
__all__ = [
    "AT_CONNECT", "OF_STATS", "Calibration", "ConnectCheck", "JointMap", "MappingFile",
    "Measurement", "NormStats", "Outcome", "PolicyFrame", "RobotUnit",
    "SimModel",  # noqa: F822
    "So101ConfigError", "check_at_connect", "check_map_matches_reference",
    "check_normalized_near_zero", "lerobot_mapping", "load_calibration", "load_mapping",
    "load_stats", "reference_sim_to_policy", "ticks_to_units", "units_to_ticks",
]


def __getattr__(name: str) -> object:
    """``SimModel`` imported on first use: MuJoCo costs a program that never needs it."""
    if name == "SimModel":
        from .sim.model import SimModel

        return SimModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The read-only checks run at connect, in order: the calibration the servos carry against
#: the file, every joint inside its recorded sweep (torque on clamps a goal outside it into
#: the limits, and the joint jumps there), the servos' status bits, supply and temperature,
#: and, folded on its stops, the rest pose. The bus scan (about 0.4 s), the read noise, the
#: firmware and LeRobot's settings (which LeRobot writes at every connect) are left to
#: ``so101-diagnose --port`` and the suites.
AT_CONNECT = ("registers-vs-file", "position-in-range", "status-bits", "supply-voltage",
              "temperature", "rest-reading")
#: With a policy's stats: the stats' frame against the robot's units.
OF_STATS = ("robot-units-vs-policy-frame", "stats-frame")
#: Position reads at connect (the rest pose and the range check use the last) and health
#: samples (supply, temperature, status): one pass, well within a second.
POSITION_READS = 3
HEALTH_SAMPLES = 1

_BY_NAME: dict[str, Check] = {c.name: c for module in (hil, health, rest_pose, configuration,
                                                       normalization) for c in module.CHECKS}


@dataclass(frozen=True)
class ConnectCheck:
    """The read-only checks of an arm at connect: each check's result, what was not
    checked and why (``notes``), the joints whose torque was found on and switched off
    because of a problem, and how long it took (s, port open to close)."""

    port: str
    results: tuple[CheckResult, ...] = ()
    notes: tuple[str, ...] = ()
    torque_switched_off: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    problems: tuple[str, ...] = field(init=False)
    marginal: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        problems = [r.error for r in self.results if r.error]
        problems += [m.summary() for r in self.results for m in r.failed]
        marginal = [m.summary() for r in self.results for m in r.measurements
                    if m.outcome is Outcome.MARGINAL]
        object.__setattr__(self, "problems", tuple(problems))
        object.__setattr__(self, "marginal", tuple(marginal))

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checked(self) -> tuple[str, ...]:
        """The checks that judged something."""
        return tuple(r.name for r in self.results if r.measurements or r.error)


def robot_units_guard(mapping: MappingFile, robot_units: Sequence[RobotUnit]) -> None:
    """A mapping whose ``[sim_to_robot]`` units are not what the robot reports (LeRobot's
    ``use_degrees``) would judge every reading in the wrong unit: one line naming the file,
    the joint and both units."""
    declared = mapping.robot_units
    if declared is None:
        return
    for joint, mine, robot in zip(MOTOR_NAMES, declared, robot_units, strict=True):
        if mine != robot:
            raise config_error(
                f"[sim_to_robot] declares {mine.value} but the robot reports {robot.value} "
                "(LeRobot's use_degrees: true reads degrees, false range_m100_100); use a "
                "mapping written for these units, or set use_degrees to match it",
                source=mapping.source, joint=joint, field="sim_to_robot.units",
                value=mine.value)


def _not_folded(inputs: Inputs) -> str:
    """'' when the arm reads folded in its rest pose (a joint or two off are faults of
    their own: a mirrored motor, a shifted zero), else why it is not."""
    frames = ArmFrames(inputs.calibration, inputs.mapping)
    reading = np.asarray(inputs["positions"])[-1]
    found = arm_not_at_rest(frames.ticks_to_sim(reading), inputs["rest_pose"].q_sim_rad,
                            reading_ticks=reading, cal=inputs.calibration)
    if found is None:
        return ""
    cause, _ = found
    return (f"rest pose not checked: {cause}; fold it on its stops before connecting to have "
            "it checked")


def _read(bus: FeetechBus) -> tuple[dict[str, object], str]:
    """One pass of read-only readings, and the bus error that cut it short ('' if none):
    then the servos' own registers and health (status bits returned, never raised), which
    say why a servo refuses to answer (an overload, a voltage error) with the fix."""
    try:
        return read_only(bus, scan=False, trace_samples=HEALTH_SAMPLES,
                         position_reads=POSITION_READS), ""
    except BusError as exc:
        records = telemetry.read_records(bus, bus.ids, MOTOR_NAMES)
        return {"records": records,
                "trace": telemetry.trace(bus, bus.ids, MOTOR_NAMES, samples=HEALTH_SAMPLES)}, \
            str(exc)


def _torque_off(bus: FeetechBus, readings: dict[str, object],
                results: list[CheckResult]) -> list[str]:
    """Refusing: switch off the torque of the servos found with it on (nothing is written
    when none was); the joints switched off. A servo that cannot be confirmed off is a
    problem of its own."""
    on = [rec.joint for rec in readings["records"] if rec.registers.get("Torque_Enable")]
    if not on:
        return []
    unconfirmed = bus.disable_torque()
    if unconfirmed:
        results.append(CheckResult(_BY_NAME["servo-identity"], error=(
            f"{bus.port}: torque could not be confirmed off on {', '.join(unconfirmed)}; "
            "switch the arm's power off")))
    return [j for j in on if not any(j in u for u in unconfirmed)]


def _wanted(names: Sequence[str], calibration: Calibration | None,
            mapping: MappingFile | None, stats: NormStats | None) -> list[Check]:
    """The checks by name, less those needing a file the caller did not give (it says why)."""
    given = {"calibration": calibration, "mapping": mapping, "stats": stats}
    return [_BY_NAME[n] for n in names
            if all(given[need] is not None for need in _BY_NAME[n].needs if need in given)]


def check_at_connect(port: str, calibration: Calibration | None = None,
                     mapping: MappingFile | None = None, stats: NormStats | None = None, *,
                     rest: RestPose | None = None, tolerances: Tolerances | None = None,
                     torque_off_on_problem: bool = True,
                     baudrate: int | None = None) -> ConnectCheck:
    """Read the arm on ``port`` once, read-only, and judge :data:`AT_CONNECT` (and
    :data:`OF_STATS` given ``stats``). A check whose file is not given is left out (the
    caller says why); ``rest`` is the pose the arm reads folded
    (:func:`pytest_so101.sim.model.rest_pose_of`), without it the rest pose is not checked.

    With a problem, a servo found with torque on is switched off before the port closes
    (``torque_off_on_problem``): a refused connect leaves the arm limp; nothing else is
    ever written. A bus that does not answer is one problem line naming the port."""
    started = time.monotonic()
    inputs = Inputs(calibration, stats, mapping, None, tolerances or Tolerances(),
                    Setup.HARDWARE)
    of_arm = _wanted(AT_CONNECT, calibration, mapping, stats)
    of_files = _wanted(OF_STATS, calibration, mapping, stats) if stats is not None else []
    results = [run_check(c, inputs) for c in of_files]
    notes: list[str] = []
    switched: list[str] = []
    kwargs = {"baudrate": baudrate} if baudrate else {}
    try:
        with FeetechBus(port, **kwargs) as bus:
            readings, bus_error = _read(bus)
            inputs = inputs.with_readings(**readings, rest_pose=rest)
            if bus_error:            # judge what the servos still said of themselves
                of_arm = [c for c in of_arm if not c.missing(inputs)]
            elif rest is not None and calibration is not None and mapping is not None \
                    and mapping.sim_to_robot is not None and (why := _not_folded(inputs)):
                notes.append(why)
                of_arm = [c for c in of_arm if c.name != "rest-reading"]
            results = [run_check(c, inputs) for c in of_arm] + results
            if bus_error and not any(r.name == "status-bits" and r.failed for r in results):
                results.insert(0, CheckResult(_BY_NAME["servo-identity"], error=bus_error))
            if torque_off_on_problem and any(not r.ok for r in results):
                switched = _torque_off(bus, readings, results)
    except BusError as exc:       # the port: nothing is known of the arm
        results.insert(0, CheckResult(_BY_NAME["servo-identity"], error=str(exc)))
    notes += [f"{r.title}: not checked ({r.skipped})" for r in results
              if r.skipped and not r.measurements]
    return ConnectCheck(port, tuple(results), tuple(notes), tuple(switched),
                        time.monotonic() - started)
