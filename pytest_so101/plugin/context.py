"""What a run loaded: the resolved options and the validated user files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.arms import Fleet, FleetArm
from ..core.calibration import Calibration, resolve_calibration
from ..core.chain import reference_sim_to_policy
from ..core.dataset import Dataset, load_datasets, pick_arm
from ..core.errors import So101ConfigError, config_error
from ..core.mapping import MappingFile, load_mapping
from ..core.stats import NormStats, load_stats_arms
from ..core.tolerances import Tolerances
from .options import Setting


@dataclass(frozen=True)
class So101Context:
    """Everything a run loaded: the settings and the validated user files."""

    settings: dict[str, Setting]
    tolerances: Tolerances
    calibration: Calibration | None = None
    stats: NormStats | None = None
    mapping: MappingFile | None = None
    arm_id: str | None = None      # the fleet arm (``--so101-arms``) these files describe
    leader_calibration: Calibration | None = None    # --so101-leader-calibration
    dataset: Dataset | None = None                   # --so101-dataset, its frames read
    #: Per arm (a two-arm recording's left and right; one arm: the key None), the stats and
    #: the dataset; ``stats`` and ``dataset`` are the one arm checked, None for two arms
    #: when --so101-arm-side chose none (the suites then check both).
    stats_by_arm: dict[str | None, NormStats] = field(default_factory=dict)
    dataset_by_arm: dict[str | None, Dataset] = field(default_factory=dict)


def _load(setting: Setting, loader: Callable[[str], object]) -> object:
    return None if setting.value is None else loader(str(setting.value))


def load_context(settings: dict[str, Setting], arm_id: str | None = None) -> So101Context:
    """Load and validate the user's files; any problem raises one :class:`So101ConfigError`."""
    calibration = _load(settings["calibration"], lambda v: resolve_calibration(
        v, option=settings["calibration"].origin))
    mapping = _load(settings["mapping"], load_mapping)
    side = settings["arm_side"].value
    stats_by_arm = _arms(_load(settings["stats"], lambda p: load_stats_arms(
        p, feature=str(settings["stats_feature"].value),
        dataset=settings["stats_dataset"].value)), side, str(settings["stats"].value),
        "stats file")
    if mapping is not None and mapping.sim_to_robot is not None and mapping.policy_frame:
        reference_sim_to_policy(mapping, calibration)  # files that cannot be chained: one line
    leader = _load(settings["leader_calibration"], lambda v: resolve_calibration(
        v, option=settings["leader_calibration"].origin, leader=True))
    if leader is not None and calibration is not None:
        check_two_arms(calibration, leader)
    tolerances = Tolerances(deg=float(settings["tolerance_deg"].value),
                            z=float(settings["tolerance_z"].value),
                            ticks=float(settings["tolerance_ticks"].value),
                            tracking_deg=float(settings["tracking_deg"].value))
    dataset_by_arm = _arms(_load(settings["dataset"], load_datasets), side,
                           str(settings["dataset"].value), "dataset")
    return So101Context(settings, tolerances, calibration, _one(stats_by_arm), mapping, arm_id,
                        leader, _one(dataset_by_arm), stats_by_arm, dataset_by_arm)


def _arms(found: dict | None, side: str | None, source: str, what: str) -> dict:
    """The arms to check: all of them, or the one --so101-arm-side chose."""
    if found is None:
        return {}
    if side is None:
        return found
    return {side: pick_arm(found, str(side), source=source, what=what)}


def _one(by_arm: dict):
    """The one arm's, or None (nothing loaded, or two arms to check)."""
    return next(iter(by_arm.values())) if len(by_arm) == 1 else None


def check_two_arms(follower: Calibration, leader: Calibration) -> None:
    """The leader's calibration is not the follower's own (the same file twice, or the
    same numbers): comparing a file with itself would pass any pair."""
    same_file = (Path(follower.source).resolve() == Path(leader.source).resolve()
                 and follower.source != Calibration.source)       # both read from files
    if same_file or follower.to_json_dict() == leader.to_json_dict():
        raise config_error(
            "the leader's calibration is the follower's "
            f"({'the same file' if same_file else f'the same numbers as {follower.source}'}): "
            "a pair check would compare one arm with itself; give the leader's own file "
            "(calibration/teleoperators/so_leader/ID.json)",
            source="--so101-leader-calibration", value=leader.source)


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
