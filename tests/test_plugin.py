"""The plugin, tested with pytester: options and ini twins, one-line errors, fixtures,
markers, the report header, and the suites on every bundled example and incident."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import EXAMPLE_CALIBRATION, FIXTURES, INCIDENTS, MAPPINGS, REPO, STATS

SUITES = REPO / "suites"
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def files(mapping: str, stats: str, *extra: str) -> list[str]:
    return ["--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-mapping", mapping,
            "--so101-stats", str(STATS / stats), *extra]


EXAMPLES = {
    "degrees+dataset": files(str(MAPPINGS / "so101_degrees.toml"), "dataset"),
    "degrees+processor": files(str(MAPPINGS / "so101_degrees.toml"), "policy_processor"),
    "degrees+plain": files(str(MAPPINGS / "so101_degrees.toml"), "plain_mean_std.json"),
    "degrees+action": files(str(MAPPINGS / "so101_degrees.toml"), "policy_processor",
                            "--so101-stats-feature", "action"),
    "range": files(str(MAPPINGS / "so101_range.toml"), "range_mean_std.json"),
    "legacy": files(str(MAPPINGS / "so101_legacy_policy.toml"), "legacy_model"),
    "so100-menagerie": files(str(MAPPINGS / "so100_menagerie.toml"), "legacy_model"),
}


#: Two examples whose stats and mapping the others share: left to .ci/run (pytest -m slow).
SLOW_EXAMPLES = ("degrees+action", "degrees+plain")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_EXAMPLES
                                  else n for n in EXAMPLES])
def test_every_bundled_example_passes_the_suites(run, name):
    """Every suite on every example; motion once (tests/test_twin.py), not per example."""
    result = run(str(SUITES), *EXAMPLES[name], "-m", "not so101_motion")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0
    assert outcomes["passed"] >= 60


def test_smolvla_stats_declared_as_degrees_fail_naming_mean_limit_and_frame(run):
    result = run(str(SUITES / "test_normalization.py"),
                 *files(str(INCIDENTS / "smolvla_stats_declared_degrees.toml"), "legacy_model"))
    assert result.ret == 1
    # skipped: the declared chain (no [sim_to_policy]: 18), min/max (none in these stats: 6);
    # the reference pose near 0 is advisory: MARGINAL on the two joints, never a failure
    result.assert_outcomes(failed=2, passed=17, skipped=24)
    out = result.stdout.str()
    for joint, mean, limit in (("shoulder_lift", "119.94", "[-100, 100] deg"),
                               ("elbow_flex", "109.77", "[-96.83, 96.83] deg")):
        line = next(line for line in out.splitlines()
                    if line.startswith(f"{joint}: stats mean in joint limits"))
        for part in (mean, limit, "lerobot-degrees", "FAIL"):
            assert part in line, line
    result.stdout.fnmatch_lines(["shoulder_lift      2     1     1  *",
                                 "FAILED *test_normalization?stats-mean-in-limits-reference-"
                                 "shoulder_lift?*",
                                 "FAILED *test_normalization?stats-mean-in-limits-reference-"
                                 "elbow_flex?*"])


def test_smolvla_offset_only_fix_map_fails_with_shoulder_lift_reversed(run):
    result = run(str(SUITES / "test_roundtrip.py"),
                 *files(str(INCIDENTS / "smolvla_offset_only_fix.toml"), "legacy_model"))
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "shoulder_lift: sim_to_policy vs reference = * FAIL: direction reversed*"
        "shoulder_lift = -(x - 90)*",
        "FAILED *test_roundtrip?sim-to-policy-vs-reference-shoulder_lift?*",
    ])
    # The normalization suite alone cannot see it: the rest pose normalizes to ~0.
    result = run(str(SUITES / "test_normalization.py"),
                 *files(str(INCIDENTS / "smolvla_offset_only_fix.toml"), "legacy_model"))
    assert result.ret == 0


def test_a_sweep_recorded_short_of_the_arm_is_caught_against_the_arm(run):
    """The SmolVLA stats incident's calibration (sweeps cut short) checked against the arm
    it was taken on:
    the registers name the other sweep, and LeRobot's DEGREES zero (the range middle)
    reads a few degrees off the observed pose. (A twin built from the file itself, as it
    once was, agreed with it.)"""
    result = run(str(SUITES / "test_hil.py"), "--so101-calibration",
                 str(INCIDENTS / "smolvla_short_sweep_calibration.json"), "--so101-twin-arm",
                 str(EXAMPLE_CALIBRATION), "--so101-mapping", str(MAPPINGS / "so101_degrees.toml"),
                 "-k", "observed or registers")
    assert result.ret == 1
    result.stdout.re_match_lines([
        r"shoulder_lift: servo range_min - file = -61 ticks .* FAIL: .*Likely cause: the file's "
        r"ranges differ from the servos' position limits while the homing offsets agree",
        r"elbow_flex: reading vs observed pose = -5\.7\d* deg .* FAIL: .*off by -65\.0 ticks"])
    result.stdout.fnmatch_lines(["so101: emulated arm: the MuJoCo twin, the arm "
                                 "*example_arm.json describes*"])


def _one_line_usage_error(result, *parts):
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    lines = [line for line in err.splitlines() if "pytest-so101" in line]
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in err + result.stdout.str()


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (["--so101-tolerance-deg", "abc"], ["--so101-tolerance-deg", "'abc'", "number"]),
        (["--so101-tolerance-z", "-1"], ["--so101-tolerance-z", "'-1'", "> 0"]),
        (["--so101-stats-feature", "observation.images"], ["--so101-stats-feature",
                                                           "observation.images"]),
        (["--hardware"], ["--hardware", "--so101-port"]),
        (["--so101-calibration", "no_such_arm"], ["no_such_arm", "no calibration for this arm"]),
        (["--so101-stats", str(STATS / "multi_dataset_model")], ["several datasets",
                                                                 "--so101-stats-dataset"]),
        (["--so101-stats-dataset", "so100"], ["--so101-stats-dataset", "no stats were given"]),
        (["--so101-mjcf", "/nonexistent/model.xml"], ["/nonexistent/model.xml", "not found"]),
        (["--so101-report", str(EXAMPLE_CALIBRATION)], ["--so101-report", "is a file"]),
        (["--so101-twin-arm", str(EXAMPLE_CALIBRATION), "--so101-twin-fault",
          "shoulder_pan:homing=100"], ["--so101-twin-fault", "cannot go with --so101-twin-arm"]),
        (["--hardware", "--so101-port", "/dev/null", "-n", "2"],
         ["--hardware", "'-n 2'", "one arm, one process"]),
    ],
)
def test_bad_option_values_stop_the_run_with_one_line(run, args, parts):
    _one_line_usage_error(run(*args, HF_LEROBOT_CALIBRATION="/nonexistent"), *parts)


def test_a_symlink_loop_given_as_an_option_is_one_line_not_an_internal_error(run, tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    _one_line_usage_error(run("--so101-calibration", str(loop)), str(loop), "symbolic link loop")


def test_a_misspelled_twin_fault_and_an_absent_port_stop_before_collection(run, tmp_path):
    _one_line_usage_error(run("--so101-twin-fault", "shoulder_lift:reseet"),
                          "--so101-twin-fault", "'shoulder_lift:reseet'", "KIND one of reseat")
    _one_line_usage_error(run("--hardware", "--so101-port", str(tmp_path / "ttyACM0")),
                          "--so101-port", "ttyACM0", "no such serial port")


def test_bad_ini_value_names_the_ini_key(pytester):
    pytester.makeini("[pytest]\nso101_tolerance_z = lots\n")
    _one_line_usage_error(pytester.runpytest_subprocess(), "ini so101_tolerance_z", "'lots'")


def _bad_file(tmp_path, kind):
    if kind == "calibration":
        data = json.loads(EXAMPLE_CALIBRATION.read_text())
        data["wrist_roll"]["homing_offset"] = 3000
        path = tmp_path / "bad_cal.json"
        path.write_text(json.dumps(data))
        return ["--so101-calibration", str(path)], [str(path), "wrist_roll",
                                                    "homing_offset = 3000"]
    if kind == "stats":
        path = tmp_path / "bad_stats.json"
        path.write_text('{"mean": [1, 2, 3, 4, NaN, 6], "std": [1, 1, 1, 1, 1, 1]}')
        return ["--so101-stats", str(path)], [str(path), "wrist_roll", "nan"]
    path = tmp_path / "bad_map.toml"
    path.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        "direction = [1, 1, 1, 1, 1, 1]", "direction = [1, 1, 1, 1, 1, 2]"))
    return ["--so101-mapping", str(path)], [str(path), "gripper", "direction = 2.0"]


def test_files_that_cannot_be_chained_stop_the_run_with_one_line(run, tmp_path):
    """Stats recorded in ticks, robot read in degrees: the calibration is needed."""
    mapping = tmp_path / "ticks_policy.toml"
    mapping.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        'frame = "lerobot-degrees"', 'frame = "ticks"'))
    _one_line_usage_error(run("--so101-mapping", str(mapping)), str(mapping), "degrees",
                          "'ticks'", "needs the arm's calibration")
    assert run("--so101-mapping", str(mapping), "--so101-calibration",
               str(EXAMPLE_CALIBRATION)).ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize("kind", ["calibration", "stats", "mapping"])
def test_bad_files_stop_the_run_with_one_line(run, tmp_path, kind):
    args, parts = _bad_file(tmp_path, kind)
    _one_line_usage_error(run(*args), *parts)


def test_header_names_arm_files_tolerances_and_origins(run, pytester):
    pytester.makepyfile("def test_nothing(): pass")
    result = run(*EXAMPLES["legacy"], "--so101-tolerance-deg", "0.5")
    out = result.stdout.str()
    for line in (
        f"so101: calibration {EXAMPLE_CALIBRATION} (arm id example_arm; from "
        "--so101-calibration)",
        f"so101: stats {STATS}/legacy_model/model.safetensors "
        "[normalize_inputs.buffer_observation_state] (observation.state, MEAN_STD, eps 1e-08; "
        "from --so101-stats)",
        f"so101: mapping {MAPPINGS}/so101_legacy_policy.toml (model so101-new-calib, robot "
        "units degrees/range_0_100, policy frame lerobot-legacy-degrees, [sim_to_policy] "
        "declared; from --so101-mapping)",
        "so101: tolerances deg=0.5 (--so101-tolerance-deg), z=2 std (default)",
    ):
        assert line in out, out


def test_precedence_cli_then_env_then_ini(pytester, tmp_path):
    other = tmp_path / "other.json"
    other.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    pytester.makeini(f"[pytest]\nso101_calibration = {EXAMPLE_CALIBRATION}\n"
                     "so101_tolerance_z = 3\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*from ini so101_calibration)*",
                                 "*z=3 std (ini so101_tolerance_z)*"])
    pytester._monkeypatch.setenv("SO101_CALIBRATION", str(other))
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines([f"so101: calibration {other} (*from env SO101_CALIBRATION)"])
    result = pytester.runpytest_subprocess("--so101-calibration", str(EXAMPLE_CALIBRATION))
    result.stdout.fnmatch_lines(["*from --so101-calibration)*"])


def test_an_ini_stats_and_mapping_pair_is_not_split_by_the_command_line(pytester):
    """The project's ini pairs legacy stats with the legacy mapping; a degrees mapping given
    on the command line was checked against the ini's legacy stats and failed 4 checks on a
    correct setup. One of the pair given: the ini's other half is left out, and said."""
    pytester.makeini(f"[pytest]\nso101_stats = {STATS / 'legacy_model'}\n"
                     f"so101_mapping = {MAPPINGS / 'so101_legacy_policy.toml'}\n")
    pytester.makepyfile("""
def test_pair(so101_mapping, so101_stats):
    pass
""")
    result = pytester.runpytest_subprocess("--so101-mapping",
                                           str(MAPPINGS / "so101_degrees.toml"), "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "so101: stats: none (left out: ini so101_stats (*legacy_model) pairs with the ini's "
        "so101_mapping, and --so101-mapping was given; give --so101-stats to use one)",
        "*so101_stats*"])
    result = pytester.runpytest_subprocess()          # the ini's pair, whole
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess(           # both given: the ini plays no part
        "--so101-mapping", str(MAPPINGS / "so101_degrees.toml"),
        "--so101-stats", str(STATS / "legacy_model"))
    result.stdout.fnmatch_lines(["*from --so101-stats)*"])


def test_ini_paths_are_relative_to_the_ini_file(pytester):
    sub = pytester.mkdir("sub")
    (pytester.path / "cal.json").write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    pytester.makeini("[pytest]\nso101_calibration = cal.json\n")
    sub.joinpath("test_a.py").write_text(
        "def test_cal(so101_calibration):\n    assert so101_calibration.ids[0] == 1\n")
    result = pytester.runpytest_subprocess(str(sub), "--rootdir", str(pytester.path))
    result.assert_outcomes(passed=1)


def test_arm_id_lookup_under_hf_lerobot_calibration(run, pytester):
    pytester.makepyfile("def test_cal(so101_calibration):\n"
                        "    assert so101_calibration.homing_offset[1] == -766\n")
    result = run("--so101-calibration", "example_arm",
                 HF_LEROBOT_CALIBRATION=str(FIXTURES / "calibration"))
    result.assert_outcomes(passed=1)


def test_fixtures_skip_naming_the_option_when_not_configured(run, pytester):
    pytester.makepyfile("""
        def test_cal(so101_calibration): pass
        def test_stats(so101_stats): pass
        def test_map(so101_mapping): pass
        def test_tol(so101_tolerances):
            assert so101_tolerances.deg == 1.0 and so101_tolerances.z == 2.0
        def test_limits(so101_joint_limits):
            assert so101_joint_limits.upper_deg[1] == __import__("pytest").approx(100, abs=0.01)
    """)
    result = run("-rs")
    result.assert_outcomes(passed=3, skipped=2)      # the twin calibrated itself
    result.stdout.fnmatch_lines(["*no normalization stats: pass --so101-stats PATH*",
                                 "*no mapping: pass --so101-mapping PATH*"])
    result = run("-rs", "--hardware", "--so101-port", "/dev/null")
    result.assert_outcomes(passed=2, skipped=3)
    result.stdout.fnmatch_lines(["*no calibration: pass --so101-calibration PATH_OR_ARM_ID*"])


def test_markers_keep_a_real_arm_safe(run, pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.so101_hardware
        def test_reads_the_arm(): pass
        @pytest.mark.so101_motion
        def test_moves_the_arm(): pass
    """)
    result = run("-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs a real arm: run with --hardware --so101-port PATH*"])
    result = run("-rs", "--hardware", "--so101-port", "/dev/null")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["so101: real arm on /dev/null (read-only)",
                                 "*test_markers_keep_a_real_arm_safe.py:?: moves the arm: "
                                 "pass --allow-motion*"])
    result = run("--hardware", "--so101-port", "/dev/null", "--allow-motion")
    result.assert_outcomes(passed=2)


def test_so101_check_fails_naming_only_the_failing_joints(run, pytester):
    pytester.makepyfile("""
        from pytest_so101.core.measurement import Measurement
        def test_ok(so101_check):
            so101_check([Measurement("noise", "gripper", 0.5, "ticks", 0, 2)])
        def test_bad(so101_check):
            so101_check([Measurement("noise", "elbow_flex", 3.0, "ticks", 0, 2),
                         Measurement("noise", "gripper", 1.0, "ticks", 0, 2)])
    """)
    result = run("--junitxml=out.xml", "-o", "junit_family=xunit2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["elbow_flex: noise = 3 ticks (limit [0, 2] ticks) FAIL"])
    assert "gripper: noise = 1 ticks" not in result.stdout.str()
    xml = (pytester.path / "out.xml").read_text()
    assert "elbow_flex: noise = 3 ticks" in xml and "<properties>" not in xml   # xunit2-safe


def test_users_can_write_property_tests_with_the_fixtures_and_strategies(run, pytester):
    pytester.makepyfile("""
        from hypothesis import given, settings
        from pytest_so101 import strategies as so101_st
        from pytest_so101.core.frames import degrees_to_ticks, ticks_to_degrees

        def test_my_own_property(so101_calibration, so101_joint_limits):
            @settings(max_examples=20, deadline=None)
            @given(q=so101_st.joint_vectors(frame="ticks", calibration=so101_calibration))
            def check(q):
                deg = ticks_to_degrees(q, so101_calibration)
                assert (degrees_to_ticks(deg, so101_calibration, rounding="nearest") == q).all()
            check()
    """)
    run(*EXAMPLES["degrees+dataset"]).assert_outcomes(passed=1)


def test_a_run_without_so101_options_loads_nothing(run, pytester):
    pytester.makepyfile("""
        import sys
        def test_light():
            loaded = [m for m in sys.modules if m.startswith("pytest_so101.")]
            assert sorted(loaded) == ["pytest_so101.core", "pytest_so101.core.errors",
                                      "pytest_so101.core.features",
                                      "pytest_so101.core.measurement", "pytest_so101.plugin",
                                      "pytest_so101.plugin.fixtures",
                                      "pytest_so101.plugin.interrupts",
                                      "pytest_so101.plugin.options", "pytest_so101.plugin.stash"]
    """)
    run().assert_outcomes(passed=1)


def test_import_pytest_so101_imports_no_hardware_or_sim_stack():
    code = ("import sys, pytest_so101, pytest_so101.plugin; "
            "bad = [m for m in ('mujoco', 'serial', 'scservo_sdk', 'numpy') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


BUS_TEST = """
import numpy as np

def test_bus(so101_bus, so101_calibration):
    assert [s.model for s in so101_bus.identify()] == [777] * 6
    assert so101_bus.read_calibration().to_json_dict() == so101_calibration.to_json_dict()
    ticks = so101_bus.read_positions()
    assert ticks.shape == (6,) and ((0 <= ticks) & (ticks < 4096)).all()
"""


@pytest.mark.slow
def test_the_twin_is_an_arm_of_its_own_never_a_copy_of_the_file_under_test(run, pytester):
    """With --so101-calibration alone the twin calibrates itself: its registers are its own,
    and every check that compares an arm with the file skips saying no arm is present.
    With --so101-twin-arm the twin is that arm."""
    pytester.makepyfile("""
        def test_bus(so101_bus, so101_calibration, so101_twin):
            assert [s.model for s in so101_bus.identify()] == [777] * 6
            on_servo = so101_bus.read_calibration().to_json_dict()
            assert on_servo == so101_twin.calibration.to_json_dict()
            assert on_servo != so101_calibration.to_json_dict()

        def test_arm(so101_arm):
            pass
    """)
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no arm present: the twin is an arm of its own, not the arm "
                                 "*example_arm.json describes*--so101-twin-arm FILE*"])
    other = FIXTURES / "scenarios/another_arms_calibration/calibration.json"
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(other), "-k", "test_arm")
    result.assert_outcomes(passed=1)
    # built from the file under test: the user's own test gets that arm, labelled (the
    # suites' arm-side checks skip: test_a_copy_of_the_file_under_test_is_not_...)
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(EXAMPLE_CALIBRATION), "-k", "test_arm", "-rs")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*built from the calibration under test*"])


def test_hardware_path_runs_against_so101_twin_serve(run, pytester):
    """--hardware --so101-port <pty of so101-twin serve>: the real-arm code path in CI."""
    from pytest_so101.bus.process import EmulatorProcess
    pytester.makepyfile(BUS_TEST)
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION)) as emulator:  # that arm
        result = run("--hardware", "--so101-port", emulator.port, "--so101-calibration",
                     str(EXAMPLE_CALIBRATION))
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"so101: real arm on {emulator.port} (read-only)"])


@pytest.mark.parametrize("ini", [False, True], ids=["a test file, no ini", "--pyargs, an ini"])
def test_a_port_written_as_the_next_argument_keeps_the_rootdir_and_cache(pytester, ini):
    """``--so101-port /dev/ttyACM0`` as two arguments (the README's form): pytest took the
    port for a test path, put its rootdir at / (with --pyargs at /dev/pts, the project's ini
    file unfound) and its cache there. The rootdir, the ini file and .pytest_cache stay in
    the project."""
    from pytest_so101.bus.process import EmulatorProcess

    pytester.makepyfile(test_arm_mod="def test_nothing_on_the_arm():\n    pass\n")
    target = ["test_arm_mod.py"]
    if ini:
        pytester.makeini("[pytest]\nso101_tolerance_deg = 2\n")
        target = ["--pyargs", "test_arm_mod"]
    with EmulatorProcess("--shaft", "simple") as twin:
        result = pytester.runpytest_subprocess(*target, "--hardware", "--so101-port",
                                               twin.port, "-p", "no:html")
    assert result.ret == 0, result.stdout.str()
    if ini:
        result.stdout.fnmatch_lines(["so101: tolerances deg=2 (ini so101_tolerance_deg)*",
                                     f"rootdir: {pytester.path}", "configfile: tox.ini"])
    else:
        result.stdout.fnmatch_lines([f"rootdir: {pytester.path}"])
    cached = pytester.path / ".pytest_cache/v/cache/nodeids"
    assert "test_arm_mod.py::test_nothing_on_the_arm" in cached.read_text()


def test_so101_emulator_injects_faults_per_test(run, pytester):
    pytester.makepyfile("""
        import pytest
        from pytest_so101.bus.feetech import BusError, FeetechBus

        def test_fault(so101_emulator):
            emulator = so101_emulator("--fault", "3:missing")
            with FeetechBus(emulator.port) as bus, pytest.raises(BusError, match="id 3"):
                bus.read_positions()
    """)
    run().assert_outcomes(passed=1)


def test_a_copy_of_the_file_under_test_is_not_an_independent_twin_arm(run, pytester, tmp_path):
    """The twin built from a copy of the calibration under test would agree with it by
    construction: the arm-side checks of the suites skip, unless a physical fault makes the
    arm differ (a user's own test gets that arm: the test below)."""
    copy = tmp_path / "copy.json"
    copy.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    pytester.mkdir("suites").joinpath("test_arm.py").write_text(
        "def test_arm(so101_arm):\n    pass\n")
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(copy), "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*holds the same values*agree with it by construction*"])
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(copy), "--so101-twin-fault", "elbow_flex:reseat")
    result.assert_outcomes(passed=1)


def test_a_declared_rest_pose_is_checked_against_the_twins_own(run, tmp_path):
    """The twin folds into its own rest pose; a wrong [sim] rest_pose fails (it was once
    placed at the declared pose and compared with itself)."""
    mapping = tmp_path / "wrong_rest.toml"
    mapping.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        "[sim]\n", "[sim]\nrest_pose = [0.5, 0.3, -0.4, 0.2, 1.0, 0.5]\n", 1))
    result = run(str(SUITES / "test_rest_pose.py"), "--so101-mapping", str(mapping),
                 "-k", "maps_to_the_reading")
    assert result.ret == 1
    result.stdout.re_match_lines([r"elbow_flex: rest reading vs mapped rest pose = .* FAIL"])
    unreachable = tmp_path / "unreachable_rest.toml"
    unreachable.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        "[sim]\n", "[sim]\nrest_pose = [3, 3, 3, 3, 3, 3]\n", 1))
    _one_line_usage_error(run("--so101-mapping", str(unreachable)), str(unreachable),
                          "shoulder_pan", "sim.rest_pose = 3.0", "cannot rest there")


def test_a_direction_declared_reversed_is_fixed_by_flipping_it_back(run, tmp_path):
    """The fix flips whichever direction the mapping declares: +1 here, not -1 again."""
    mapping = tmp_path / "elbow_reversed.toml"
    mapping.write_text((MAPPINGS / "so101_degrees.toml").read_text().replace(
        "direction = [1, 1, 1, 1, 1, 1]", "direction = [1, 1, -1, 1, 1, 1]", 1))
    result = run(str(SUITES / "test_rest_pose.py"), str(SUITES / "test_gravity.py"),
                 "--so101-mapping", str(mapping), "--so101-stats",
                 str(STATS / "plain_mean_std.json"))
    assert result.ret == 1
    out = result.stdout.str()
    assert "Fix: check elbow_flex with --so101-guided; set direction = +1 for elbow_flex" in out
    assert "set direction = -1 for elbow_flex" not in out


def test_a_failing_property_prints_the_fixtures_it_was_given_in_one_short_line(run, pytester):
    """Hypothesis prints a failing example's arguments, session fixtures included: the
    library's records print as their source, not as every array they hold."""
    pytester.makepyfile("""
from hypothesis import given, strategies as st

@given(x=st.integers(0, 3))
def test_p(so101_calibration, so101_mapping, so101_stats, so101_rest_pose, x):
    assert x < 2
""")
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-mapping",
                 str(MAPPINGS / "so101_legacy_policy.toml"), "--so101-stats",
                 str(STATS / "legacy_model"))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    for shown in (f"so101_calibration=Calibration('{EXAMPLE_CALIBRATION}')",
                  "so101_mapping=MappingFile(", "so101_stats=NormStats(",
                  "so101_rest_pose=RestPose(["):
        lines = [line for line in out.splitlines() if shown in line]
        assert lines and all(len(line) < 200 for line in lines), lines
    assert "array(" not in out


def test_a_test_holding_the_emulated_arm_and_the_users_file_is_told_they_are_two_arms(
        run, pytester):
    """so101_bus without --hardware is the emulated arm of its own; with the user's
    calibration beside it a comparison passed by coincidence: the test is warned, naming
    both and the ways out; with --so101-twin-arm (an arm built from the file) it is not."""
    pytester.makepyfile("""
def test_compare(so101_bus, so101_calibration):
    assert so101_bus.read_positions().shape == (6,)
""")
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "-W", "default")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([f"*so101_bus is the emulated arm of its own*so101_calibration "
                                 f"is {EXAMPLE_CALIBRATION}: they describe two different arms*"])
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(EXAMPLE_CALIBRATION))
    result.assert_outcomes(passed=1)
    assert "two different arms" not in result.stdout.str()


def test_an_emulated_arm_built_from_the_users_file_serves_their_own_tests(run, pytester):
    """--so101-twin-arm with the calibration under test: the suites skip (they would agree
    by construction), the user's own test gets so101_arm, and the header labels the arm."""
    pytester.makepyfile("""
def test_my_code_on_the_arm(so101_arm):
    assert so101_arm.read_ticks().shape == (6,)
""")
    result = run("--so101-calibration", str(EXAMPLE_CALIBRATION), "--so101-twin-arm",
                 str(EXAMPLE_CALIBRATION))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["so101: emulated arm: the MuJoCo twin, the arm * describes "
                                 "(built from the calibration under test: its readings prove "
                                 "your code, not the file)"])
