"""so101-diagnose and so101-twin serve --scenario: the command-line side of the catalog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.checks.causes import explain_jog, explain_zero_shift
from pytest_so101.checks.configuration import check_calibrated_ranges, identify_model
from pytest_so101.cli import diagnose as diagnose_cli
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.frames import TOOTH_TICKS
from pytest_so101.core.joints import KNOWN_MODELS, SO101_NEW_CALIB_LIMITS, SO101_OLD_CALIB_LIMITS
from tests.helpers import EXAMPLE_CALIBRATION, FIXTURES, MAPPINGS

FOLDER = FIXTURES / "scenarios"


def diagnose(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest_so101.cli.diagnose", *args],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_no_files_is_a_usage_error():
    code, _, err = diagnose()
    assert code == 2
    assert "give at least one of --calibration, --stats, --mapping, --mjcf" in err


def test_a_bad_file_exits_1_with_one_line_naming_it(tmp_path):
    bad = tmp_path / "arm.json"
    bad.write_text(json.dumps({"shoulder_pan": {"id": 1}}))
    code, out, err = diagnose("--calibration", str(bad))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


def test_an_unknown_arm_id_names_so101_diagnoses_own_flag(tmp_path):
    code, out, err = diagnose("--calibration", "no_such_arm")
    assert code == 1 and out == ""
    assert err.startswith("so101-diagnose: --calibration: value 'no_such_arm': no calibration")
    assert "--so101-calibration" not in err


def test_a_tolerance_that_is_not_a_positive_number_is_a_usage_error():
    for bad in ("nan", "inf", "0", "-1"):
        code, _, err = diagnose("--mapping", str(MAPPINGS / "so101_degrees.toml"),
                                "--tolerance-deg", bad)
        assert code == 2 and "must be a finite number > 0" in err, (bad, err)


def test_json_output_is_one_document_with_every_check(capsys):
    folder = FOLDER / "gripper_as_degrees"
    code = diagnose_cli.main(["--json", "--calibration", str(folder / "calibration.json"),
                              "--mapping", str(folder / "mapping.toml")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False
    failed = [m for c in doc["checks"] for m in c["measurements"] if m["outcome"] == "FAIL"]
    assert {m["joint"] for m in failed} == {"gripper"}
    assert "gripper's 0..100 range treated as degrees" in failed[0]["cause"]
    assert failed[0]["fix"].startswith("set [sim_to_robot] scale for gripper to 52.")


def test_mjcf_of_the_old_calib_model_is_recognised_against_a_new_calib_mapping(capsys):
    folder = FOLDER / "old_calib_model_new_calib_map"
    code = diagnose_cli.main(["--mjcf", str(folder / "model.xml"),
                              "--mapping", str(folder / "mapping.toml")])
    out = capsys.readouterr().out
    assert code == 1
    assert "likely cause: the MJCF is the so101-old-calib model (its zero -90.0 deg" in out
    assert identify_model(SO101_OLD_CALIB_LIMITS) == ("so101-old-calib", 0.0)
    assert identify_model(KNOWN_MODELS["so100-menagerie"].limits)[0] == "so100-menagerie"


def test_port_compares_the_servo_registers_read_only(capsys):
    other = FOLDER / "another_arms_calibration"
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION)) as twin:
        code = diagnose_cli.main(["--calibration", str(other / "calibration.json"),
                                  "--port", twin.port])
        out = capsys.readouterr().out
        assert all(s["torque"] == 0 for s in twin.state().values())
        assert code == 1
        assert "likely cause: the calibration file belongs to another arm" in out
        code = diagnose_cli.main(["--calibration", str(EXAMPLE_CALIBRATION), "--port",
                                  twin.port])
        assert code == 0, capsys.readouterr().out


def _has_open(pid: int, path: str) -> bool:
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == path for fd in fd_dir.iterdir())
    except OSError:
        return False


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_ctrl_c_while_reading_the_arm_ends_in_one_line_or_one_whole_document(as_json):
    """Interrupted while reading the arm, so101-diagnose printed a traceback and half a
    JSON document: one line (with --json, one whole document saying so), status 130."""
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION),
                         "--fault", "3:late=30") as twin:        # every read of servo 3 late
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_so101.cli.diagnose", *(["--json"] * as_json),
             "--calibration", str(EXAMPLE_CALIBRATION), "--port", twin.port],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not _has_open(proc.pid, twin.port):      # reading the arm now
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    said = "interrupted (Ctrl-C) before every check ran: nothing was judged"
    if as_json:
        assert json.loads(out) == {"ok": False, "error": said}
    else:
        assert err.strip() == f"so101-diagnose: {said}" and out == ""


def test_a_dead_port_is_an_error_not_a_pass(tmp_path, capsys):
    code = diagnose_cli.main(["--calibration", str(EXAMPLE_CALIBRATION),
                              "--port", str(tmp_path / "ttyNONE")])
    out = capsys.readouterr().out
    assert code == 1
    assert "ERROR:" in out and "no such port" in out


def test_twin_serve_scenario_reproduces_the_arm_of_the_scenario(tmp_path):
    written = tmp_path / "seam.json"
    with EmulatorProcess("--scenario", "range_across_seam", "--scenarios-dir", str(FOLDER),
                         "--calibration-out", str(written)):
        pass
    pan = load_calibration(written).motors["shoulder_pan"]
    assert pan.range_max - pan.range_min > 4000            # the sweep crossed the seam
    proc = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve", "--scenario",
                           "nope"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "unknown scenario 'nope'" in proc.stderr


@settings(max_examples=50, deadline=None)
@given(teeth=st.integers(-3, 3).filter(bool), slip=st.floats(-6, 6))
def test_a_zero_moved_by_whole_teeth_is_named_as_a_reseated_horn(teeth, slip):
    cause, _ = explain_zero_shift(1, teeth * TOOTH_TICKS + slip)
    assert f"re-seated {abs(teeth)} spline {'tooth' if abs(teeth) == 1 else 'teeth'} (" \
        in cause


@settings(max_examples=50, deadline=None)
@given(off=st.floats(20, 140))
def test_a_zero_between_teeth_is_named_a_stale_calibration(off):
    frac = off / TOOTH_TICKS
    if abs(frac - round(frac)) * TOOTH_TICKS <= 12:
        return
    assert "stale" in explain_zero_shift(2, off)[0]


def test_jog_explanations_name_mirror_drive_mode_and_units():
    from pytest_so101.core.frames import expand_units

    cal = load_calibration(FOLDER / "drive_mode_on_healthy_motor/calibration.json")
    in_range, in_degrees = expand_units("range_m100_100"), expand_units("degrees")
    cause, fix = explain_jog(3, 5.0, -4.9, cal, units=in_range)
    assert "drive_mode 1" in cause and fix == "set wrist_flex drive_mode to 0 in the " \
        "calibration file"
    # in degrees LeRobot ignores drive_mode: the reversal is a motor or the direction
    assert "mirrored motor" in explain_jog(3, 5.0, -4.9, cal, units=in_degrees)[0]
    cause, fix = explain_jog(2, 5.0, -4.9, cal, declared_direction=-1.0, units=in_range)
    assert "mirrored motor" in cause and "set direction = +1 for elbow_flex" in fix
    assert "radians taken for degrees" in explain_jog(2, 5.0, 5.0 * 57.3, cal)[0]


def test_a_sweep_as_wide_as_the_model_passes_and_a_full_turn_fails():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    assert all(m.passed for m in check_calibrated_ranges(cal, SO101_NEW_CALIB_LIMITS))
    seam = load_calibration(FOLDER / "range_across_seam/calibration.json")
    failed = [m for m in check_calibrated_ranges(seam, SO101_NEW_CALIB_LIMITS) if not m.passed]
    assert [m.joint for m in failed] == ["shoulder_pan"]
    assert np.isclose(failed[0].value, (4071 - 15) * 360 / 4096)


def test_a_units_check_without_the_calibration_says_what_it_needs_never_passes():
    from pytest_so101.checks.base import Inputs, run_check
    from pytest_so101.checks.catalog import BY_NAME
    from pytest_so101.core.mapping import load_mapping

    mapping = load_mapping(FOLDER / "degrees_policy_on_range_robot/mapping.toml")
    check = BY_NAME["robot-units-vs-policy-frame"]
    result = run_check(check, Inputs(mapping=mapping), flavor="cli")
    assert result.skipped and not result.measurements
    assert "needs the arm's calibration: give a calibration (--calibration)" in result.skipped
    pytest_side = run_check(check, Inputs(mapping=mapping))
    assert "(--so101-calibration)" in pytest_side.skipped


def _poses_file(tmp_path, q_deg_rows, robot_rows, *, extra=""):
    lines = ['units = "degrees"', 'sim_input = "degrees"', extra]
    for i, (q, r) in enumerate(zip(q_deg_rows, robot_rows, strict=True)):
        lines += ["[[pose]]", f'name = "pose {i}"', f"sim = {list(map(float, q))}",
                  f"robot = {list(map(float, r))}"]
    path = tmp_path / "poses.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_solve_map_from_paired_poses_prints_the_table_and_judges_the_mapping(tmp_path, capsys):
    """The paired-poses method: solve [sim_to_robot] from poses taken on the arm; the bundled
    degrees map is what they give, a map with the elbow reversed is not."""
    from pytest_so101.core.mapping import load_mapping

    mapping = load_mapping(MAPPINGS / "so101_degrees.toml")
    q_deg = np.array([[0, -100, 88, 68, 3, -10], [20, -40, 30, 0, -30, 40],
                      [-30, 20, -45, -60, 60, 90]])
    robot = mapping.sim_to_robot.apply(np.deg2rad(q_deg)) + 0.05
    poses = _poses_file(tmp_path, q_deg, robot)
    code = diagnose_cli.main(["--solve-map", str(poses), "--mapping",
                              str(MAPPINGS / "so101_degrees.toml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[sim_to_robot]\nunits = \"degrees\"\n" in out
    # the gripper's scale is derived (provisionally, without a calibration: its sweep taken
    # to be the model's range), and the poses were made with it
    expected = ", ".join(f"{v:.6g}" for v in mapping.sim_to_robot.scale)
    assert f"scale = [{expected}]" in out and "57.2958, 52.08" in out
    wrong = tmp_path / "wrong.toml"
    wrong.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        "direction = [1, 1, 1, 1, 1, 1]", "direction = [1, 1, -1, 1, 1, 1]"))
    code = diagnose_cli.main(["--solve-map", str(poses), "--mapping", str(wrong)])
    out = capsys.readouterr().out
    assert code == 1
    assert "elbow_flex: 1 problem" in out
    assert "declared [sim_to_robot] vs paired poses" in out
    assert "fix: set [sim_to_robot] for elbow_flex to offset" in out


def test_solve_map_needs_poses_that_move_each_joint(tmp_path):
    poses = _poses_file(tmp_path, [[0, 0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 9]])
    code, out, err = diagnose("--solve-map", str(poses))
    assert code == 1 and out == ""
    assert "shoulder_pan" in err and "do not move this joint" in err and str(poses) in err
    known = _poses_file(tmp_path, [[0, 0, 0, 0, 0, 0]], [[1, 2, 3, 4, 5, 9]],
                        extra="scale = [57.2958, 57.2958, 57.2958, 57.2958, 57.2958, 52.0871]\n"
                        "direction = [1, 1, 1, 1, 1, 1]")
    code, out, _ = diagnose("--solve-map", str(known))
    assert code == 0 and "offset = [1, 2, 3, 4, 5, 9]" in out
