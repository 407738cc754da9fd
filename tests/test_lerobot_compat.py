"""LeRobot's own code against the twin, and LeRobot's normalization against ours.

LeRobot's FeetechMotorsBus (handshake, configure_motors and the Phase register, sync
reads, read/write_calibration), its SO101Follower robot (connect, get_observation,
send_action), its ``lerobot-calibrate`` command end to end (the file it writes must equal
the servos and pass the suites on the same twin), and its processor pipelines (stats it
saves load here and normalize identically).

Skipped where LeRobot is not installed (the main .venv). .ci/run runs this file in one
virtualenv per LeRobot line (docs/lerobot.md) with ``SO101_REQUIRE_LEROBOT`` saying what
must import there, so nothing skips silently: ``1`` everything; ``motors`` LeRobot's motor
bus only (LeRobot 0.4.4 beside the CPU torch 2.13.0: its robot classes and processors
import ``lerobot.processor``, which needs a torchvision no CPU build of which exists here).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_so101 import strategies as so101_st
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.core.calibration import Calibration, load_calibration
from pytest_so101.core.frames import (
    TICKS_PER_RAD,
    RobotUnit,
    expand_units,
    ticks_to_units,
    units_to_ticks,
)
from pytest_so101.core.joints import MOTOR_IDS, MOTOR_NAMES
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.stats import load_stats
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REPO

_REQUIRED = os.environ.get("SO101_REQUIRE_LEROBOT", "")
REQUIRED_PARTS = {"motors", "robots", "processor"} if _REQUIRED == "1" else \
    {part.strip() for part in _REQUIRED.split(",") if part.strip()}


def lerobot_module(name: str, part: str):
    """Import a LeRobot module; where SO101_REQUIRE_LEROBOT does not require ``part``, a
    failing import skips with the error as the reason."""
    if part in REQUIRED_PARTS:
        return importlib.import_module(name)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"LeRobot's {part} cannot be imported here ({exc}); docs/lerobot.md says "
                    "how to install it", allow_module_level=True)


feetech = lerobot_module("lerobot.motors.feetech", "motors")
from lerobot.motors import Motor, MotorCalibration, MotorNormMode  # noqa: E402

LEROBOT_VERSION = tuple(int(p) for p in importlib.metadata.version("lerobot").split(".")[:2])
MODES = {RobotUnit.DEGREES: MotorNormMode.DEGREES,
         RobotUnit.RANGE_M100_100: MotorNormMode.RANGE_M100_100,
         RobotUnit.RANGE_0_100: MotorNormMode.RANGE_0_100}
SUITES = REPO / "suites"
DEGREES_MAPPING = MAPPINGS / "so101_degrees.toml"
TOLERANCE_TICKS = 4
#: A pose away from every keyframe, in sim degrees (motor order), and another to move to.
POSE_DEG = np.array([20.0, -35.0, 40.0, -25.0, 60.0, 30.0])
TARGET_DEG = np.array([-15.0, 20.0, 35.0, 30.0, -40.0, 50.0])


def lerobot_bus(port: str, unit: RobotUnit = RobotUnit.DEGREES):
    """A FeetechMotorsBus set up as LeRobot's SO follower: the gripper always 0..100."""
    motors = {name: Motor(i + 1, "sts3215", MotorNormMode.RANGE_0_100 if name == "gripper"
                          else MODES[unit]) for i, name in enumerate(MOTOR_NAMES)}
    return feetech.FeetechMotorsBus(port, motors)


def lerobot_calibration(cal):
    return {name: MotorCalibration(**m.__dict__) for name, m in cal.motors.items()}


def registers(emulator: EmulatorProcess) -> dict[str, tuple[int, int, int]]:
    """(Homing_Offset, Min_Position_Limit, Max_Position_Limit) of each servo, by joint."""
    state = emulator.state()
    return {name: (state[i]["homing"], state[i]["min"], state[i]["max"])
            for name, i in zip(MOTOR_NAMES, MOTOR_IDS, strict=True)}


def file_registers(cal: Calibration) -> dict[str, tuple[int, int, int]]:
    return {name: (m.homing_offset, m.range_min, m.range_max) for name, m in cal.motors.items()}


# -- LeRobot's motor bus ----------------------------------------------------------------

def test_lerobot_connects_configures_writes_and_reads_back_a_calibration():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    with EmulatorProcess("--shaft", "simple", "--raw", "2=1300") as emulator:
        bus = lerobot_bus(emulator.port)
        bus.connect()                               # with the handshake: ping, firmware
        with bus.torque_disabled():
            bus.configure_motors()
        bus.disable_torque()                        # unlocks EEPROM, as LeRobot calibrates
        bus.write_calibration(lerobot_calibration(cal))
        assert bus.read_calibration() == lerobot_calibration(cal)
        assert bus.read("Return_Delay_Time", "elbow_flex", normalize=False) == 0
        state = emulator.state()
        assert [state[i]["homing"] for i in range(1, 7)] == cal.homing_offset.tolist()
        bus.disconnect()


@pytest.mark.parametrize("phase", [12, 12 | 0x10])
def test_configure_motors_and_the_phase_register(phase):
    """Phase (address 18): 12 at power-on. A servo left in full-angle feedback (bit 4, set
    here through the bus as Feetech's tool would) reads -200 ticks (raw 100, Homing_Offset
    300); LeRobot 0.6's configure_motors clears the bit (lerobot PR #3373) and the reading
    wraps to 3896 again; LeRobot 0.4.4 leaves Phase alone."""
    with EmulatorProcess("--shaft", "simple", "--raw", "2=100", "--homing", "2=300") as emulator:
        bus = lerobot_bus(emulator.port)
        bus.connect()
        assert bus.read("Phase", "shoulder_lift", normalize=False) == 12
        with bus.torque_disabled():                 # Lock 0: the EEPROM takes the write
            bus.write("Phase", "shoulder_lift", phase)
            before = bus.read("Present_Position", "shoulder_lift", normalize=False)
            bus.configure_motors()
        after = bus.read("Phase", "shoulder_lift", normalize=False)
        reading = bus.read("Present_Position", "shoulder_lift", normalize=False)
        bus.disconnect()
    assert before == (-200 if phase & 0x10 else 3896)
    clears = LEROBOT_VERSION >= (0, 6)              # 0.4.4 leaves it; 0.5 not checked here
    expected = phase & ~0x10 if clears else phase
    assert after == expected
    assert reading == (-200 if expected & 0x10 else 3896)


@pytest.mark.parametrize("unit", [RobotUnit.DEGREES, RobotUnit.RANGE_M100_100])
def test_lerobot_sync_read_agrees_with_our_frames(unit):
    cal = load_calibration(EXAMPLE_CALIBRATION)
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION)) as emulator:
        bus = lerobot_bus(emulator.port, unit)
        bus.connect()
        bus.calibration = lerobot_calibration(cal)
        ticks = bus.sync_read("Present_Position", normalize=False)
        theirs = bus.sync_read("Present_Position")
        units = tuple(RobotUnit.RANGE_0_100 if n == "gripper" else unit for n in MOTOR_NAMES)
        ours = ticks_to_units(np.array([ticks[n] for n in MOTOR_NAMES]), cal, units)
        assert [theirs[n] for n in MOTOR_NAMES] == ours.tolist()
        bus.disconnect()


@pytest.mark.parametrize("unit", list(MODES))
@settings(max_examples=200, deadline=None)
@given(cal=so101_st.calibrations(), data=st.data())
def test_our_conversions_equal_lerobot_normalize_and_unnormalize(unit, cal, data):
    bus = lerobot_bus("/dev/null")
    for motor in bus.motors.values():
        motor.norm_mode = MODES[unit]
    bus.calibration = lerobot_calibration(cal)
    units = (unit,) * 6
    ticks = np.array(data.draw(st.lists(st.integers(0, 4095), min_size=6, max_size=6)))
    theirs = bus._normalize(dict(zip(range(1, 7), ticks.tolist(), strict=True)))
    assert [theirs[i] for i in range(1, 7)] == ticks_to_units(ticks, cal, units).tolist()
    values = np.array(data.draw(st.lists(st.floats(-300, 300), min_size=6, max_size=6)))
    back = bus._unnormalize(dict(zip(range(1, 7), values.tolist(), strict=True)))
    assert [back[i] for i in range(1, 7)] == units_to_ticks(values, cal, units).tolist()


# -- LeRobot's SO101Follower robot -------------------------------------------------------

@pytest.fixture(scope="module")
def so_follower():
    """LeRobot's SO follower module (lerobot.robots.so_follower in 0.4.4 and 0.6.1),
    imported once: pytester drops modules imported during a test, and torchvision cannot
    be imported twice."""
    return lerobot_module("lerobot.robots.so_follower", "robots")


@pytest.fixture
def twin(tmp_path):
    """A twin that calibrated itself, its file where LeRobot's robot looks for it
    (``calibration_dir``, as under HF_LEROBOT_CALIBRATION/robots/so_follower)."""
    calibration_dir = tmp_path / "robots" / "so_follower"
    with EmulatorProcess("--calibration-out", str(calibration_dir / "twin.json")) as emulator:
        emulator.calibration_dir = calibration_dir
        emulator.calibration = load_calibration(calibration_dir / "twin.json")
        yield emulator


def connected_follower(so_follower, twin, use_degrees: bool):
    config = so_follower.SO101FollowerConfig(port=twin.port, id="twin", use_degrees=use_degrees,
                                             calibration_dir=twin.calibration_dir)
    robot = so_follower.SO101Follower(config)
    robot.connect()
    return robot


def robot_units(use_degrees: bool) -> tuple[RobotUnit, ...]:
    return expand_units(RobotUnit.DEGREES if use_degrees else RobotUnit.RANGE_M100_100)


def chain_prediction(q_sim_rad: np.ndarray, cal: Calibration, units) -> np.ndarray:
    """What the project's chain says the robot reports at a pose: the degrees mapping's
    [sim_to_robot] (deg = rad2deg(q); gripper -10..100 deg -> 0..100), then LeRobot's
    conversions through the calibration into ``units``."""
    deg = load_mapping(DEGREES_MAPPING).sim_to_robot.apply(q_sim_rad)
    ticks = units_to_ticks(deg, cal, expand_units("degrees"), rounding=None, clamp=False)
    return ticks_to_units(ticks, cal, units, clamp=False)


def units_per_tick(cal: Calibration, units) -> np.ndarray:
    mid = cal.range_mid
    return np.abs(ticks_to_units(mid + 1, cal, units, clamp=False) -
                  ticks_to_units(mid, cal, units, clamp=False))


def wait_until_still(emulator: EmulatorProcess, polls: int = 200) -> np.ndarray:
    """The twin's true pose once it stopped moving (two reads 0.02 s apart within 0.1
    tick), after at most ``polls`` reads."""
    last = emulator.q_sim_rad()
    for _ in range(polls):
        time.sleep(0.02)
        q = emulator.q_sim_rad()
        if np.all(np.abs(q - last) * TICKS_PER_RAD < 0.1):
            return q
        last = q
    return last


@pytest.mark.parametrize("use_degrees", [True, False])
def test_so101_follower_observes_what_the_twin_and_our_frames_say(so_follower, twin, prompts,
                                                                   use_degrees):
    """With the twin's own calibration file, connect() asks nothing; get_observation()
    equals our frames on the same ticks exactly, and the twin's true pose through our chain
    within the tick tolerance."""
    robot = connected_follower(so_follower, twin, use_degrees)
    try:
        assert prompts == [] and robot.is_calibrated
        robot.bus.disable_torque()                  # passive: a person may pose the arm
        twin.place(np.deg2rad(POSE_DEG))
        observation = robot.get_observation()
    finally:
        robot.disconnect()
    theirs = np.array([observation[f"{name}.pos"] for name in MOTOR_NAMES])
    units = robot_units(use_degrees)
    ticks = np.array([twin.state()[i]["present"] for i in MOTOR_IDS])
    assert theirs.tolist() == ticks_to_units(ticks, twin.calibration, units).tolist()
    predicted = chain_prediction(twin.q_sim_rad(), twin.calibration, units)
    off_ticks = (theirs - predicted) / units_per_tick(twin.calibration, units)
    assert np.all(np.abs(off_ticks) <= TOLERANCE_TICKS), off_ticks.round(1).tolist()


@pytest.mark.parametrize("use_degrees", [True, False])
def test_so101_follower_send_action_moves_the_twin_where_our_chain_says(so_follower, twin,
                                                                        prompts, use_degrees):
    """send_action() of the pose our chain computes for a target: the twin's true joint
    angles end within 4 ticks of the target, the servos within 4 ticks of the goal."""
    units = robot_units(use_degrees)
    target = np.deg2rad(TARGET_DEG)
    action = chain_prediction(target, twin.calibration, units)
    robot = connected_follower(so_follower, twin, use_degrees)
    try:
        assert prompts == []
        sent = robot.send_action({f"{name}.pos": float(v)
                                  for name, v in zip(MOTOR_NAMES, action, strict=True)})
        reached = wait_until_still(twin)
        ticks = np.array([twin.state()[i]["present"] for i in MOTOR_IDS])
    finally:
        robot.disconnect()
    assert [sent[f"{name}.pos"] for name in MOTOR_NAMES] == pytest.approx(action.tolist())
    off_ticks = (reached - target) * TICKS_PER_RAD
    assert np.all(np.abs(off_ticks) <= TOLERANCE_TICKS), off_ticks.round(1).tolist()
    goal = units_to_ticks(action, twin.calibration, units)
    assert np.all(np.abs(ticks - goal) <= TOLERANCE_TICKS), (ticks.tolist(), goal.tolist())


def test_so101_follower_asks_when_the_file_differs_from_the_servos(so_follower, twin, prompts):
    """The other side of 'connects without prompting': a file whose shoulder_pan range
    differs from the servos makes connect() ask whether to use it."""
    path = twin.calibration_dir / "twin.json"
    data = json.loads(path.read_text())
    data["shoulder_pan"]["range_min"] += 10
    path.write_text(json.dumps(data, indent=4))
    robot = connected_follower(so_follower, twin, True)
    robot.disconnect()
    assert len(prompts) == 1 and "Press ENTER to use provided calibration file" in prompts[0]


# -- lerobot-calibrate against the twin, end to end --------------------------------------

@pytest.fixture(scope="module")
def calibrate():
    """The driver (pytest_so101.bus.lerobot_calibrate), once lerobot-calibrate imports."""
    lerobot_module("lerobot.robots.so_follower", "robots")
    return importlib.import_module("pytest_so101.bus.lerobot_calibrate")


@pytest.fixture(scope="module")
def lerobot_twin(calibrate, tmp_path_factory):
    """A twin (started folded at rest) that lerobot-calibrate calibrated, end to end."""
    out_dir = tmp_path_factory.mktemp("lerobot-calibration")
    with calibrate.lerobot_calibrated_twin("so101_twin", out_dir, ["--start", "rest"]) as twin:
        twin.out_dir = out_dir
        yield twin


def run_suites_on(run, port: str, calibration: Path):
    """The suites on the hardware path against a twin's pty, motion allowed."""
    return run(str(SUITES), "--hardware", "--so101-port", port, "--so101-calibration",
               str(calibration), "--so101-mapping", str(DEGREES_MAPPING), "--allow-motion")


def test_lerobot_calibrate_writes_the_servos_registers_and_the_suites_pass(lerobot_twin, run):
    path = lerobot_twin.calibration_path
    assert path == lerobot_twin.out_dir / "robots" / "so_follower" / "so101_twin.json"
    written = load_calibration(path)
    assert registers(lerobot_twin.emulator) == file_registers(written)
    assert written.drive_mode.tolist() == [0] * 6
    wrist_roll = written.motors["wrist_roll"]
    assert (wrist_roll.range_min, wrist_roll.range_max) == (0, 4095)
    result = run_suites_on(run, lerobot_twin.port, path)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines([f"so101: real arm on {lerobot_twin.port} (motion allowed)"])


def test_a_horn_reseated_after_lerobot_calibrated_fails_the_rest_pose(lerobot_twin, run):
    """The arm LeRobot's file describes, its elbow horn re-seated one tooth afterwards."""
    path = lerobot_twin.calibration_path
    with EmulatorProcess("--start", "rest", "--calibration", str(path), "--twin-fault",
                         "elbow_flex:reseat") as reseated:
        result = run_suites_on(run, reseated.port, path)
    assert result.ret == 1
    result.stdout.re_match_lines([r"elbow_flex: rest reading vs mapped rest pose = .* FAIL: .*"
                                  r"Likely cause: elbow_flex reads \+14.4 deg from the rest "
                                  r"pose: if it is on its stop, the horn was re-seated 1 spline "
                                  r"tooth"])


def test_a_mirrored_motor_lerobot_calibrated_fails_by_gravity(calibrate, run, tmp_path):
    """LeRobot calibrates a mirrored elbow without noticing (drive_mode 0); gravity and the
    rest pose name it."""
    with calibrate.lerobot_calibrated_twin("mirrored", tmp_path, [
            "--start", "rest", "--twin-fault", "elbow_flex:mirror"]) as twin:
        result = run_suites_on(run, twin.port, twin.calibration_path)
    assert result.ret == 1
    result.stdout.re_match_lines([
        r"elbow_flex: gravity load direction = .* FAIL: .*Likely cause: .*direction reversed"])
    result.stdout.re_match_lines([r"elbow_flex: rest reading vs mapped rest pose = .* FAIL"])


def test_a_short_sweep_records_a_short_range_and_the_suites_name_the_joint(
        calibrate, lerobot_twin, run, tmp_path):
    """The person sweeps the elbow over half its range only: LeRobot records that, and the
    suites fail on elbow_flex alone."""
    full = load_calibration(lerobot_twin.calibration_path)
    sweep = calibrate.Sweep({"elbow_flex": 0.5})
    with calibrate.lerobot_calibrated_twin("short", tmp_path, ["--start", "rest"],
                                           sweep=sweep) as twin:
        written = load_calibration(twin.calibration_path)
        result = run_suites_on(run, twin.port, twin.calibration_path)
    elbow = written.motors["elbow_flex"]
    assert elbow.range_max - elbow.range_min < 0.6 * (full.motors["elbow_flex"].range_max -
                                                      full.motors["elbow_flex"].range_min)
    assert result.ret == 1
    result.stdout.re_match_lines([r"elbow_flex: model range vs calibrated range = .* FAIL"])
    result.stdout.re_match_lines([r"elbow_flex: rest reading vs mapped rest pose = .* FAIL"])
    for joint in MOTOR_NAMES:
        if joint != "elbow_flex":                   # per-joint summary: no FAIL elsewhere
            result.stdout.re_match_lines([rf"{joint}\s+\d+\s+\d+\s+0\s"])


def test_a_joint_not_swept_at_all_fails_lerobot_calibrate(calibrate, tmp_path):
    with pytest.raises(calibrate.LeRobotCalibrateError,
                       match=r"(?s)same min and max values.*elbow_flex"):
        with calibrate.lerobot_calibrated_twin("unswept", tmp_path,
                                               sweep=calibrate.Sweep({"elbow_flex": 0})):
            pass


# -- acceptance after a recalibration, through lerobot-calibrate (docs/acceptance.md) -----

def _acceptance_run(run, port: str, calibration: Path, reports: Path, *extra: str):
    """The rest pose and acceptance suites, read-only, on a twin's pty; the run and its
    record (what failed: {(check, joint)}, and every measurement by (check, joint))."""
    result = run(str(SUITES / "test_rest_pose.py"), str(SUITES / "test_acceptance.py"),
                 "--hardware", "--so101-port", port, "--so101-calibration", str(calibration),
                 "--so101-mapping", str(DEGREES_MAPPING), "--so101-report", str(reports),
                 *extra)
    record = json.loads((reports / "so101-record.json").read_text())
    measured = {(m["check"], m["joint"]): m for t in record["tests"] for m in t["measurements"]}
    failing = {key for key, m in measured.items() if m["outcome"] in ("FAIL", "ACKNOWLEDGED")}
    return result, record, measured, failing


def _as_owner(written: Path, folder: Path) -> Path:
    """The owner's file: every recalibration written under the same arm id (the baselines
    are kept per arm id), in a folder of its own."""
    folder.mkdir()
    owned = folder / "owner_arm.json"
    owned.write_bytes(written.read_bytes())
    return owned


def test_acceptance_after_lerobot_calibrate_judges_what_a_policy_sees(calibrate, run,
                                                                       tmp_path):
    """The owner's workflow, each calibration written by LeRobot 0.6.1's own
    lerobot-calibrate: a baseline accepted; a horn re-seated by one tooth and honestly
    recalibrated passes with the tooth named, and is accepted as the next baseline; a middle
    pose held off while homing changes wrist_roll's zero alone; a short gripper sweep and
    another arm's file fail with their causes."""
    reports = tmp_path / "reports"

    def calibrated(name: str, serve: list[str], **kwargs):
        return calibrate.lerobot_calibrated_twin(name, tmp_path / name,
                                                 ["--start", "rest", *serve], **kwargs)

    with calibrated("first", []) as twin:
        first = _as_owner(twin.calibration_path, tmp_path / "owner-first")
        result, *_ = _acceptance_run(run, twin.port, first, reports, "--so101-accept")
        assert result.ret == 0, result.stdout.str()[-3000:]
    assert (reports / "baselines" / "owner_arm" / "0001.json").is_file()

    with calibrated("reseated", ["--twin-fault", "elbow_flex:reseat"]) as twin:
        reseated = _as_owner(twin.calibration_path, tmp_path / "owner-reseated")
        result, record, measured, failing = _acceptance_run(run, twin.port, reseated, reports,
                                                            "--so101-accept")
        assert result.ret == 0 and not failing, result.stdout.str()[-3000:]
    elbow = measured[("rest pose reading since baseline", "elbow_flex")]
    assert "1 spline tooth: a horn re-seated or a motor replaced" in elbow["detail"]
    assert record["provenance"]["baseline"]["source"].endswith("0001.json")
    assert (reports / "baselines" / "owner_arm" / "0002.json").is_file()

    with calibrated("held", ["--twin-fault", "shoulder_lift:homing=4",
                             "--twin-fault", "wrist_roll:homing=4"]) as twin:
        held = _as_owner(twin.calibration_path, tmp_path / "owner-held")
        result, _, measured, failing = _acceptance_run(run, twin.port, held, reports)
    assert result.ret == 1
    assert {joint for check, joint in failing if "baseline" in check} == {"wrist_roll"}
    zero = measured[("zero since baseline, from the files", "wrist_roll")]
    assert "pose it was held in while homing" in zero["cause"]

    with calibrated("short", [], sweep=calibrate.Sweep({"gripper": 0.8})) as twin:
        short = _as_owner(twin.calibration_path, tmp_path / "owner-short")
        result, _, measured, failing = _acceptance_run(run, twin.port, short, reports)
    assert result.ret == 1
    assert ("calibrated sweep since baseline", "gripper") in failing
    assert measured[("calibrated sweep since baseline", "gripper")]["cause"].startswith(
        "a short sweep: gripper was not swept through its whole travel")

    # another arm's calibration, written into its servos as LeRobot writes a file at
    # connect: the registers and the file agree, the arm they describe is not this one
    # (each joint's assembly 400-700 ticks from where that file puts it)
    stale = ["shoulder_lift:stale=-700", "elbow_flex:stale=500", "wrist_flex:stale=-400"]
    with EmulatorProcess("--start", "rest", "--calibration", str(reseated),
                         *[a for f in stale for a in ("--twin-fault", f)]) as twin:
        result, _, measured, failing = _acceptance_run(run, twin.port, reseated, reports)
    assert result.ret == 1
    assert {joint for check, joint in failing if "baseline" in check} >= {
        "shoulder_lift", "elbow_flex", "wrist_flex"}
    # nothing accepted since: the owner's two baselines are as they were
    assert sorted(p.name for p in (reports / "baselines" / "owner_arm").iterdir()) == [
        "0001.json", "0002.json"]


# -- stats saved by LeRobot's processor pipelines ----------------------------------------

#: Known stats of observation.state in LeRobot degrees (gripper 0..100), motor order.
STATS = {"mean": [2.5, -10.25, 15.0, 30.5, -5.75, 40.0],
         "std": [25.3, 30.1, 28.7, 20.2, 45.9, 15.4],
         "min": [-80.0, -95.5, -90.0, -80.25, -150.0, 0.0],
         "max": [85.0, 90.0, 92.5, 88.0, 155.0, 100.0]}


@pytest.fixture(scope="module")
def processor():
    """lerobot.processor, imported once (see ``so_follower``)."""
    return lerobot_module("lerobot.processor", "processor")


@pytest.mark.parametrize("mode", ["MEAN_STD", "MIN_MAX"])
def test_stats_saved_by_a_lerobot_preprocessor_load_and_normalize_like_lerobot(processor, mode,
                                                                               tmp_path, run):
    """A NormalizerProcessorStep with known stats, saved by LeRobot's own pipeline: it loads
    here (and with pytest --so101-stats FOLDER), and NormStats.normalize equals LeRobot's
    output within 1e-6."""
    import torch
    from lerobot.configs.types import FeatureType, NormalizationMode, PolicyFeature

    step = processor.NormalizerProcessorStep(
        features={"observation.state": PolicyFeature(type=FeatureType.STATE, shape=(6,))},
        norm_map={FeatureType.STATE: NormalizationMode(mode)},
        stats={"observation.state": {k: np.array(v) for k, v in STATS.items()}})
    processor.PolicyProcessorPipeline(steps=[step], name="policy_preprocessor") \
        .save_pretrained(tmp_path)
    ours = load_stats(tmp_path)
    assert ours.mode == mode
    loaded = processor.PolicyProcessorPipeline.from_pretrained(
        tmp_path, config_filename="policy_preprocessor.json")
    x = np.random.default_rng(0).uniform(-120, 120, size=(200, 6))
    theirs = loaded.process_observation({"observation.state": torch.tensor(x)})
    np.testing.assert_allclose(ours.normalize(x), theirs["observation.state"].numpy(),
                               rtol=0, atol=1e-6)
    result = run(str(SUITES / "test_normalization.py"), "--so101-stats", str(tmp_path),
                 "--so101-mapping", str(DEGREES_MAPPING), "-rs")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines([f"*{tmp_path}*"])
