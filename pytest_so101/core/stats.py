"""Policy and dataset normalization statistics: load every on-disk format, normalize.

Formats (docs/domain.md section 6), all read without unpickling:

- a policy folder with ``policy_preprocessor.json`` (+ ``policy_postprocessor.json``) and
  the normalizer ``*.safetensors`` state files they name (LeRobot >= 0.4);
- a legacy ``model.safetensors`` with ``normalize_inputs.buffer_observation_state.mean``
  style buffers, including dataset-prefixed ones (``so100-blue_buffer_...``);
- a dataset ``meta/stats.json`` (``{"observation.state": {"mean": [...], ...}}``);
- a plain JSON ``{"mean": [...], "std": [...]}`` (or flat ``"action.mean"`` keys).

Files are read through :mod:`pytest_so101.core.files`: of a safetensors file only the header
and the stats tensors (a multi-gigabyte model costs kilobytes), and every value is
checked for type (a number written as a string is refused, naming joint and value).

The feature is always chosen explicitly; where several datasets exist the dataset too.
A missing or ambiguous key is an error that lists what the file holds: never a silent
pass-through (lerobot issues #4415, #1763).
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import files
from .dataset import arm_columns, pick_arm
from .errors import config_error
from .features import FEATURES
from .frames import from_min_max, from_z_score, to_min_max, to_z_score
from .joints import MOTOR_NAMES, N_JOINTS

STAT_NAMES = ("mean", "std", "min", "max", "q01", "q99", "count")
DEFAULT_EPS = 1e-8
MODES = ("MEAN_STD", "MIN_MAX")
_MODULES = ("normalize_inputs", "normalize_targets", "unnormalize_outputs")
_BUFFER_KEY = re.compile(r"^(?:(?P<dataset>.+?)[._])?buffer[._](?P<feature>.+)$")


@dataclass(frozen=True)
class NormStats:
    """Normalization statistics of one feature, arrays of shape (6,) in motor order."""

    feature: str
    mean: np.ndarray
    std: np.ndarray
    source: str
    key: str
    mode: str = "MEAN_STD"
    min: np.ndarray | None = None
    max: np.ndarray | None = None
    eps: float = DEFAULT_EPS
    dataset: str | None = None
    runtime_key: str | None = None
    runtime_key_present: bool = True
    available: tuple[str, ...] = ()
    count: int | None = None          # frames the stats were computed over, when stored
    arm: str | None = None            # which arm of two-arm (bimanual) stats: left, right

    def __repr__(self) -> str:           # short: Hypothesis prints fixtures it was given
        return f"NormStats({self.source!r} [{self.key}], {self.feature}, {self.mode})"

    _repr_pretty_ = files.pretty_as_repr

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """What the policy sees for ``x`` (policy frame, shape (..., 6))."""
        if self.mode == "MIN_MAX":
            return to_min_max(x, self.min, self.max, self.eps)
        return to_z_score(x, self.mean, self.std, self.eps)

    def unnormalize(self, n: np.ndarray) -> np.ndarray:
        if self.mode == "MIN_MAX":
            return from_min_max(n, self.min, self.max, self.eps)
        return from_z_score(n, self.mean, self.std, self.eps)

    @property
    def center(self) -> np.ndarray:
        """The policy-frame value the stats are centred on (mean; MIN_MAX: range middle)."""
        return (self.min + self.max) / 2 if self.mode == "MIN_MAX" else self.mean

    @property
    def label(self) -> str:
        return f"{self.source} [{self.key}]"


def _canonical_feature(name: str) -> str:
    flat = name.replace(".", "_")
    for feature in FEATURES:
        if flat == feature.replace(".", "_"):
            return feature
    return name


@dataclass(frozen=True)
class _Group:
    module: str | None
    dataset: str | None
    feature: str
    prefix: str


def _group_flat_keys(keys: list[str]) -> dict[_Group, dict[str, str]]:
    """Group flat tensor keys like ``normalize_inputs.so100_buffer_action.mean`` by feature."""
    groups: dict[_Group, dict[str, str]] = {}
    for key in keys:
        body, _, stat = key.rpartition(".")
        if not body or stat not in STAT_NAMES:
            continue
        module = None
        for candidate in _MODULES:
            if body.startswith(candidate + "."):
                module, body = candidate, body[len(candidate) + 1:]
        match = _BUFFER_KEY.match(body)
        dataset, feature = (match["dataset"], match["feature"]) if match else (None, body)
        group = _Group(module, dataset, _canonical_feature(feature), key[: -len(stat) - 1])
        groups.setdefault(group, {})[stat] = key
    return groups


def _describe(groups: Mapping[_Group, object]) -> str:
    return ", ".join(sorted(g.prefix for g in groups)) or "no normalization stats at all"


def _json_shape(raw: object) -> tuple[int, ...]:
    """The shape a JSON value would have as an array (following first elements)."""
    shape = []
    while isinstance(raw, list):
        shape.append(len(raw))
        raw = raw[0] if raw else None
    return tuple(shape)


#: The two arms of a bimanual recording (LeRobot's bi_so101_follower), in the order it
#: writes their values: ``left_<motor>`` then ``right_<motor>``.
ARM_SIDES = ("left", "right")
TWO_ARMS = len(ARM_SIDES) * N_JOINTS


def value_names(width: int) -> tuple[str, ...]:
    """The joint each of ``width`` values names: one arm's motors, or two arms' in
    LeRobot's bimanual order."""
    if width == TWO_ARMS:
        return tuple(f"{side}_{motor}" for side in ARM_SIDES for motor in MOTOR_NAMES)
    return MOTOR_NAMES


def _vector(raw: object, *, source: str, key: str) -> np.ndarray:
    """Finite stats, one per joint: a float tensor, or a JSON list, of six numbers (one arm,
    motor order) or twelve (two arms, LeRobot's bimanual order)."""
    if isinstance(raw, np.ndarray):
        if raw.dtype.kind != "f":
            raise config_error("stats must be floating point (F16, BF16, F32 or F64)",
                               source=source, field=key, value=str(raw.dtype))
        shape = raw.shape
    else:
        shape = _json_shape(raw)
    if shape not in ((N_JOINTS,), (TWO_ARMS,)):
        raise config_error(f"expected shape ({N_JOINTS},): one value per SO-101 joint (or "
                           f"({TWO_ARMS},): two arms)", source=source, field=key, value=shape)
    joints = value_names(shape[0])
    if not isinstance(raw, np.ndarray):
        raw = [files.number(v, source=source, joint=joint, field=key)
               for joint, v in zip(joints, raw, strict=True)]
    with np.errstate(invalid="ignore"):         # a signalling NaN is refused just below
        values = np.asarray(raw, dtype=float)
    for i, joint in enumerate(joints):
        if not np.isfinite(values[i]):
            raise config_error("stats must be finite", source=source, joint=joint, field=key,
                               value=float(values[i]))
    return values


def _select(groups: dict[_Group, dict[str, str]], tensors: Mapping[str, object], *, feature: str,
            dataset: str | None, source: str, mode: str, eps: float) -> NormStats:
    """Pick the one group for ``feature`` (and ``dataset``) and build :class:`NormStats`."""
    available = tuple(sorted(g.prefix for g in groups))
    wanted = [g for g in groups if g.feature == feature]
    if not wanted:
        raise config_error(f"no stats for feature '{feature}'; the file holds: "
                           f"{_describe(groups)}", source=source, field=feature)
    datasets = sorted({g.dataset for g in wanted}, key=lambda d: (d is not None, d or ""))
    if dataset is None and len(datasets) > 1:
        names = ", ".join(d or "(unprefixed)" for d in datasets)
        raise config_error(f"stats for '{feature}' exist for several datasets ({names}); "
                           "choose one (--so101-stats-dataset; so101-diagnose: "
                           "--stats-dataset)", source=source, field=feature)
    chosen_dataset = dataset if dataset is not None else datasets[0]
    chosen = [g for g in wanted if g.dataset == chosen_dataset]
    if not chosen:
        names = ", ".join(d or "(unprefixed)" for d in datasets)
        raise config_error(f"no stats for dataset '{dataset}' and feature '{feature}'; "
                           f"datasets found: {names}", source=source, field="dataset",
                           value=dataset)
    needed = ("min", "max") if mode == "MIN_MAX" else ("mean", "std")
    arrays: dict[str, np.ndarray] = {}
    reference: _Group | None = None
    for group in chosen:
        stats = groups[group]
        missing = [s for s in needed if s not in stats]
        if missing:
            raise config_error(f"'{missing[0]}' missing for this feature; found "
                               f"{', '.join(sorted(stats))}", source=source, field=group.prefix)
        current = {s: _vector(tensors[stats[s]], source=source, key=stats[s])
                   for s in ("mean", "std", "min", "max") if s in stats}
        widths = {len(v) for v in current.values()}
        if len(widths) > 1:
            raise config_error("the stats' vectors differ in length ("
                               + ", ".join(f"{k} {len(v)}" for k, v in current.items()) + ")",
                               source=source, field=group.prefix)
        if reference is None:
            arrays, reference = current, group
        elif any(not np.allclose(arrays[s], current[s]) for s in needed):
            raise config_error(f"stats disagree between {reference.prefix} and {group.prefix}",
                               source=source, field=feature)
    assert reference is not None
    count = _count(tensors[groups[reference]["count"]], source=source,
                   key=groups[reference]["count"]) if "count" in groups[reference] else None
    runtime_present = any(g.dataset is None for g in wanted)
    runtime_key = next((g.prefix for g in wanted if g.dataset is None), None)
    if runtime_key is None:
        module = f"{reference.module}." if reference.module else ""
        runtime_key = f"{module}buffer_{feature.replace('.', '_')}"
    width = len(next(iter(arrays.values())))
    return NormStats(
        feature=feature, mean=arrays.get("mean", np.full(width, np.nan)),
        std=arrays.get("std", np.full(width, np.nan)), source=source, key=reference.prefix,
        mode=mode, min=arrays.get("min"), max=arrays.get("max"), eps=eps,
        dataset=chosen_dataset, runtime_key=runtime_key, runtime_key_present=runtime_present,
        available=available, count=count)


def _count(raw: object, *, source: str, key: str) -> int:
    """A frame count: one whole number >= 0 (LeRobot stores it as shape (1,))."""
    if isinstance(raw, np.ndarray):
        if raw.dtype.kind not in "iuf" or not 0 < raw.size <= N_JOINTS:
            raise config_error("count must be one number", source=source, field=key,
                               value=f"{raw.dtype} {raw.shape}")
        with np.errstate(invalid="ignore"):     # a signalling NaN is refused just below
            values = [float(v) for v in raw.ravel()]
    else:
        listed = raw if isinstance(raw, list) else [raw]
        if not 0 < len(listed) <= N_JOINTS:
            raise config_error("count must be one number", source=source, field=key,
                               value=raw)
        values = [files.number(v, source=source, field=key) for v in listed]
    count = values[0]
    if not np.isfinite(count) or count < 0 or count != int(count) or \
            any(v != count for v in values):
        raise config_error("count must be one whole number >= 0", source=source, field=key,
                           value=values if len(values) > 1 else count)
    return int(count)


def _is_stat_key(key: str) -> bool:
    return key.rpartition(".")[2] in STAT_NAMES


def _read_tensors(path: Path, what: str) -> dict[str, np.ndarray]:
    """The stats tensors of a safetensors file (model weights are never read)."""
    return files.read_safetensors(path, what, _is_stat_key)


def _check_mode(mode: str | None, *, source: str, field: str = "mode") -> str:
    mode = (mode or "MEAN_STD").upper()
    if mode not in MODES:
        raise config_error(f"normalization mode must be one of {', '.join(MODES)}",
                           source=source, field=field, value=mode)
    return mode


def _eps(raw: object, *, source: str, field: str) -> float:
    """LeRobot's eps: a finite number >= 0."""
    eps = files.finite(files.number(raw, source=source, field=field), source=source,
                       field=field)
    if eps < 0:
        raise config_error("must be >= 0", source=source, field=field, value=eps)
    return eps


def _from_tensors(tensors: Mapping[str, object], *, source: str, feature: str,
                  dataset: str | None, mode: str, eps: float) -> NormStats:
    groups = _group_flat_keys(list(tensors))
    return _select(groups, tensors, feature=feature, dataset=dataset, source=source, mode=mode,
                   eps=eps)


# -- LeRobot >= 0.4 processor folders ------------------------------------------------------

def _state_path(raw: object, config_path: Path, *, field: str) -> Path:
    """The state file a step names: a relative path that stays inside the policy folder."""
    if not isinstance(raw, str):
        raise config_error("normalizer step names no state_file", source=str(config_path),
                           field=field, value=raw)
    relative = Path(raw)
    if not raw or relative.is_absolute() or relative.anchor or ".." in relative.parts:
        raise config_error("must name a file inside the policy folder (a relative path "
                           "without '..')", source=str(config_path), field=field, value=raw)
    return config_path.parent / relative


def _processor_steps(config_path: Path, step_name: str) -> list[tuple[Path, dict]]:
    """(state file, step config) of each ``step_name`` step of a processor config."""
    source = str(config_path)
    config = files.read_json(config_path, "processor config")
    steps = config.get("steps") if isinstance(config, dict) else None
    if not isinstance(steps, list):
        raise config_error("expected {\"steps\": [...]} (a LeRobot processor config)",
                           source=source, field="steps")
    found = []
    for i, step in enumerate(steps):
        step = files.table(step, source=source, field=f"steps[{i}]")
        name = step.get("registry_name")
        if name is not None:
            files.string(name, source=source, field=f"steps[{i}].registry_name")
        if name != step_name:
            continue
        state_path = _state_path(step.get("state_file"), config_path,
                                 field=f"steps[{i}].state_file")
        step_config = step.get("config")
        found.append((state_path, {} if step_config is None else
                      files.table(step_config, source=source, field=f"steps[{i}].config")))
    return found


def _declared_mode(config: dict, feature: str, *, source: str) -> str | None:
    """The mode ``norm_map`` gives the feature's type (``features``), if it says."""
    features = files.table(config.get("features", {}), source=source, field="config.features")
    entry = features.get(feature)
    if entry is None:
        return None
    entry = files.table(entry, source=source, field=f"config.features.{feature}")
    if "type" not in entry:
        return None
    feature_type = files.string(entry["type"], source=source,
                                field=f"config.features.{feature}.type")
    norm_map = files.table(config.get("norm_map", {}), source=source, field="config.norm_map")
    if feature_type not in norm_map:
        return None
    declared = files.string(norm_map[feature_type], source=source,
                            field=f"config.norm_map.{feature_type}")
    if declared == "IDENTITY":
        raise config_error(f"the policy does not normalize '{feature}' (norm_map "
                           f"{feature_type} = IDENTITY): nothing to check", source=source,
                           field="norm_map")
    return _check_mode(declared, source=source, field=f"config.norm_map.{feature_type}")


def _from_processor_dir(folder: Path, *, feature: str, dataset: str | None,
                        mode: str | None) -> NormStats:
    candidates = [(folder / "policy_preprocessor.json", "normalizer_processor"),
                  (folder / "policy_postprocessor.json", "unnormalizer_processor")]
    seen: list[str] = []
    for config_path, step_name in candidates:
        if not files.exists(config_path):
            continue
        source = str(config_path)
        for state_path, config in _processor_steps(config_path, step_name):
            tensors = _read_tensors(state_path, f"state file named by {config_path.name}")
            groups = _group_flat_keys(list(tensors))
            seen.extend(g.prefix for g in groups)
            if not any(g.feature == feature for g in groups):
                continue
            eps = _eps(config.get("eps", DEFAULT_EPS), source=source, field="config.eps")
            declared = _declared_mode(config, feature, source=source)
            chosen_mode = _check_mode(mode, source=source) if mode else declared or "MEAN_STD"
            return _select(groups, tensors, feature=feature, dataset=dataset,
                           source=str(state_path), mode=chosen_mode, eps=eps)
    listing = ", ".join(sorted(set(seen))) or "no normalizer state"
    raise config_error(f"no stats for feature '{feature}' in the policy processors; found: "
                       f"{listing}", source=str(folder), field=feature)


# -- single files --------------------------------------------------------------------------

def _from_json(path: Path, *, feature: str, dataset: str | None, mode: str) -> NormStats:
    source = str(path)
    data = files.read_json(path, "stats file")
    if not isinstance(data, dict):
        raise config_error("expected a JSON object", source=source, value=type(data).__name__)
    if "mean" in data or "min" in data:
        if dataset is not None:
            raise config_error("a plain mean/std file has no datasets", source=source,
                               field="dataset", value=dataset)
        tensors = {f"{feature}.{k}": v for k, v in data.items() if k in STAT_NAMES}
        stats = _from_tensors(tensors, source=source, feature=feature, dataset=None,
                              mode=mode, eps=_eps(data.get("eps", DEFAULT_EPS), source=source,
                                                  field="eps"))
        return replace(stats, key="mean/std", runtime_key="mean/std")
    nested = {f"{feat}.{k}": v for feat, table in data.items() if isinstance(table, dict)
              for k, v in table.items()}
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    return _from_tensors({**flat, **nested}, source=source, feature=feature, dataset=dataset,
                         mode=mode, eps=DEFAULT_EPS)


def _from_file(path: Path, *, feature: str, dataset: str | None,
               mode: str | None) -> NormStats:
    """Stats from one file, chosen by its name: safetensors, a processor config, or JSON."""
    checked_mode = _check_mode(mode, source=str(path))
    if path.suffix == ".safetensors":
        return _from_tensors(_read_tensors(path, "safetensors file"), source=str(path),
                             feature=feature, dataset=dataset, mode=checked_mode,
                             eps=DEFAULT_EPS)
    if path.suffix == ".json":
        if path.name in ("policy_preprocessor.json", "policy_postprocessor.json"):
            return _from_processor_dir(path.parent, feature=feature, dataset=dataset, mode=mode)
        return _from_json(path, feature=feature, dataset=dataset, mode=checked_mode)
    raise config_error("unknown stats format; expected a policy folder, .safetensors or .json",
                       source=str(path))


def _load(path: Path, *, feature: str, dataset: str | None, mode: str | None) -> NormStats:
    """The stats of ``feature`` as stored: six values, or twelve for two arms."""
    if not stat.S_ISDIR(files.stat_path(path, "stats file", folder_ok=True).st_mode):
        return _from_file(path, feature=feature, dataset=dataset, mode=mode)
    if files.exists(path / "policy_preprocessor.json") or \
            files.exists(path / "policy_postprocessor.json"):
        return _from_processor_dir(path, feature=feature, dataset=dataset, mode=mode)
    for inner in (path / "model.safetensors", path / "meta" / "stats.json",
                  path / "stats.json"):
        if files.exists(inner):
            return _from_file(inner, feature=feature, dataset=dataset, mode=mode)
    raise config_error("folder holds no policy_preprocessor.json, model.safetensors or "
                       "meta/stats.json", source=str(path))


def _arm_names(stats_path: Path, feature: str) -> object:
    """The feature's value names in the dataset's meta/info.json beside its stats.json
    (None when there is no such file: LeRobot's bimanual order is then assumed)."""
    info = stats_path.parent / "info.json"
    if stats_path.name != "stats.json" or not files.exists(info):
        return None
    features = files.table(files.read_json(info, "dataset info").get("features", {}),
                           source=str(info), field="features")
    entry = features.get(feature)
    return entry.get("names") if isinstance(entry, dict) else None


def load_stats_arms(path: str | Path, *, feature: str = "observation.state",
                    dataset: str | None = None, mode: str | None = None
                    ) -> dict[str | None, NormStats]:
    """The stats of ``feature`` per arm: ``{None: stats}`` for one arm; for two-arm
    (bimanual) stats, the ``left`` and ``right`` arm's, split by the names of the dataset's
    meta/info.json (``left_shoulder_pan.pos``...) or, without one, in LeRobot's bimanual
    order (left, then right)."""
    if feature not in FEATURES:
        raise config_error(f"feature must be one of {', '.join(FEATURES)}",
                           source="--so101-stats-feature", value=feature)
    stats = _load(Path(path), feature=feature, dataset=dataset, mode=mode)
    if len(stats.mean) == N_JOINTS:
        return {None: stats}
    names = _arm_names(Path(stats.source), feature)
    columns = arm_columns(names, source=stats.source, feature=feature, width=len(stats.mean))
    if None in columns:
        raise config_error(f"{len(stats.mean)} values a joint stat, but the dataset names one "
                           "arm's motors", source=stats.source, field=feature)
    how = "named so in meta/info.json" if names is not None else \
        "taken in LeRobot's bimanual order: no meta/info.json names them"
    return {side: replace(
        stats, mean=stats.mean[cols], std=stats.std[cols],
        min=None if stats.min is None else stats.min[cols],
        max=None if stats.max is None else stats.max[cols], arm=side,
        key=f"{stats.key}, the {side} arm's values ({how})")
        for side, cols in columns.items()}


def load_stats(path: str | Path, *, feature: str = "observation.state",
               dataset: str | None = None, mode: str | None = None,
               arm: str | None = None) -> NormStats:
    """Load the normalization stats of ``feature`` from any supported file or folder: of
    one arm, or of ``arm`` (``left``, ``right``) of two-arm stats (:func:`load_stats_arms`).

    ``mode`` (MEAN_STD or MIN_MAX) defaults to what a processor config declares, else
    MEAN_STD (SmolVLA's STATE and ACTION mode).
    """
    found = load_stats_arms(path, feature=feature, dataset=dataset, mode=mode)
    return pick_arm(found, arm, source=str(path), what="stats file")
