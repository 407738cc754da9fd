"""Policy and dataset normalization statistics: load every on-disk format, normalize.

Formats (domain.md section 6), all read without unpickling:

- a policy folder with ``policy_preprocessor.json`` (+ ``policy_postprocessor.json``) and
  the normalizer ``*.safetensors`` state files they name (LeRobot >= 0.4);
- a legacy ``model.safetensors`` with ``normalize_inputs.buffer_observation_state.mean``
  style buffers, including dataset-prefixed ones (``so100-blue_buffer_...``);
- a dataset ``meta/stats.json`` (``{"observation.state": {"mean": [...], ...}}``);
- a plain JSON ``{"mean": [...], "std": [...]}`` (or flat ``"action.mean"`` keys).

The feature is always chosen explicitly; where several datasets exist the dataset too.
A missing or ambiguous key is an error that lists what the file holds: never a silent
pass-through (lerobot issues #4415, #1763).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

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


def _vector(raw: object, *, source: str, key: str) -> np.ndarray:
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise config_error("stats must be numbers", source=source, field=key,
                           value=str(raw)[:60]) from None
    if values.shape != (N_JOINTS,):
        raise config_error(f"expected shape ({N_JOINTS},): one value per SO-101 joint",
                           source=source, field=key, value=values.shape)
    for i, joint in enumerate(MOTOR_NAMES):
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
                           "choose one with --so101-stats-dataset", source=source, field=feature)
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
    return NormStats(
        feature=feature, mean=arrays.get("mean", np.full(N_JOINTS, np.nan)),
        std=arrays.get("std", np.full(N_JOINTS, np.nan)), source=source, key=reference.prefix,
        mode=mode, min=arrays.get("min"), max=arrays.get("max"), eps=eps,
        dataset=chosen_dataset, runtime_key=runtime_key, runtime_key_present=runtime_present,
        available=available, count=count)


def _count(raw: object, *, source: str, key: str) -> int:
    """A frame count: one positive whole number (LeRobot stores it as shape (1,))."""
    values = np.asarray(raw, dtype=object).ravel()
    if values.size == 0 or isinstance(values[0], (bool, np.bool_)) or \
            not isinstance(values[0], (int, float, np.integer, np.floating)):
        raise config_error("count must be a number", source=source, field=key,
                           value=str(raw)[:60])
    count = float(values[0])
    if not np.isfinite(count) or count < 0 or count != int(count) or \
            np.any(np.asarray(values, dtype=float) != count):
        raise config_error("count must be one whole number >= 0", source=source, field=key,
                           value=str(raw)[:60])
    return int(count)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise config_error("file not found", source=str(path)) from None
    except json.JSONDecodeError as exc:
        raise config_error(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                           source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error(f"cannot read ({exc.__class__.__name__})", source=str(path)) from None


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise config_error("safetensors file not found", source=str(path))
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise config_error(f"cannot read safetensors ({exc})", source=str(path)) from None


def _check_mode(mode: str | None, *, source: str) -> str:
    mode = (mode or "MEAN_STD").upper()
    if mode not in MODES:
        raise config_error(f"normalization mode must be one of {', '.join(MODES)}",
                           source=source, field="mode", value=mode)
    return mode


def _from_tensors(tensors: Mapping[str, object], *, source: str, feature: str,
                  dataset: str | None, mode: str, eps: float) -> NormStats:
    groups = _group_flat_keys(list(tensors))
    return _select(groups, tensors, feature=feature, dataset=dataset, source=source, mode=mode,
                   eps=eps)


def _processor_steps(config_path: Path, step_name: str) -> list[tuple[Path, dict]]:
    config = _read_json(config_path)
    steps = config.get("steps") if isinstance(config, dict) else None
    if not isinstance(steps, list):
        raise config_error("expected {\"steps\": [...]} (a LeRobot processor config)",
                           source=str(config_path), field="steps")
    found = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("registry_name") != step_name:
            continue
        state_file = step.get("state_file")
        if not isinstance(state_file, str):
            raise config_error("normalizer step names no state_file", source=str(config_path),
                               field=f"steps[{i}].state_file", value=state_file)
        found.append((config_path.parent / state_file, step.get("config") or {}))
    return found


def _from_processor_dir(folder: Path, *, feature: str, dataset: str | None,
                        mode: str | None) -> NormStats:
    candidates = [(folder / "policy_preprocessor.json", "normalizer_processor"),
                  (folder / "policy_postprocessor.json", "unnormalizer_processor")]
    seen: list[str] = []
    for config_path, step_name in candidates:
        if not config_path.is_file():
            continue
        for state_path, config in _processor_steps(config_path, step_name):
            if not state_path.is_file():
                raise config_error(f"state file named by {config_path.name} is missing",
                                   source=str(state_path))
            tensors = _read_safetensors(state_path)
            groups = _group_flat_keys(list(tensors))
            seen.extend(g.prefix for g in groups)
            if not any(g.feature == feature for g in groups):
                continue
            eps = float(config.get("eps", DEFAULT_EPS))
            feature_type = ((config.get("features") or {}).get(feature) or {}).get("type")
            declared = (config.get("norm_map") or {}).get(feature_type) if feature_type else None
            if declared == "IDENTITY":
                raise config_error(f"the policy does not normalize '{feature}' (norm_map "
                                   f"{feature_type} = IDENTITY): nothing to check",
                                   source=str(config_path), field="norm_map")
            chosen_mode = _check_mode(mode or declared, source=str(config_path))
            return _select(groups, tensors, feature=feature, dataset=dataset,
                           source=str(state_path), mode=chosen_mode, eps=eps)
    listing = ", ".join(sorted(set(seen))) or "no normalizer state"
    raise config_error(f"no stats for feature '{feature}' in the policy processors; found: "
                       f"{listing}", source=str(folder), field=feature)


def _from_json(path: Path, *, feature: str, dataset: str | None, mode: str) -> NormStats:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise config_error("expected a JSON object", source=str(path),
                           value=type(data).__name__)
    if "mean" in data or "min" in data:
        if dataset is not None:
            raise config_error("a plain mean/std file has no datasets", source=str(path),
                               field="dataset", value=dataset)
        tensors = {f"{feature}.{k}": v for k, v in data.items() if k in STAT_NAMES}
        stats = _from_tensors(tensors, source=str(path), feature=feature, dataset=None,
                              mode=mode, eps=float(data.get("eps", DEFAULT_EPS)))
        return replace(stats, key="mean/std", runtime_key="mean/std")
    nested = {f"{feat}.{k}": v for feat, table in data.items() if isinstance(table, dict)
              for k, v in table.items()}
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    return _from_tensors({**flat, **nested}, source=str(path), feature=feature, dataset=dataset,
                         mode=mode, eps=DEFAULT_EPS)


def load_stats(path: str | Path, *, feature: str = "observation.state",
               dataset: str | None = None, mode: str | None = None) -> NormStats:
    """Load the normalization stats of ``feature`` from any supported file or folder.

    ``mode`` (MEAN_STD or MIN_MAX) defaults to what a processor config declares, else
    MEAN_STD (SmolVLA's STATE and ACTION mode).
    """
    if feature not in FEATURES:
        raise config_error(f"feature must be one of {', '.join(FEATURES)}",
                           source="--so101-stats-feature", value=feature)
    path = Path(path)
    if path.is_dir():
        if (path / "policy_preprocessor.json").is_file() or \
                (path / "policy_postprocessor.json").is_file():
            return _from_processor_dir(path, feature=feature, dataset=dataset, mode=mode)
        for inner in (path / "model.safetensors", path / "meta" / "stats.json",
                      path / "stats.json"):
            if inner.is_file():
                return load_stats(inner, feature=feature, dataset=dataset, mode=mode)
        raise config_error("folder holds no policy_preprocessor.json, model.safetensors or "
                           "meta/stats.json", source=str(path))
    if not path.exists():
        raise config_error("stats file not found", source=str(path))
    checked_mode = _check_mode(mode, source=str(path))
    if path.suffix == ".safetensors":
        return _from_tensors(_read_safetensors(path), source=str(path), feature=feature,
                             dataset=dataset, mode=checked_mode, eps=DEFAULT_EPS)
    if path.suffix == ".json":
        if path.name in ("policy_preprocessor.json", "policy_postprocessor.json"):
            return _from_processor_dir(path.parent, feature=feature, dataset=dataset, mode=mode)
        return _from_json(path, feature=feature, dataset=dataset, mode=checked_mode)
    raise config_error("unknown stats format; expected a policy folder, .safetensors or .json",
                       source=str(path))
