"""The MuJoCo twin: scripted calibration, assemblies and their faults, the suites on it,
and torque off when a motion test is interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.bus.twin import TOOTH_TICKS, TwinFault, build_twin
from pytest_so101.calibration import load_calibration
from pytest_so101.frames import expand_units, ticks_to_units
from pytest_so101.joints import MOTOR_NAMES
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REPO, STATS

SUITES = REPO / "suites"
SUITE_FILES = ["--so101-mapping", str(MAPPINGS / "so101_legacy_policy.toml"),
               "--so101-stats", str(STATS / "legacy_model")]


def test_scripted_calibration_is_what_lerobot_would_write():
    arm, servos, cal = build_twin()
    assert cal.homing_offset.tolist() == [-1500, 0, 1500, -1500, 0, 1500]
    assert (cal.range_min[4], cal.range_max[4]) == (0, 4095)        # wrist_roll fixed
    assert cal.drive_mode.tolist() == [0] * 6
    # the held pose (sim zero) reads 2047; the sweep ends read range_min / range_max
    arm.place(np.zeros(6))
    assert [s.present_ticks(0.0) for s in servos] == [2047] * 6
    arm.place(arm.sim.limits.lower_rad)
    assert [s.present_ticks(0.0) for s in servos][:4] == cal.range_min[:4].tolist()


@pytest.mark.parametrize("source", ["scripted", "example"])
def test_twin_reads_lerobot_degrees_equal_to_sim_degrees(source):
    """So the identity map LeRobot assumes (deg = rad2deg(q)) holds on the twin."""
    given = load_calibration(EXAMPLE_CALIBRATION) if source == "example" else None
    arm, servos, cal = build_twin(calibration=given)
    rng = np.random.default_rng(1)
    units = expand_units("degrees")
    for q in rng.uniform(arm.sim.limits.lower_rad, arm.sim.limits.upper_rad, size=(20, 6)):
        arm.place(q)
        ticks = np.array([s.present_ticks(0.0) for s in servos])
        reading = ticks_to_units(ticks, cal, units, clamp=False)
        np.testing.assert_allclose(reading[:5], np.rad2deg(q[:5]), atol=0.15)
        np.testing.assert_allclose(reading[5], (np.rad2deg(q[5]) + 10) / 110 * 100, atol=0.2)


def test_twin_faults_change_the_assembly_as_named():
    _, servos, _ = build_twin()
    _, reseated, _ = build_twin(faults=[TwinFault.parse("elbow_flex:reseat")])
    _, mirrored, _ = build_twin(faults=[TwinFault.parse("wrist_flex:mirror")])
    assert reseated[2].shaft.assembly.raw_at_zero - servos[2].shaft.assembly.raw_at_zero == \
        pytest.approx(TOOTH_TICKS)
    assert mirrored[3].shaft.assembly.direction == -1
    with pytest.raises(ValueError, match="JOINT:KIND"):
        TwinFault.parse("elbow:reseat")


def test_torque_on_tracks_goals_and_torque_off_leaves_the_joint_passive():
    with EmulatorProcess() as twin, FeetechBus(twin.port) as bus:
        start = twin.q_sim_rad()
        bus.torque(True)
        goal = bus.read_positions()
        goal[1] += 150
        bus.write_goals(goal, _loose_envelope())
        time.sleep(0.5)
        assert abs(bus.read_positions()[1] - goal[1]) <= 3
        assert twin.q_sim_rad()[1] - start[1] == pytest.approx(150 / 4096 * 2 * np.pi, abs=0.01)
        bus.torque(False)
        state = twin.state()
        assert all(s["torque"] == 0 for s in state.values())


def _loose_envelope():
    from pytest_so101.safety import SafetyEnvelope

    return SafetyEnvelope(np.zeros(6), np.full(6, 4095.0), 400)


def test_calibration_out_writes_once_and_never_overwrites(tmp_path):
    out = tmp_path / "twin.json"
    with EmulatorProcess("--calibration-out", str(out)):
        pass
    written = json.loads(out.read_text())
    assert list(written) == list(MOTOR_NAMES)
    before = out.read_bytes()
    done = subprocess.run([sys.executable, "-m", "pytest_so101.bus.cli", "serve",
                           "--calibration-out", str(out)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0 and "exists; not overwriting it" in done.stderr
    assert out.read_bytes() == before


def test_suites_pass_on_the_twin_with_its_own_calibration(run):
    result = run(str(SUITES), *SUITE_FILES)
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 100
    # skipped: the acceptance suite (no baseline yet: 6), wrist_roll's fixed range (1),
    # robot units vs policy frame (6: the legacy frame is converted through [sim_to_policy])
    # and min/max in limits (12: these stats have none)
    assert outcomes["skipped"] == 25


def test_suites_pass_with_hardware_on_the_pty_of_so101_twin_serve(run, tmp_path):
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        result = run(str(SUITES), *SUITE_FILES, "--hardware", "--so101-port", twin.port,
                     "--so101-calibration", str(calibration), "--allow-motion", "-rs")
        assert result.ret == 0, result.stdout.str()[-3000:]
        result.stdout.fnmatch_lines([f"so101: real arm on {twin.port} (motion allowed)"])
        # skipped: the checks that need the twin's observer (6), acceptance (no baseline: 6),
        # wrist_roll's fixed range (1), robot units vs the converted legacy frame (6),
        # min/max in limits (12: these stats have none)
        assert result.parseoutcomes().get("skipped", 0) == 31
        assert all(s["torque"] == 0 for s in twin.state().values())


def test_reseated_horn_with_the_old_calibration_fails_naming_ticks_and_degrees(run):
    result = run(str(SUITES / "test_hil.py"), *SUITE_FILES, "--so101-twin-fault",
                 "shoulder_lift:reseat")
    assert result.ret == 1
    result.assert_outcomes(failed=1, passed=37)
    result.stdout.re_match_lines([
        r"shoulder_lift: reading vs observed pose = 14\.\d+ deg \(limit \|value\| <= 1 deg\) "
        r"FAIL: reads \d+ ticks, .* off by \+16\d\.\d ticks"])


def test_mirrored_motor_fails_the_jog_check_naming_the_reversed_direction(run):
    result = run(str(SUITES / "test_hil.py"), *SUITE_FILES, "--so101-twin-fault",
                 "elbow_flex:mirror", "-k", "jog")
    assert result.ret == 1
    result.assert_outcomes(failed=1, passed=5)
    result.stdout.re_match_lines([
        r"elbow_flex: jog response error = .* FAIL: commanded [+-]5\.00 deg in the sim frame, "
        r"the joint moved [+-]\d\.\d\d deg: direction reversed"])


MOTION_FOREVER = """
import pathlib
import numpy as np
import pytest

@pytest.mark.so101_motion
def test_moves_until_interrupted(so101_arm):
    with so101_arm.motion():
        start = so101_arm.read_ticks()
        pathlib.Path("moving").write_text("yes")
        for i in range(10_000):
            so101_arm.move_ticks(start + (20 if i % 2 else -20))
"""


def test_sigint_during_a_motion_test_leaves_torque_off_on_all_six(pytester, tmp_path):
    calibration = tmp_path / "twin_arm.json"
    pytester.makepyfile(MOTION_FOREVER)
    ini = pytester.makeini("[pytest]\n")
    with EmulatorProcess("--calibration-out", str(calibration)) as twin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(pytester.path),
             "-p", "no:cacheprovider", "--hardware", "--so101-port", twin.port,
             "--allow-motion", "--so101-calibration", str(calibration)],
            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not (pytester.path / "moving").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.05)
        time.sleep(0.3)
        assert any(s["torque"] == 1 for s in twin.state().values())
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
        assert "KeyboardInterrupt" in out
        assert [s["torque"] for s in twin.state().values()] == [0] * 6
