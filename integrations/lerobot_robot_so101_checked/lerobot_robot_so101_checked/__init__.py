"""LeRobot's SO-101 / SO-100 follower that runs pytest-so101's read-only checks when it
connects: ``--robot.type=so101_follower_checked`` (or ``so100_follower_checked``) in
lerobot-record, -teleoperate, -replay, -rollout, -eval and -calibrate, which import this
package by its distribution name (``register_third_party_plugins``)."""

from .config_so_follower_checked import (
    CHECK_MODES,
    SO100FollowerCheckedConfig,
    SO101FollowerCheckedConfig,
)
from .so_follower_checked import ConnectRefused, SO100FollowerChecked, SO101FollowerChecked

__all__ = [
    "CHECK_MODES",
    "ConnectRefused",
    "SO100FollowerChecked",
    "SO100FollowerCheckedConfig",
    "SO101FollowerChecked",
    "SO101FollowerCheckedConfig",
]
