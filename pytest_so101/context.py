"""What a run loaded: the resolved options and the validated user files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .calibration import Calibration, resolve_calibration
from .chain import reference_sim_to_policy
from .mapping import MappingFile, load_mapping
from .options import Setting
from .stats import NormStats, load_stats
from .tolerances import Tolerances


@dataclass(frozen=True)
class So101Context:
    """Everything a run loaded: the settings and the validated user files."""

    settings: dict[str, Setting]
    tolerances: Tolerances
    calibration: Calibration | None = None
    stats: NormStats | None = None
    mapping: MappingFile | None = None


def _load(setting: Setting, loader: Callable[[str], object]) -> object:
    return None if setting.value is None else loader(str(setting.value))


def load_context(settings: dict[str, Setting]) -> So101Context:
    """Load and validate the user's files; any problem raises one :class:`So101ConfigError`."""
    calibration = _load(settings["calibration"], resolve_calibration)
    mapping = _load(settings["mapping"], load_mapping)
    stats = _load(settings["stats"], lambda p: load_stats(
        p, feature=str(settings["stats_feature"].value),
        dataset=settings["stats_dataset"].value))
    if mapping is not None and mapping.sim_to_robot is not None and mapping.policy_frame:
        reference_sim_to_policy(mapping, calibration)  # files that cannot be chained: one line
    tolerances = Tolerances(deg=float(settings["tolerance_deg"].value),
                            z=float(settings["tolerance_z"].value),
                            ticks=float(settings["tolerance_ticks"].value))
    return So101Context(settings, tolerances, calibration, stats, mapping)
