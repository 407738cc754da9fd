"""The checked follower (integrations/lerobot_robot_so101_checked) inside LeRobot 0.6.1:
registered by LeRobot's own plugin discovery, the same fields and calibration files as
so101_follower, the read-only checks before LeRobot's bus connects, and LeRobot's own
lerobot-teleoperate against an emulated leader and follower pair.

Skipped where the distribution is not installed (the main .venv). .ci/run installs it in
the LeRobot 0.6.1 virtualenv and runs this file there with ``SO101_REQUIRE_LEROBOT=1``,
which makes a failing import an error instead of a skip (docs/lerobot.md).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.core.joints import MOTOR_IDS
from tests.helpers import FIXTURES, MAPPINGS

if os.environ.get("SO101_REQUIRE_LEROBOT") != "1":
    pytest.importorskip("lerobot_robot_so101_checked",
                        reason="the LeRobot integration is not installed here: docs/lerobot.md")
checked = importlib.import_module("lerobot_robot_so101_checked")
from lerobot.robots import make_robot_from_config  # noqa: E402
from lerobot.robots.config import RobotConfig  # noqa: E402
from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig  # noqa: E402
from lerobot.utils.import_utils import register_third_party_plugins  # noqa: E402

LOGGER = "lerobot_robot_so101_checked.so_follower_checked"
SCENARIOS = FIXTURES / "scenarios"


def snapshot(emulator: EmulatorProcess) -> dict[int, tuple[int, int, int]]:
    """Per servo: writes received, times torque was switched on, torque now."""
    return {i: (s["writes"], s["torque_switched_on"], s["torque"])
            for i, s in emulator.state().items()}


def open_fds_to(port: str) -> list[str]:
    return [fd.name for fd in Path("/proc/self/fd").iterdir()
            if os.path.realpath(fd) == os.path.realpath(port)]


def twin_with_file(tmp_path: Path, *args: str) -> EmulatorProcess:
    """A twin that calibrated itself, its file where LeRobot looks for robot id 'arm'
    (``calibration_dir``, as under HF_LEROBOT_CALIBRATION/robots/so_follower)."""
    folder = tmp_path / "robots" / "so_follower"
    emulator = EmulatorProcess("--start", "rest", "--calibration-out",
                               str(folder / "arm.json"), *args).start()
    emulator.calibration_dir = folder
    return emulator


@pytest.fixture
def healthy(tmp_path):
    emulator = twin_with_file(tmp_path)
    yield emulator
    emulator.stop()


@pytest.fixture
def mirrored(tmp_path):
    emulator = twin_with_file(tmp_path, "--twin-fault", "elbow_flex:mirror")
    yield emulator
    emulator.stop()


def robot(emulator: EmulatorProcess, kind: str = "so101_follower_checked", **fields):
    config = RobotConfig.get_choice_class(kind)(port=emulator.port, id="arm",
                                                calibration_dir=emulator.calibration_dir,
                                                **fields)
    return make_robot_from_config(config)


# -- registration -------------------------------------------------------------------------

DISCOVERY = """
import sys
from lerobot.robots.config import RobotConfig
from lerobot.utils.import_utils import register_third_party_plugins
assert "lerobot_robot_so101_checked" not in sys.modules
known = set(RobotConfig.get_known_choices())
register_third_party_plugins()
print(*sorted(set(RobotConfig.get_known_choices()) - known))
"""


def test_lerobot_imports_the_distribution_by_its_name():
    """What every LeRobot command does first (register_third_party_plugins): the
    distribution's name is its module's, so LeRobot finds and imports it."""
    found = subprocess.run([sys.executable, "-c", DISCOVERY], capture_output=True, text=True,
                           timeout=120)
    assert found.returncode == 0, found.stderr[-2000:]
    assert {"so100_follower_checked", "so101_follower_checked"} <= \
        set(found.stdout.splitlines()[-1].split())


def test_lerobots_plugin_discovery_registers_both_types_with_so101_followers_fields(
        monkeypatch, tmp_path):
    import lerobot.robots.robot

    monkeypatch.setattr(lerobot.robots.robot, "HF_LEROBOT_CALIBRATION", tmp_path)
    register_third_party_plugins()
    theirs = {f.name: f.default for f in dataclasses.fields(SO101FollowerConfig)}
    for kind, cls in (("so101_follower_checked", checked.SO101FollowerChecked),
                      ("so100_follower_checked", checked.SO100FollowerChecked)):
        config_class = RobotConfig.get_choice_class(kind)
        mine = {f.name: f.default for f in dataclasses.fields(config_class)}
        assert {k: v for k, v in mine.items() if k in theirs} == theirs
        assert set(mine) - set(theirs) == {"checks", "mapping", "stats", "stats_feature",
                                           "stats_dataset"}
        config = config_class(port="/dev/null", id="arm")
        assert config.type == kind
        device = make_robot_from_config(config)
        assert type(device) is cls and isinstance(device, SO101Follower)
        assert device.calibration_fpath == SO101Follower(SO101FollowerConfig(
            port="/dev/null", id="arm")).calibration_fpath == \
            tmp_path / "robots" / "so_follower" / "arm.json"


@pytest.mark.parametrize(("field", "value"), [("checks", "loose"),
                                              ("stats_feature", "observation.images")])
def test_a_bad_field_value_is_one_line(field, value):
    with pytest.raises(ValueError, match=rf"^{field} must be one of .*, got '{value}'$"):
        checked.SO101FollowerCheckedConfig(port="/dev/null", **{field: value})


# -- connect on the twin ------------------------------------------------------------------

def test_a_healthy_arm_connects_after_its_checks_and_lerobot_asks_nothing(healthy, prompts,
                                                                          caplog):
    follower = robot(healthy)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        follower.connect()
    try:
        assert prompts == [] and follower.is_connected
        assert follower.connect_check.ok
        assert follower.connect_check.checked == ("registers-vs-file", "position-in-range",
                                                  "status-bits", "supply-voltage",
                                                  "temperature", "rest-reading")
        assert "read-only checks hold" in caplog.text
        assert all(torque == 1 for _, _, torque in snapshot(healthy).values())   # LeRobot's
    finally:
        follower.disconnect()


def test_a_mirrored_elbow_is_refused_before_lerobot_writes_anything(mirrored, prompts):
    follower = robot(mirrored)
    before = snapshot(mirrored)
    with pytest.raises(checked.ConnectRefused) as refused:
        follower.connect()
    message = str(refused.value)
    lines = message.splitlines()
    assert "so101_follower_checked 'arm'" in lines[0] and "1 problem" in lines[0]
    assert "nothing was written to the servos; the port is closed" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("  elbow_flex: rest reading")
    assert "direction reversed: a mirrored motor" in lines[1]
    assert snapshot(mirrored) == before and not follower.is_connected
    assert open_fds_to(mirrored.port) == [] and prompts == []


def test_warn_connects_anyway_and_logs_the_problem(mirrored, prompts, caplog):
    follower = robot(mirrored, checks="warn")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        follower.connect()
    try:
        assert follower.is_connected and not follower.connect_check.ok
        warned = [r.message for r in caplog.records if r.levelno == logging.WARNING]
        assert any("elbow_flex: rest reading" in w for w in warned)
        assert "connecting anyway (checks=warn)" in warned[-1]
    finally:
        follower.disconnect()


def test_off_is_lerobots_follower(mirrored, prompts):
    follower = robot(mirrored, checks="off")
    follower.connect()
    try:
        assert follower.is_connected and follower.connect_check is None
    finally:
        follower.disconnect()


def test_torque_found_on_is_switched_off_when_refused(mirrored, prompts):
    """A session that died with torque on: refusing leaves the arm limp."""
    with FeetechBus(mirrored.port) as bus:
        for servo_id in MOTOR_IDS:
            bus.write("Lock", servo_id, 0)
            bus.write("Torque_Enable", servo_id, 1)
    with pytest.raises(checked.ConnectRefused, match="torque switched off on shoulder_pan, "):
        robot(mirrored).connect()
    assert [s[2] for s in snapshot(mirrored).values()] == [0] * 6


def test_a_bad_mapping_refuses_with_one_line_before_touching_the_arm(healthy, tmp_path):
    before = snapshot(healthy)
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(checked.ConnectRefused, match=r"(?s)nothing was read from or written"
                       rf".*\n  {missing}: .*not found"):
        robot(healthy, mapping=missing).connect()
    with pytest.raises(checked.ConnectRefused,
                       match=r"so101_range.toml.*shoulder_pan.*range_m100_100.*use_degrees"):
        robot(healthy, mapping=MAPPINGS / "so101_range.toml").connect()
    assert snapshot(healthy) == before


def test_a_mapping_given_is_used_in_range_mode(healthy, prompts):
    follower = robot(healthy, use_degrees=False, mapping=MAPPINGS / "so101_range.toml")
    follower.connect()
    try:
        assert follower.connect_check.ok and "rest-reading" in follower.connect_check.checked
    finally:
        follower.disconnect()


def test_legacy_frame_stats_are_refused_naming_the_joints_and_the_conversion(healthy, prompts):
    with pytest.raises(checked.ConnectRefused) as refused:
        robot(healthy, stats=SCENARIOS / "smolvla_legacy_frame/stats").connect()
    lines = str(refused.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == ["shoulder_lift", "elbow_flex"]
    assert all("recorded in lerobot-legacy-degrees" in line for line in lines)


def test_calibrating_checks_the_servos_health_only(healthy, caplog):
    follower = robot(healthy)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        follower.connect(calibrate=False)
    follower.disconnect()
    assert follower.connect_check.checked == ("status-bits", "supply-voltage", "temperature")
    assert "calibrating (connect(calibrate=False)" in caplog.text


def test_the_so100_without_a_mapping_checks_what_needs_none_and_says_so(healthy, prompts,
                                                                       caplog):
    follower = robot(healthy, kind="so100_follower_checked")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        follower.connect()
    follower.disconnect()
    assert follower.connect_check.checked == ("registers-vs-file", "position-in-range",
                                              "status-bits", "supply-voltage", "temperature")
    assert "no mapping (--robot.mapping)" in caplog.text


# -- LeRobot's own lerobot-teleoperate, end to end ----------------------------------------

@pytest.fixture(scope="module")
def calibrate():
    return importlib.import_module("pytest_so101.bus.lerobot_calibrate")


def teleoperate(calibration_root: Path, follower: str, leader: str, seconds: float = 2.0
                ) -> subprocess.CompletedProcess[str]:
    """``lerobot-teleoperate`` beside this interpreter, the checked follower and an SO-101
    leader, calibration files under ``calibration_root``."""
    command = [str(Path(sys.executable).parent / "lerobot-teleoperate"),
               "--robot.type=so101_follower_checked", f"--robot.port={follower}",
               "--robot.id=follower", "--teleop.type=so101_leader", f"--teleop.port={leader}",
               "--teleop.id=leader", f"--teleop_time_s={seconds}", "--fps=30"]
    env = dict(os.environ, HF_LEROBOT_CALIBRATION=str(calibration_root))
    return subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180)


def leader_twin(calibration_root: Path) -> EmulatorProcess:
    """An emulated leader folded at rest, its file where LeRobot's so101_leader looks."""
    path = calibration_root / "teleoperators" / "so_leader" / "leader.json"
    return EmulatorProcess("--role", "leader", "--start", "rest", "--calibration-out",
                           str(path))


@pytest.mark.parametrize("mirrored_elbow", [False, True], ids=["healthy", "mirrored-elbow"])
def test_lerobot_teleoperate_with_the_checked_follower(calibrate, tmp_path, mirrored_elbow):
    """A healthy pair teleoperates for --teleop_time_s; a follower with a mirrored elbow,
    folded at rest and calibrated with lerobot-calibrate as a person would (who does not
    notice), is refused at connect naming elbow_flex, its torque never switched on."""
    faults = ["--twin-fault", "elbow_flex:mirror"] if mirrored_elbow else []
    with calibrate.lerobot_calibrated_twin("follower", tmp_path, ["--start", "rest", *faults]
                                           ) as follower, leader_twin(tmp_path) as leader:
        assert json.loads(follower.calibration_path.read_text())["elbow_flex"]["drive_mode"] \
            == 0                                       # LeRobot did not notice
        before = snapshot(follower.emulator)
        run = teleoperate(tmp_path, follower.port, leader.port)
        after = snapshot(follower.emulator)
    out = run.stdout + run.stderr
    if not mirrored_elbow:
        assert run.returncode == 0, out[-3000:]
        assert "read-only checks hold" in out and "Teleop loop time" in out
        assert all(a[1] > b[1] for a, b in zip(after.values(), before.values(), strict=True))
        assert all(torque == 0 for _, _, torque in after.values())    # off at disconnect
        return
    assert run.returncode != 0
    refused = [line for line in out.splitlines() if "connect refused" in line]
    assert len(refused) == 1 and "1 problem" in refused[0], out[-3000:]
    problem = out.splitlines()[out.splitlines().index(refused[0]) + 1]
    assert problem.startswith("  elbow_flex: rest reading vs mapped rest pose"), problem
    assert "direction reversed: a mirrored motor" in problem
    assert after == before                           # nothing written, torque never on
    assert all(torque == 0 for _, _, torque in after.values())
