"""What a run loaded: the resolved options and the validated user files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .calibration import Calibration, resolve_calibration
from .chain import reference_sim_to_policy
from .errors import So101ConfigError, config_error
from .fleet import Fleet, FleetArm
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
    arm_id: str | None = None      # the fleet arm (``--so101-arms``) these files describe


def _load(setting: Setting, loader: Callable[[str], object]) -> object:
    return None if setting.value is None else loader(str(setting.value))


def load_context(settings: dict[str, Setting], arm_id: str | None = None) -> So101Context:
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
    return So101Context(settings, tolerances, calibration, stats, mapping, arm_id)


def arm_settings(settings: dict[str, Setting], arm: FleetArm, source: str
                 ) -> dict[str, Setting]:
    """The run's settings for one arm of the arms file ``source``: its port (the hardware
    path) and files; the arm's own mapping and stats, else the file's ``[defaults]``, else
    the run's options."""
    origin = f"{source} [arms.{arm.arm_id}]"
    chosen = dict(settings)
    chosen["hardware"] = Setting(True, f"--so101-arms {source}")
    for name in ("port", "calibration", "mapping", "stats", "stats_dataset"):
        value = getattr(arm, name)
        if value is not None:
            chosen[name] = Setting(value, origin)
    return chosen


def load_arm_context(settings: dict[str, Setting], arm: FleetArm, source: str
                     ) -> So101Context:
    """One fleet arm's context; a problem with its files is one line naming the arms
    file and the arm too."""
    try:
        return load_context(arm_settings(settings, arm, source), arm.arm_id)
    except So101ConfigError as exc:
        raise config_error(str(exc), source=source, joint=arm.where) from None


@dataclass(frozen=True)
class FleetRun:
    """A fleet run (``--so101-arms``): the arms file, which worker owns which arms
    (``main`` without pytest-xdist), the arms this process runs, in order, and each arm's
    context (on the controller: every arm's, for its report)."""

    fleet: Fleet
    workers: dict[str, list[str]]
    mine: tuple[str, ...]
    contexts: dict[str, So101Context]

    def worker_of(self, arm_id: str) -> str | None:
        return next((w for w, arms in self.workers.items() if arm_id in arms), None)
