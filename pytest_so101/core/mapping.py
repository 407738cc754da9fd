"""Per-joint affine maps ``y = direction * scale * x + offset`` (the paired-poses method)
and the mapping file.

A :class:`JointMap` relates two frames joint by joint: apply it, invert it, compose it,
or solve it from paired poses. :func:`load_mapping` reads and validates the TOML
mapping file of architecture.md (``[sim]``, ``[sim_to_robot]``, ``[sim_to_policy]``,
``[policy]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import files
from .calibration import Calibration
from .errors import config_error
from .frames import TICKS_PER_RAD, PolicyFrame, RobotUnit, expand_units, parse_policy_frame
from .joints import KNOWN_MODELS, MOTOR_NAMES, N_JOINTS, JointLimits

RAD_TO_DEG = 180.0 / np.pi


@dataclass(frozen=True)
class JointMap:
    """``y = direction * scale * x + offset`` per joint, arrays of shape (6,), motor order."""

    offset: np.ndarray
    scale: np.ndarray
    direction: np.ndarray
    name: str = "map"
    source: str = "<memory>"

    def __post_init__(self) -> None:
        arrays = {}
        for key in ("offset", "scale", "direction"):
            values = np.asarray(getattr(self, key), dtype=float)
            if values.shape != (N_JOINTS,):
                raise config_error(f"{self.name} must have {N_JOINTS} values in motor order",
                                   source=self.source, field=f"{self.name}.{key}",
                                   value=values.tolist())
            arrays[key] = values
        for i, joint in enumerate(MOTOR_NAMES):
            for key, values in arrays.items():
                if not np.isfinite(values[i]):
                    raise config_error("must be finite", source=self.source, joint=joint,
                                       field=f"{self.name}.{key}", value=float(values[i]))
            if arrays["scale"][i] <= 0:
                raise config_error("scale must be > 0 (put the sign in direction)",
                                   source=self.source, joint=joint, field=f"{self.name}.scale",
                                   value=float(arrays["scale"][i]))
            if arrays["direction"][i] not in (1.0, -1.0):
                raise config_error("direction must be 1 or -1", source=self.source, joint=joint,
                                   field=f"{self.name}.direction",
                                   value=float(arrays["direction"][i]))
        for key, values in arrays.items():
            values.setflags(write=False)
            object.__setattr__(self, key, values)

    @classmethod
    def identity(cls, name: str = "identity") -> JointMap:
        return cls(np.zeros(N_JOINTS), np.ones(N_JOINTS), np.ones(N_JOINTS), name=name)

    @classmethod
    def from_affine(cls, slope: np.ndarray, intercept: np.ndarray, *, name: str = "map",
                    source: str = "<memory>") -> JointMap:
        """The map ``y = slope * x + intercept``; a zero slope cannot be a map."""
        slope = np.asarray(slope, dtype=float)
        for i, joint in enumerate(MOTOR_NAMES):
            if slope[i] == 0 or not np.isfinite(slope[i]):
                raise config_error("slope must be finite and non-zero", source=source,
                                   joint=joint, field=f"{name}.slope", value=float(slope[i]))
        return cls(intercept, np.abs(slope), np.sign(slope), name=name, source=source)

    @property
    def slope(self) -> np.ndarray:
        return self.direction * self.scale

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Map values of shape (..., 6)."""
        return self.slope * np.asarray(x, dtype=float) + self.offset

    def inverse(self) -> JointMap:
        """``x = direction * (1/scale) * y - direction * offset / scale``."""
        return JointMap(-self.direction * self.offset / self.scale, 1.0 / self.scale,
                        self.direction, name=f"inverse({self.name})", source=self.source)

    def then(self, other: JointMap) -> JointMap:
        """The composition ``other(self(x))``."""
        return JointMap(other.slope * self.offset + other.offset, other.scale * self.scale,
                        other.direction * self.direction, name=f"{other.name}∘{self.name}",
                        source=self.source)

    def describe(self, joint: int, x: str = "x") -> str:
        """Human form of one joint's map, e.g. ``-(57.2958 * x) + 90``."""
        term = f"{self.scale[joint]:g} * {x}" if self.scale[joint] != 1 else x
        sign = "-" if self.direction[joint] < 0 else ""
        off = self.offset[joint]
        tail = f" {'+' if off >= 0 else '-'} {abs(off):g}" if off else ""
        return f"{sign}{term}{tail}" if not sign else f"-({term}){tail}"


@dataclass(frozen=True)
class SolvedMap:
    """A map fitted to paired poses, with the fit residuals per joint (output units)."""

    map: JointMap
    residual_rms: np.ndarray
    residual_max: np.ndarray
    n_poses: int


def solve_map(x: np.ndarray, y: np.ndarray, *, scale: np.ndarray | None = None,
              direction: np.ndarray | None = None, name: str = "map",
              source: str = "paired poses") -> SolvedMap:
    """Fit ``y = direction * scale * x + offset`` per joint by least squares.

    ``x`` and ``y`` have shape (k, 6): k paired poses in the two frames. With ``scale``
    and ``direction`` known, one pose fixes the offset; otherwise each joint needs two
    poses that move it, and a pose set that does not is an error naming the joint.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if x.shape != y.shape or x.ndim != 2 or x.shape[1] != N_JOINTS:
        raise config_error(f"paired poses must both have shape (k, {N_JOINTS})", source=source,
                           value=(x.shape, y.shape))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise config_error("paired poses must be finite", source=source)
    k = x.shape[0]
    slope = np.empty(N_JOINTS)
    offset = np.empty(N_JOINTS)
    for j, joint in enumerate(MOTOR_NAMES):
        xj, yj = x[:, j], y[:, j]
        spread = np.ptp(xj)
        if scale is not None and direction is not None:
            slope[j] = float(direction[j]) * float(scale[j])
        else:
            if k < 2 or spread <= 1e-9 * max(1.0, np.abs(xj).max()):
                raise config_error(
                    f"the {k} pose(s) do not move this joint, so its direction and scale are "
                    "undetermined; add a pose that moves it (or give scale and direction)",
                    source=source, joint=joint, field="x", value=xj.tolist())
            fitted = np.polyfit(xj, yj, 1)[0]
            if scale is not None:
                slope[j] = float(np.sign(fitted) or 1.0) * float(scale[j])
            else:
                slope[j] = fitted
            if abs(fitted) <= 1e-12 * max(1.0, np.abs(yj).max()):
                raise config_error("the reading does not change when this joint moves",
                                   source=source, joint=joint, field="y", value=yj.tolist())
        offset[j] = float(np.mean(yj - slope[j] * xj))
    fitted_map = JointMap.from_affine(slope, offset, name=name, source=source)
    residual = y - fitted_map.apply(x)
    return SolvedMap(fitted_map, np.sqrt(np.mean(residual**2, axis=0)),
                     np.abs(residual).max(axis=0), k)


# -- the mapping file ------------------------------------------------------------------

SIM_SIDE_UNITS = ("radians", "degrees")
_TABLE_KEYS = {
    "sim": {"model", "joints", "reference_pose", "rest_pose"},
    "sim_to_robot": {"units", "input", "offset", "scale", "direction", "zero_at"},
    "sim_to_policy": {"input", "offset", "scale", "direction", "zero_at"},
    "policy": {"frame"},
}


@dataclass(frozen=True)
class MappingFile:
    """A validated mapping file. Maps take sim *radians* whatever ``input`` the file declared."""

    source: str
    model: str = "so101-new-calib"
    sim_joint_names: tuple[str, ...] = MOTOR_NAMES
    sim_to_robot: JointMap | None = None
    robot_units: tuple[RobotUnit, ...] | None = None
    sim_to_policy: JointMap | None = None
    policy_frame: PolicyFrame | None = None
    reference_pose_rad: np.ndarray = field(default_factory=lambda: np.zeros(N_JOINTS))
    reference_pose_name: str = "sim zero"
    #: The folded rest pose the arm lies in on its stops (sim rad), when the file gives
    #: one (``[sim] rest_pose``); else the model's ``rest`` keyframe is used.
    rest_pose_rad: np.ndarray | None = None
    #: Joints whose ``[sim_to_robot]`` / ``[sim_to_policy]`` offset and scale come from the
    #: calibration (``"calibration"`` in the file), each with the sim angle (rad) where it
    #: reads 0 when the file says (``zero_at``), and the calibration they were derived from
    #: (None: provisional, the sweep taken to be the model's range).
    robot_derived: Mapping[int, float | None] = field(default_factory=dict)
    policy_derived: Mapping[int, float | None] = field(default_factory=dict)
    derived_from: str | None = None

    def for_calibration(self, calibration: Calibration | None) -> MappingFile:
        """This mapping with its calibration-derived joints mapped from ``calibration``'s
        sweeps (itself when it has none, or without a calibration)."""
        if calibration is None or not (self.robot_derived or self.policy_derived):
            return self
        sim_to_robot = derived_map(self.sim_to_robot, self.robot_derived, self.robot_units,
                                   self.joint_limits, calibration) \
            if self.sim_to_robot is not None else None
        sim_to_policy = derived_map(self.sim_to_policy, self.policy_derived,
                                    self.policy_frame.units, self.joint_limits, calibration) \
            if self.sim_to_policy is not None else None
        return replace(self, sim_to_robot=sim_to_robot, sim_to_policy=sim_to_policy,
                       derived_from=calibration.source)

    def __repr__(self) -> str:
        tables = [name for name in ("sim_to_robot", "sim_to_policy") if getattr(self, name)]
        frame = f", policy {self.policy_frame.value}" if self.policy_frame else ""
        maps = "+".join(tables) or "no maps"
        return f"MappingFile({self.source!r}, {self.model}, {maps}{frame})"

    _repr_pretty_ = files.pretty_as_repr

    @property
    def joint_limits(self) -> JointLimits:
        return KNOWN_MODELS[self.model].limits

    def to_motor_order(self, q_by_sim_name: Mapping[str, float]) -> np.ndarray:
        """Sim joint values keyed by the model's joint names -> array (6,) in motor order.

        E.g. the paired-poses method's ``{'Rotation': 0.0, 'Pitch': -3.32, ...}`` for the
        SO-100 menagerie.
        Extra names (other joints of the model) are ignored; a missing one is an error.
        """
        missing = [n for n in self.sim_joint_names if n not in q_by_sim_name]
        if missing:
            known = ", ".join(sorted(map(str, q_by_sim_name))) or "none"
            raise config_error(f"sim joint missing (got {known})", source=self.source,
                               joint=MOTOR_NAMES[self.sim_joint_names.index(missing[0])],
                               field="sim joint name", value=missing[0])
        return np.array([float(q_by_sim_name[n]) for n in self.sim_joint_names])


#: A declared pose may lie this far beyond the model's joint limits (rad): some models'
#: own rest keyframe does (the SO-100 menagerie's shoulder, 0.18 rad beyond its range).
POSE_SLACK_RAD = 0.35


def _within_reach(q_sim_rad: np.ndarray, limits: JointLimits, *, source: str,
                  field_name: str) -> None:
    """A declared pose the arm can be in: within the model's limits, give or take a little."""
    for j, joint in enumerate(MOTOR_NAMES):
        if not limits.lower_rad[j] - POSE_SLACK_RAD <= q_sim_rad[j] <= \
                limits.upper_rad[j] + POSE_SLACK_RAD:
            raise config_error(
                f"outside the {limits.source} range [{limits.lower_rad[j]:.4g}, "
                f"{limits.upper_rad[j]:.4g}] rad (the joint cannot rest there)",
                source=source, joint=joint, field=field_name, value=float(q_sim_rad[j]))


#: The value of ``offset`` and ``scale`` for a joint whose map comes from the calibration.
FROM_CALIBRATION = "calibration"


def per_joint(raw: object, *, source: str, field_name: str,
              derivable: bool = False) -> np.ndarray:
    """A list of six finite numbers, or a table keyed by all six motor names. With
    ``derivable``, a joint may say ``"calibration"`` instead: NaN in the array."""
    if isinstance(raw, Mapping):
        unknown = [k for k in raw if k not in MOTOR_NAMES]
        if unknown:
            raise config_error(f"unknown joint name; expected {', '.join(MOTOR_NAMES)}",
                               source=source, joint=unknown[0], field=field_name)
        missing = [k for k in MOTOR_NAMES if k not in raw]
        if missing:
            raise config_error("value missing for this joint", source=source, joint=missing[0],
                               field=field_name)
        raw = [raw[k] for k in MOTOR_NAMES]
    if not isinstance(raw, list) or len(raw) != N_JOINTS:
        raise config_error(f"must be a list of {N_JOINTS} numbers in motor order or a table "
                           "keyed by joint name", source=source, field=field_name, value=raw)
    values = []
    for joint, value in zip(MOTOR_NAMES, raw, strict=True):
        if derivable and value == FROM_CALIBRATION:
            values.append(np.nan)
            continue
        number = files.number(value, source=source, joint=joint, field=field_name)
        values.append(files.finite(number, source=source, joint=joint, field=field_name))
    return np.array(values)


def _names(raw: object, allowed: Sequence[str], *, source: str,
           field_name: str) -> tuple[str, ...]:
    """One name for every joint, or a list of six names, each one of ``allowed``."""
    names = [raw] * N_JOINTS if isinstance(raw, str) else raw
    if not isinstance(names, list) or len(names) != N_JOINTS:
        raise config_error(f"must be one of {', '.join(allowed)} or a list of {N_JOINTS}",
                           source=source, field=field_name, value=raw)
    for joint, name in zip(MOTOR_NAMES, names, strict=True):
        if not isinstance(name, str) or name not in allowed:
            raise config_error(f"must be one of {', '.join(allowed)}", source=source,
                               joint=joint, field=field_name, value=name)
    return tuple(names)


def _sim_side_scale(raw: object, *, source: str, field_name: str) -> np.ndarray:
    """Factor from sim radians to the declared sim-side unit, per joint."""
    names = _names(raw, SIM_SIDE_UNITS, source=source, field_name=field_name)
    return np.array([RAD_TO_DEG if name == "degrees" else 1.0 for name in names])


def _joint_map(table: Mapping[str, object], name: str, *, source: str,
               units: tuple[RobotUnit, ...], limits: JointLimits
               ) -> tuple[JointMap, dict[int, float | None]]:
    """The declared map, taking sim radians whatever ``input`` it declares, and the joints
    whose offset and scale come from the calibration (``"calibration"``), each with the sim
    angle (rad) where it reads 0 when the table says (``zero_at``). Their values are
    provisional until a calibration is given (:func:`derived_map`)."""
    for key in ("offset", "scale", "direction"):
        if key not in table:
            raise config_error("key missing", source=source, field=f"{name}.{key}")
    offset = per_joint(table["offset"], source=source, field_name=f"{name}.offset",
                       derivable=True)
    scale = per_joint(table["scale"], source=source, field_name=f"{name}.scale",
                      derivable=True)
    direction = per_joint(table["direction"], source=source, field_name=f"{name}.direction")
    to_input = _sim_side_scale(table.get("input", "radians"), source=source,
                               field_name=f"{name}.input")
    derived = [j for j in range(N_JOINTS) if np.isnan(offset[j]) or np.isnan(scale[j])]
    for j in derived:
        joint = MOTOR_NAMES[j]
        if not (np.isnan(offset[j]) and np.isnan(scale[j])):
            raise config_error(f'offset and scale are "{FROM_CALIBRATION}" together, or '
                               "neither", source=source, joint=joint, field=f"{name}.offset")
        if units[j] not in RANGE_SPAN:
            raise config_error(
                f'"{FROM_CALIBRATION}" derives a joint read in 0..100 or -100..100 (its span is '
                f"the recorded sweep); this joint is read in {units[j].value}, whose scale is "
                "fixed: give it as a number", source=source, joint=joint,
                field=f"{name}.scale")
        offset[j], scale[j] = 0.0, 1.0        # placeholders, replaced just below
    zero_at = files.table(table.get("zero_at", {}), source=source, field=f"{name}.zero_at")
    anchors: dict[int, float | None] = dict.fromkeys(derived)
    for joint, value in zero_at.items():
        if joint not in MOTOR_NAMES or MOTOR_NAMES.index(joint) not in anchors:
            raise config_error(f'zero_at names a joint whose offset and scale are '
                               f'"{FROM_CALIBRATION}" (here: '
                               f"{', '.join(MOTOR_NAMES[j] for j in derived) or 'none'})",
                               source=source, joint=str(joint), field=f"{name}.zero_at")
        j = MOTOR_NAMES.index(joint)
        angle = files.finite(files.number(value, source=source, joint=joint,
                                          field=f"{name}.zero_at"),
                             source=source, joint=joint, field=f"{name}.zero_at")
        anchors[j] = angle / to_input[j]                  # in sim radians
        _within_reach(np.where(np.arange(N_JOINTS) == j, anchors[j], 0.0), limits,
                      source=source, field_name=f"{name}.zero_at")
    as_written = JointMap(offset, scale, direction, name=name, source=source)   # validated
    with np.errstate(over="ignore"):        # a scale that overflows is refused as not finite
        scale_from_rad = as_written.scale * to_input
    declared = JointMap(offset, scale_from_rad, direction, name=name, source=source)
    return derived_map(declared, anchors, units, limits, None), anchors


#: The span of a range unit's values: what a recorded sweep maps onto.
RANGE_SPAN = {RobotUnit.RANGE_0_100: 100.0, RobotUnit.RANGE_M100_100: 200.0}


def derived_map(declared: JointMap, derived: Mapping[int, float | None],
                units: tuple[RobotUnit, ...], limits: JointLimits,
                calibration: Calibration | None) -> JointMap:
    """``declared`` with the joints of ``derived`` mapped from their calibrated sweep: one
    servo turn per joint turn over the sweep LeRobot recorded (``range_max - range_min``),
    reading 0 at the sim angle ``derived[j]`` gives (rad), by default -100..100's 0 (the
    sweep's middle) at sim 0 as LeRobot's degrees zero, 0..100's 0 (the gripper closed) at
    the model's lower limit (its upper one for direction -1). Without a calibration the
    sweep is taken to be the model's range (provisional)."""
    if not derived:
        return declared
    offset, scale = declared.offset.copy(), declared.scale.copy()
    for j, zero_at in derived.items():
        sweep_rad = (float(calibration.range_max[j] - calibration.range_min[j]) / TICKS_PER_RAD
                     if calibration is not None else
                     float(limits.upper_rad[j] - limits.lower_rad[j]))
        scale[j] = RANGE_SPAN[units[j]] / sweep_rad
        if zero_at is None:
            closed = limits.lower_rad[j] if declared.direction[j] > 0 else limits.upper_rad[j]
            zero_at = closed if units[j] is RobotUnit.RANGE_0_100 else 0.0
        offset[j] = -declared.direction[j] * scale[j] * zero_at
    return JointMap(offset, scale, declared.direction, name=declared.name,
                    source=declared.source)


def _sim_joint_names(sim: Mapping[str, object], model: str, *, source: str) -> tuple[str, ...]:
    """The model's joint name of each motor: the model's own order, renamed by ``joints``."""
    known = KNOWN_MODELS[model].joint_names
    names = list(known)
    joints = files.table(sim.get("joints", {}), source=source, field="sim.joints")
    for motor, sim_name in joints.items():
        if motor not in MOTOR_NAMES:
            raise config_error(f"unknown joint name; expected {', '.join(MOTOR_NAMES)}",
                               source=source, joint=motor, field="sim.joints")
        if not isinstance(sim_name, str) or not sim_name:
            raise config_error("sim joint name must be a non-empty string", source=source,
                               joint=motor, field="sim.joints", value=sim_name)
        if sim_name not in known:
            raise config_error(f"not a joint of the model {model}; its joints are "
                               f"{', '.join(known)}", source=source, joint=motor,
                               field="sim.joints", value=sim_name)
        names[MOTOR_NAMES.index(motor)] = sim_name
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise config_error("two motors map to the same sim joint", source=source,
                           field="sim.joints", value=duplicates[0])
    return tuple(names)


def parse_mapping(data: Mapping[str, object], *, source: str = "<memory>") -> MappingFile:
    """Validate the decoded TOML of a mapping file."""
    for table_name, value in data.items():
        if table_name not in _TABLE_KEYS:
            raise config_error(f"unknown table; expected {', '.join(_TABLE_KEYS)}",
                               source=source, field=f"[{table_name}]")
        if not isinstance(value, Mapping):
            raise config_error("must be a table", source=source, field=table_name, value=value)
        unknown = sorted(set(value) - _TABLE_KEYS[table_name])
        if unknown:
            expected = ", ".join(sorted(_TABLE_KEYS[table_name]))
            raise config_error(f"unknown key; expected {expected}", source=source,
                               field=f"{table_name}.{unknown[0]}")
    sim = data.get("sim", {})
    model = files.string(sim.get("model", "so101-new-calib"), source=source, field="sim.model")
    if model not in KNOWN_MODELS:
        raise config_error(f"unknown model; expected one of {', '.join(KNOWN_MODELS)}",
                           source=source, field="sim.model", value=model)
    names = _sim_joint_names(sim, model, source=source)

    reference_pose, reference_name = np.zeros(N_JOINTS), "sim zero"
    if "reference_pose" in sim:
        reference_pose = per_joint(sim["reference_pose"], source=source,
                                    field_name="sim.reference_pose")
        _within_reach(reference_pose, KNOWN_MODELS[model].limits, source=source,
                      field_name="sim.reference_pose")
        reference_name = "sim.reference_pose"
    rest_pose = None
    if "rest_pose" in sim:
        rest_pose = per_joint(sim["rest_pose"], source=source, field_name="sim.rest_pose")
        _within_reach(rest_pose, KNOWN_MODELS[model].limits, source=source,
                      field_name="sim.rest_pose")

    sim_to_robot = robot_units = sim_to_policy = policy_frame = None
    robot_derived: dict[int, float | None] = {}
    policy_derived: dict[int, float | None] = {}
    limits = KNOWN_MODELS[model].limits
    if "policy" in data:
        if "frame" not in data["policy"]:
            raise config_error("key missing", source=source, field="policy.frame")
        frame = files.string(data["policy"]["frame"], source=source, field="policy.frame")
        policy_frame = parse_policy_frame(frame, source=source)
    if "sim_to_robot" in data:
        table = data["sim_to_robot"]
        if "units" not in table:
            raise config_error("key missing (degrees | range_m100_100 | ticks, or a list of 6)",
                               source=source, field="sim_to_robot.units")
        units = table["units"]
        if not isinstance(units, str):
            _names(units, [u.value for u in RobotUnit], source=source,
                   field_name="sim_to_robot.units")
        robot_units = expand_units(units, source=source, field="sim_to_robot.units")
        sim_to_robot, robot_derived = _joint_map(table, "sim_to_robot", source=source,
                                                 units=robot_units, limits=limits)
    if "sim_to_policy" in data:
        if policy_frame is None:
            raise config_error("[sim_to_policy] needs [policy] frame to say what it maps into",
                               source=source, field="policy.frame")
        sim_to_policy, policy_derived = _joint_map(data["sim_to_policy"], "sim_to_policy",
                                                   source=source, units=policy_frame.units,
                                                   limits=limits)
    return MappingFile(source, model, names, sim_to_robot, robot_units, sim_to_policy,
                       policy_frame, reference_pose, reference_name, rest_pose, robot_derived,
                       policy_derived)


def load_mapping(path: str | Path) -> MappingFile:
    """Read and validate a mapping TOML file."""
    return parse_mapping(files.read_toml(path, "mapping file"), source=str(path))
