"""The checked followers' configuration: every field of LeRobot's ``so101_follower``
(``SOFollowerRobotConfig``), and what the checks at connect need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lerobot.robots.config import RobotConfig
from lerobot.robots.so_follower.config_so_follower import SOFollowerRobotConfig

#: ``checks``: ``strict`` refuses to connect on a problem (torque left off), ``warn`` logs
#: it and connects, ``off`` runs no check (the follower is then LeRobot's own).
CHECK_MODES = ("strict", "warn", "off")
FEATURES = ("observation.state", "action")


@RobotConfig.register_subclass("so101_follower_checked")
@dataclass
class SO101FollowerCheckedConfig(SOFollowerRobotConfig):
    # The read-only checks when connecting: strict (refuse on a problem), warn or off.
    checks: str = "strict"
    # The sim/robot/policy mapping TOML of this arm (pytest-so101's format); default the
    # bundled map of use_degrees (so101_degrees or so101_range).
    mapping: Path | None = None
    # A policy's normalization stats (a pretrained_model folder, .safetensors, stats.json):
    # their frame is checked against the robot's units.
    stats: Path | None = None
    stats_feature: str = "observation.state"
    # The dataset prefix when the stats hold several (e.g. so100).
    stats_dataset: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.checks not in CHECK_MODES:
            raise ValueError(f"checks must be one of {', '.join(CHECK_MODES)}, got "
                             f"{self.checks!r}")
        if self.stats_feature not in FEATURES:
            raise ValueError(f"stats_feature must be one of {', '.join(FEATURES)}, got "
                             f"{self.stats_feature!r}")


@RobotConfig.register_subclass("so100_follower_checked")
@dataclass
class SO100FollowerCheckedConfig(SO101FollowerCheckedConfig):
    """The SO-100: no bundled map (the embedded model and the bundled maps are the
    SO-101's), so the rest pose and the stats are checked only with ``mapping``."""
