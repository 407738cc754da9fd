"""A recorded LeRobot dataset, read locally: its frames and what it says about them.

Layout (LeRobot v3.0; v2.x reads the same way): ``meta/info.json`` (fps, robot type,
features with their motor names), ``meta/stats.json`` (per feature mean/std/min/max) and
``data/**/*.parquet`` (one row per frame: ``observation.state`` and ``action`` as lists of
six numbers, ``episode_index``, ``frame_index``). Only those columns are read, with
pyarrow, never from the hub: a million frames load in well under a second.

``observation.state`` is what the follower read, ``action`` what it was asked (in a
teleoperated recording, the leader's reading). Both come back in motor order whatever
order the dataset names them in, as float64 arrays of shape (frames, 6), in the units
the dataset was recorded in (which the dataset does not say: the checks judge them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import files
from .errors import config_error
from .joints import MOTOR_NAMES, N_JOINTS

STATE, ACTION = "observation.state", "action"
FEATURES = (STATE, ACTION)
#: Largest meta/info.json read (real ones are a few kilobytes, a few hundred with
#: many cameras).
INFO_LIMIT = 4 * files.MiB            # the bound of every JSON file the project reads
#: The dataset layouts this reads: v3.0 (LeRobot 0.4 and later) and v2.0 (one stats.json,
#: frames in parquet with the same columns). v2.1 keeps its stats per episode
#: (meta/episodes_stats.jsonl): a meta/stats.json beside it is not what LeRobot maintains.
CODEBASE_VERSIONS = ("v3.0", "v2.0")
#: An episode number LeRobot could write (its episode_index is an int64 counting from 0).
MAX_EPISODE = 2**31 - 1
#: No joint position reaches this magnitude in any unit a dataset is recorded in (ticks
#: stop at 4095, degrees at a turn, -100..100 at 100): a larger value is corrupt data.
LARGEST_VALUE = 1e5


@dataclass(frozen=True)
class Dataset:
    """The frames of a recorded dataset, arm joints in motor order."""

    root: Path
    version: str
    robot_type: str | None
    fps: float
    state: np.ndarray                    # (frames, 6) observation.state
    action: np.ndarray                   # (frames, 6) action
    episode: np.ndarray                  # (frames,) episode index
    files: tuple[Path, ...]
    declared_frames: int | None = None   # meta/info.json total_frames
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    arm: str | None = None               # which arm of a two-arm recording (left, right)

    @property
    def frames(self) -> int:
        return len(self.state)

    @property
    def episodes(self) -> int:
        return len(np.unique(self.episode)) if self.frames else 0

    @property
    def stats_path(self) -> Path:
        return self.root / "meta" / "stats.json"

    def feature(self, name: str) -> np.ndarray:
        """``observation.state`` or ``action``."""
        return self.state if name == STATE else self.action

    def describe(self) -> str:
        arm = f", the {self.arm} arm" if self.arm else ""
        return (f"{self.root}: {self.frames} frames, {self.episodes} episodes at "
                f"{self.fps:g} fps (LeRobot dataset {self.version}, robot "
                f"{self.robot_type or 'not named'}{arm})")


def _names_motor(name: str, motor: str, side: str | None = None) -> bool:
    """``shoulder_pan.pos``, ``shoulder_pan`` and prefixed ``main_shoulder_pan`` name the
    shoulder_pan; with ``side``, only ``left_shoulder_pan`` (``.pos``) does."""
    base = name.removesuffix(".pos")
    if side is not None:
        return base == f"{side}_{motor}"
    return base == motor or base.endswith("_" + motor)


#: The two arms of a bimanual recording (LeRobot's bi_so101_follower), in its order.
ARM_SIDES = ("left", "right")


def arm_columns(names: object, *, source: str, feature: str, width: int | None = None
                ) -> dict[str | None, list[int]]:
    """The column of each motor (MOTOR_NAMES order) per arm, from a feature's ``names``: a
    list (``shoulder_pan.pos``...; ``left_shoulder_pan.pos``... for two arms) or, in v2.0,
    ``{"motors": [...]}``. One arm: key None. No names: one arm in motor order, or (with
    ``width`` 12) two in LeRobot's bimanual order, left then right."""
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    if names is None:
        if width == len(ARM_SIDES) * N_JOINTS:
            return {side: list(range(k * N_JOINTS, (k + 1) * N_JOINTS))
                    for k, side in enumerate(ARM_SIDES)}
        return {None: list(range(N_JOINTS))}
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise config_error("feature names must be a list of motor names", source=source,
                           field=f"features.{feature}.names", value=names)
    sides = [side for side in ARM_SIDES
             if any(n.removesuffix(".pos").startswith(side + "_") for n in names)]
    two = len(names) == len(ARM_SIDES) * N_JOINTS and sides == list(ARM_SIDES)
    out: dict[str | None, list[int]] = {}
    for side in (ARM_SIDES if two else (None,)):
        order = []
        for motor in MOTOR_NAMES:
            found = [i for i, n in enumerate(names) if _names_motor(n, motor, side)]
            if len(found) != 1:
                raise config_error(f"{'no' if not found else 'several'} "
                                   f"{(side + '_') if side else ''}{motor} column in the "
                                   f"feature's names ({', '.join(names)}): this is not a "
                                   "six-motor SO-101 dataset (or a two-arm one, left_ and "
                                   "right_), or its joints are named otherwise",
                                   source=source, field=f"features.{feature}.names")
            order.append(found[0])
        out[side] = order
    if not two and len(names) != N_JOINTS:
        raise config_error(f"{len(names)} values per frame, an SO-101 has {N_JOINTS} (two arms "
                           f"{len(ARM_SIDES) * N_JOINTS}, named left_ and right_): "
                           f"{', '.join(names)}", source=source,
                           field=f"features.{feature}.names")
    return out


def _read_info(root: Path) -> dict:
    path = root / "meta" / "info.json"
    if files.exists(root) and not root.is_dir():
        raise config_error("not a LeRobot dataset: a dataset is a folder (holding "
                           "meta/info.json, meta/stats.json and data/**/*.parquet), this is "
                           "a file", source=str(root))
    if not files.exists(path):
        what = "folder" if files.exists(root) else "path"
        raise config_error(f"not a LeRobot dataset: no meta/info.json in this {what} (a "
                           "dataset folder holds meta/info.json, meta/stats.json and "
                           "data/**/*.parquet)", source=str(root))
    info = files.table(files.read_json(path, "dataset info", INFO_LIMIT), source=str(path),
                       field=None)
    version = info.get("codebase_version")
    if version not in CODEBASE_VERSIONS:
        raise config_error(
            f"codebase_version {version!r}: this reads LeRobot {' and '.join(CODEBASE_VERSIONS)} "
            "datasets (v2.1 keeps its stats per episode: convert it with LeRobot's "
            "lerobot.datasets.v30.convert_dataset_v21_to_v30)", source=str(path),
            field="codebase_version", value=version)
    features = files.table(info.get("features"), source=str(path), field="features")
    for name in FEATURES:
        if name not in features:
            raise config_error(f"the dataset has no {name} feature (it has "
                               f"{', '.join(sorted(features)) or 'none'})",
                               source=str(path), field="features")
    return info


def _fps(info: dict, source: str) -> float:
    fps = files.number(info.get("fps"), source=source, field="fps")
    if not math.isfinite(fps) or fps <= 0:
        raise config_error("fps must be a positive number", source=source, field="fps",
                           value=fps)
    return float(fps)


def _column(table, name: str, *, source: str, width: int = N_JOINTS) -> np.ndarray:
    """A list-of-``width`` column as a (rows, width) float64 array; a clear error
    otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if name not in table.column_names:
        raise config_error(f"no {name} column (columns: {', '.join(table.column_names)})",
                           source=source, field=name)
    column = table.column(name).combine_chunks()
    if column.null_count:
        raise config_error(f"{column.null_count} frames have no value", source=source,
                           field=name)
    kind = column.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)):
        raise config_error(f"must hold a list of {width} numbers per frame", source=source,
                           field=name, value=str(kind))
    if not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise config_error("must hold numbers", source=source, field=name,
                           value=str(kind.value_type))
    if len(column):
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        wrong = np.flatnonzero(lengths != width)
        if len(wrong):
            raise config_error(f"frame {int(wrong[0])} holds {int(lengths[wrong[0]])} values, "
                               f"not {width}", source=source, field=name)
    values = column.flatten()
    if values.null_count:
        raise config_error(f"{values.null_count} values are missing (null)", source=source,
                           field=name)
    return values.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, width)


def _index(table, name: str, *, source: str) -> np.ndarray:
    """The episode number of every frame: LeRobot writes one on each (0 and up)."""
    import pyarrow as pa

    if name not in table.column_names:
        raise config_error(f"no {name} column: LeRobot writes one on every frame (columns: "
                           f"{', '.join(table.column_names)})", source=source, field=name)
    column = table.column(name)
    if column.null_count or not pa.types.is_integer(column.type):
        raise config_error("must be a whole number on every frame", source=source, field=name,
                           value=str(column.type))
    out = column.to_numpy()
    bad = np.flatnonzero((out < 0) | (out > MAX_EPISODE))
    if len(bad):
        raise config_error(f"frame {int(bad[0])} holds no episode number (0 to {MAX_EPISODE})",
                           source=source, field=name, value=int(out[bad[0]]))
    return out


def _timestamps(table, *, source: str) -> None:
    """Frame times, when the file has them: finite and not negative (s)."""
    if "timestamp" not in table.column_names:
        return
    column = table.column("timestamp")
    values = column.to_numpy(zero_copy_only=False).astype(np.float64) \
        if not column.null_count else None
    if values is None:
        raise config_error(f"{column.null_count} frames have no timestamp", source=source,
                           field="timestamp")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        raise config_error(f"frame {int(bad[0])}'s timestamp is no time (s, finite, 0 or more)",
                           source=source, field="timestamp", value=float(values[bad[0]]))


def _shape(spec: dict, width: int, *, source: str, feature: str) -> None:
    """A feature's declared shape: [width] (six numbers an arm, twelve two arms)."""
    shape = spec.get("shape")
    if shape is None:
        return
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool)
                                            for n in shape)):
        raise config_error("shape must be a list of whole numbers", source=source,
                           field=f"features.{feature}.shape", value=repr(shape)[:60])
    if shape != [width]:
        raise config_error(f"shape must be [{width}] ({width} joint positions, as its names "
                           "say)", source=source, field=f"features.{feature}.shape",
                           value=repr(shape)[:60])


def _finite(values: np.ndarray, feature: str, source: str) -> None:
    """Every value a number a joint position can be (finite, below LARGEST_VALUE)."""
    for bad, what in ((~np.isfinite(values), "are not finite"),
                      (np.abs(values) > LARGEST_VALUE,
                       f"are no joint position in any unit (beyond +-{LARGEST_VALUE:g})")):
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise config_error(f"{int(bad.sum())} values {what} (first: frame {row})",
                               source=source, joint=MOTOR_NAMES[col], field=feature,
                               value=float(values[row, col]))


def load_datasets(path: str | Path) -> dict[str | None, Dataset]:
    """Read a local LeRobot dataset folder (see the module docstring): one :class:`Dataset`
    (key None), or one per arm of a two-arm recording (``left``, ``right``: its names say
    ``left_shoulder_pan.pos``...)."""
    import pyarrow.parquet as pq

    root = Path(path)
    info = _read_info(root)
    info_path = str(root / "meta" / "info.json")
    fps = _fps(info, info_path)
    columns: dict[str, dict[str | None, list[int]]] = {}
    for feature in FEATURES:
        spec = files.table(info["features"][feature], source=info_path,
                           field=f"features.{feature}")
        columns[feature] = arm_columns(spec.get("names"), source=info_path, feature=feature)
    arms = tuple(columns[STATE])
    if tuple(columns[ACTION]) != arms:
        raise config_error(f"{STATE} names arms {arms} but {ACTION} names "
                           f"{tuple(columns[ACTION])}", source=info_path, field="features")
    width = len(arms) * N_JOINTS
    for feature in FEATURES:
        _shape(info["features"][feature], width, source=info_path, feature=feature)
    data_files = tuple(sorted((root / "data").rglob("*.parquet"))) \
        if (root / "data").is_dir() else ()
    if not data_files:
        raise config_error("no frames: no data/**/*.parquet file", source=str(root))
    for data_file in data_files:
        if not files.is_regular(data_file):
            raise config_error("not a regular file (a pipe, a device, a folder or a broken "
                               "link): a frame file must be a parquet file",
                               source=str(data_file))
    parts: dict[str, list[np.ndarray]] = {STATE: [], ACTION: [], "episode": []}
    for data_file in data_files:
        source = str(data_file)
        try:
            present = pq.read_schema(data_file).names
            table = pq.read_table(data_file, columns=[
                c for c in (*FEATURES, "episode_index", "timestamp") if c in present])
        except Exception as exc:             # pyarrow's own errors: a broken file
            raise config_error(f"not a readable parquet file ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})",
                               source=source) from None
        for feature in FEATURES:
            values = _column(table, feature, source=source, width=width)
            _finite(values, feature, source)
            parts[feature].append(values)
        _timestamps(table, source=source)
        parts["episode"].append(_index(table, "episode_index", source=source).astype(np.int64))
    if not sum(len(part) for part in parts[STATE]):
        raise config_error(f"no frames: the {len(data_files)} data/**/*.parquet files hold "
                           "no rows", source=str(root))
    total = info.get("total_frames")
    declared = int(total) if isinstance(total, int) and not isinstance(total, bool) else None
    state, action = np.concatenate(parts[STATE]), np.concatenate(parts[ACTION])
    return {arm: Dataset(
        root=root, version=str(info.get("codebase_version", "unknown")),
        robot_type=info.get("robot_type") if isinstance(info.get("robot_type"), str) else None,
        fps=fps, state=state[:, columns[STATE][arm]], action=action[:, columns[ACTION][arm]],
        episode=np.concatenate(parts["episode"]), files=data_files, declared_frames=declared,
        names={f: tuple(_names_of(info, f, columns[f][arm])) for f in FEATURES}, arm=arm)
        for arm in arms}


def _names_of(info: dict, feature: str, order: list[int]) -> list[str]:
    names = info["features"][feature].get("names")
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    return [names[i] for i in order] if isinstance(names, list) else list(MOTOR_NAMES)


def load_dataset(path: str | Path, arm: str | None = None) -> Dataset:
    """One arm of a local LeRobot dataset folder: the only one, or ``arm`` (``left`` or
    ``right``) of a two-arm recording."""
    found = load_datasets(path)
    return pick_arm(found, arm, source=str(Path(path)), what="dataset")


def pick_arm(found: dict, arm: str | None, *, source: str, what: str):
    """``found[arm]``, with one line when the arm is not there or must be chosen."""
    if arm is None and len(found) == 1:
        return next(iter(found.values()))
    if arm is None:
        raise config_error(f"this {what} holds two arms ({', '.join(found)}: a bimanual "
                           "recording); choose one with --so101-arm-side (so101-diagnose "
                           "checks both)", source=source)
    if arm not in found:
        raise config_error(f"this {what} holds one arm; --so101-arm-side chooses an arm of a "
                           "two-arm (bimanual) recording", source=source, value=arm)
    return found[arm]
