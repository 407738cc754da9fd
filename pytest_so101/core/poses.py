"""Known poses: the folded rest pose the arm lies in on its stops, and paired poses: the
same physical poses as the sim sees them and as the robot reads them, from which the
``[sim_to_robot]`` map is solved (the paired-poses method: ``real = direction * scale *
sim + offset`` per joint) and a declared one judged.

A poses file (TOML)::

    units = "degrees"            # what the robot reports (as [sim_to_robot] units)
    sim_input = "radians"        # the sim side in radians (default) or degrees
    # scale = [...], direction = [...]: known; then one pose per joint is enough
    [[pose]]
    name = "rest"
    sim = [0, -3.32, 3.11, 1.18, 0, -0.174]    # motor order, or keyed by sim joint name
    robot = [0.3, -99.1, 88.4, 67.9, 3.2, 1.0] # motor order, or keyed by motor name
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import files
from .errors import config_error
from .frames import RobotUnit, expand_units
from .joints import MOTOR_NAMES
from .mapping import RAD_TO_DEG, JointMap, MappingFile, SolvedMap, per_joint, solve_map


@dataclass(frozen=True)
class RestPose:
    """The folded rest pose the arm lies in on its stops, in the mapping's sim frame (rad,
    motor order), and where it comes from (a mapping's ``[sim] rest_pose``, a model's
    ``rest`` keyframe)."""

    q_sim_rad: np.ndarray
    source: str

    def __repr__(self) -> str:           # short: Hypothesis prints fixtures it was given
        deg = ", ".join(f"{v:.1f}" for v in np.rad2deg(self.q_sim_rad))
        return f"RestPose([{deg}] deg sim, {self.source!r})"

    _repr_pretty_ = files.pretty_as_repr


_KEYS = {"units", "sim_input", "scale", "direction", "pose"}
_POSE_KEYS = {"name", "sim", "robot"}


@dataclass(frozen=True)
class PairedPoses:
    """k poses: ``sim_rad`` and ``robot`` of shape (k, 6), motor order."""

    source: str
    names: tuple[str, ...]
    sim_rad: np.ndarray
    robot: np.ndarray
    units: tuple[RobotUnit, ...]
    scale: np.ndarray | None = None
    direction: np.ndarray | None = None

    def solve(self) -> SolvedMap:
        return solve_map(self.sim_rad, self.robot, scale=self.scale, direction=self.direction,
                         name="sim_to_robot", source=self.source)


def _sim_pose(raw: object, mapping: MappingFile | None, *, source: str, field: str
              ) -> np.ndarray:
    """Motor order, or a table keyed by the model's sim joint names (the mapping's)."""
    if isinstance(raw, Mapping) and not set(raw) <= set(MOTOR_NAMES):
        if mapping is None:
            raise config_error("sim joints keyed by sim names need the mapping that names "
                               "them (--mapping)", source=source, field=field)
        values = {str(k): files.finite(files.number(v, source=source, field=f"{field}.{k}"),
                                       source=source, field=f"{field}.{k}")
                  for k, v in raw.items()}
        return mapping.to_motor_order(values)
    return per_joint(raw, source=source, field_name=field)


def load_poses(path: str | Path, mapping: MappingFile | None = None) -> PairedPoses:
    """Read and validate a poses file; one :class:`So101ConfigError` line on a problem."""
    source = str(path)
    data = files.read_toml(path, "poses file")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise config_error(f"unknown key; expected {', '.join(sorted(_KEYS))}", source=source,
                           field=unknown[0])
    if "units" not in data:
        raise config_error("key missing (the robot's units: degrees | range_m100_100 | "
                           "ticks, or a list of 6)", source=source, field="units")
    units = expand_units(data["units"], source=source, field="units")
    to_rad = {"radians": 1.0, "degrees": 1 / RAD_TO_DEG}
    sim_input = data.get("sim_input", "radians")
    if not isinstance(sim_input, str) or sim_input not in to_rad:
        raise config_error("must be 'radians' or 'degrees'", source=source, field="sim_input",
                           value=sim_input)
    known = {k: per_joint(data[k], source=source, field_name=k) if k in data else None
             for k in ("scale", "direction")}
    if (known["scale"] is None) != (known["direction"] is None):
        raise config_error("give both scale and direction, or neither", source=source,
                           field="scale" if known["scale"] is None else "direction")
    if known["scale"] is not None:            # scale > 0, direction +-1: JointMap says which
        JointMap(np.zeros(len(MOTOR_NAMES)), known["scale"], known["direction"],
                 name="poses", source=source)
    poses = files.array(data.get("pose", []), source=source, field="pose")
    if not poses:
        raise config_error("no [[pose]] tables", source=source, field="pose")
    names, sims, robots = [], [], []
    for i, pose in enumerate(poses):
        where = f"pose[{i}]"
        pose = files.table(pose, source=source, field=where)
        extra = sorted(set(pose) - _POSE_KEYS)
        if extra:
            raise config_error(f"unknown key; expected {', '.join(sorted(_POSE_KEYS))}",
                               source=source, field=f"{where}.{extra[0]}")
        for key in ("sim", "robot"):
            if key not in pose:
                raise config_error("key missing", source=source, field=f"{where}.{key}")
        names.append(files.string(pose.get("name", f"pose {i + 1}"), source=source,
                                  field=f"{where}.name"))
        sims.append(_sim_pose(pose["sim"], mapping, source=source, field=f"{where}.sim")
                    * to_rad[sim_input])
        robots.append(per_joint(pose["robot"], source=source, field_name=f"{where}.robot"))
    return PairedPoses(source, tuple(names), np.array(sims), np.array(robots), units,
                       known["scale"], known["direction"])


def as_toml(solved: SolvedMap, units: tuple[RobotUnit, ...]) -> str:
    """The solved map as a ``[sim_to_robot]`` table to paste into a mapping file."""
    def row(values: np.ndarray) -> str:
        return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"

    single = [name for name in ("degrees", "range_m100_100", "ticks")
              if expand_units(name) == tuple(units)]
    unit = f'"{single[0]}"' if single else \
        "[" + ", ".join(f'"{u.value}"' for u in units) + "]"
    m = solved.map
    return (f"[sim_to_robot]\nunits = {unit}\noffset = {row(m.offset)}\n"
            f"scale = {row(m.scale)}\ndirection = {row(m.direction)}\n")

