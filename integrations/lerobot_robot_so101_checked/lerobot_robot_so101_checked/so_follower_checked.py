"""LeRobot's SO follower, checked when it connects.

``connect()`` first runs pytest-so101's read-only checks on the port
(:func:`pytest_so101.api.check_at_connect`: its own read-only bus, opened and closed before
LeRobot's), then LeRobot's own connect: the bus, calibration if needed, ``configure()``
(which enables torque). With ``checks="strict"`` a problem raises :class:`ConnectRefused`,
one line per problem, before LeRobot has written anything; ``warn`` logs the problems and
connects; ``off`` is LeRobot's follower unchanged. MARGINAL readings and what was not
checked are logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lerobot.robots.so_follower.so_follower import SOFollower
from lerobot.utils.decorators import check_if_already_connected

from pytest_so101.api import ConnectCheck, check_at_connect, robot_units_guard
from pytest_so101.core.calibration import Calibration, load_calibration
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.frames import expand_units
from pytest_so101.core.lerobot_maps import lerobot_mapping
from pytest_so101.core.mapping import MappingFile, load_mapping
from pytest_so101.core.poses import RestPose
from pytest_so101.core.stats import NormStats, load_stats

from .config_so_follower_checked import SO100FollowerCheckedConfig, SO101FollowerCheckedConfig

logger = logging.getLogger(__name__)


class ConnectRefused(ConnectionError):  # noqa: N818 (what happened, as LeRobot's errors)
    """The checks at connect found problems (``checks="strict"``): the message has one line
    per problem; nothing was written to the servos but torque off."""

    def __init__(self, message: str, report: ConnectCheck | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class _Files:
    """What the checks compare the arm with, and what was left out and why."""

    calibration: Calibration | None = None
    mapping: MappingFile | None = None
    stats: NormStats | None = None
    rest: RestPose | None = None
    notes: list[str] = field(default_factory=list)


class SO101FollowerChecked(SOFollower):
    """``so101_follower_checked``: LeRobot's SO-101 follower, its configuration fields and
    calibration files (``name`` stays ``so_follower``: robots/so_follower/ID.json), checked
    at connect."""

    config_class = SO101FollowerCheckedConfig
    name = "so_follower"
    #: The robot type in messages, and whether the bundled SO-101 maps apply.
    type_name = "so101_follower_checked"
    so101 = True

    def __init__(self, config: SO101FollowerCheckedConfig) -> None:
        super().__init__(config)
        self.config = config
        #: The last checks at connect (None: not run).
        self.connect_check: ConnectCheck | None = None

    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        if self.config.checks != "off":
            self._check(calibrate)
        super().connect(calibrate)

    # -- the checks --------------------------------------------------------------------
    def _who(self) -> str:
        return f"{self.type_name} {self.id!r} on {self.config.port}"

    def _files(self, calibrate: bool) -> _Files:
        """The calibration file, the mapping, the stats and the rest pose; a bad file
        raises one So101ConfigError line naming it."""
        found = _Files()
        path = self.calibration_fpath
        if not calibrate:
            found.notes.append(f"calibrating (connect(calibrate=False), as lerobot-calibrate "
                               f"does): {path} is not compared with the arm; the servos' "
                               "health is")
        elif not path.is_file():
            found.notes.append(f"no calibration file {path}: LeRobot calibrates the arm now; "
                               "the checks against the file run at the next connect")
        else:
            found.calibration = load_calibration(path)
        units = expand_units("degrees" if self.config.use_degrees else "range_m100_100")
        if self.config.mapping is not None:
            found.mapping = load_mapping(self.config.mapping)
            robot_units_guard(found.mapping, units)
        elif self.so101:
            found.mapping = lerobot_mapping(self.config.use_degrees)
        else:
            found.notes.append(f"no mapping (--robot.mapping): {self.type_name}'s rest pose "
                               "and stats frame are not checked (the bundled maps are the "
                               "SO-101's)")
        if self.config.stats is not None:
            found.stats = load_stats(self.config.stats, feature=self.config.stats_feature,
                                     dataset=self.config.stats_dataset)
            if found.mapping is None:
                found.notes.append(f"the stats' frame is not checked: {self.type_name} needs "
                                   "a mapping (--robot.mapping) to say what frame it reads")
        if found.mapping is not None and found.calibration is not None:
            from pytest_so101.sim.model import rest_pose_of  # MuJoCo: only when needed

            found.rest = rest_pose_of(found.mapping)
        return found

    def _check(self, calibrate: bool) -> None:
        """Run the checks; refuse (strict) or log (warn) what they found."""
        strict = self.config.checks == "strict"
        try:
            files = self._files(calibrate)
        except So101ConfigError as exc:
            self._found([str(exc)], strict, "a file the checks need is wrong; nothing was "
                        "read from or written to the arm")
            return
        report = check_at_connect(self.config.port, files.calibration, files.mapping,
                                  files.stats, rest=files.rest,
                                  torque_off_on_problem=strict)
        self.connect_check = report
        for note in files.notes + list(report.notes):
            logger.info("%s: %s", self._who(), note)
        for line in report.marginal:
            logger.warning("%s: MARGINAL: %s", self._who(), line)
        if report.problems:
            torque = (f"torque switched off on {', '.join(report.torque_switched_off)} (it was "
                      "on)" if report.torque_switched_off else "nothing was written to the "
                      "servos")
            self._found(list(report.problems), strict,
                        f"{torque}; the port is closed", report)
            return
        logger.info("%s: read-only checks hold in %.2f s (%s)", self._who(), report.elapsed_s,
                    ", ".join(report.checked))

    def _found(self, problems: list[str], strict: bool, state: str,
               report: ConnectCheck | None = None) -> None:
        count = f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        if not strict:
            for line in problems:
                logger.warning("%s: %s", self._who(), line)
            logger.warning("%s: %s found; connecting anyway (checks=warn)", self._who(), count)
            return
        lines = "\n".join(f"  {line}" for line in problems)
        raise ConnectRefused(
            f"{self._who()}: connect refused, {count} found by the read-only checks ({state}; "
            f"--robot.checks=warn connects anyway, off skips them):\n{lines}", report)


class SO100FollowerChecked(SO101FollowerChecked):
    """``so100_follower_checked``: the SO-100, checked the same way; its rest pose and
    stats need a mapping of its own (``--robot.mapping``)."""

    config_class = SO100FollowerCheckedConfig
    type_name = "so100_follower_checked"
    so101 = False
