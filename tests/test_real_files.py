"""Files SO-100/SO-101 owners published (fixtures/real/, PROVENANCE.md says where each comes
from and what it is), run through so101-diagnose and the suites against the verdict their
description implies: correct followers and leaders pass with the bundled mappings, and the
seam-crossing follower, the pre-0.2 format, simulator radians and the two-arm recording in
raw ticks are each named for what they are."""

from __future__ import annotations

import pytest

from pytest_so101.cli import diagnose
from tests.helpers import MAPPINGS, REAL

CALIBRATIONS = REAL / "calibration"
STATS = REAL / "stats"
FOLLOWERS = sorted(p.name for p in CALIBRATIONS.glob("0[1-5]_*.json"))
LEADERS = sorted(p.name for p in CALIBRATIONS.glob("1[1-3]_*.json"))
SEAM = "06_adityabangde_SO100-Motion-Recorder_follower.json"
OLD_FORMAT = "16_OLDFMT_ajinkyagorad_Lerobot-SO100-Arm_main_follower.json"
RANGE_STATS = STATS / "01_SamueleSandrini_record-test_meta_stats.json"
SIM_RADIANS = STATS / "03_Bhavya007-17_p1-so101-sim-t1_meta_stats_TRIMMED.json"
TWO_ARMS = STATS / "05_WangzyNicole_Bimanual-Cloth_meta_stats_TRIMMED.json"


def diagnosed(capsys, *args: str) -> tuple[int, str]:
    code = diagnose.main([*map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_published_files_are_all_here():
    assert len(FOLLOWERS) == 5 and len(LEADERS) == 3
    assert (REAL / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("name", FOLLOWERS + LEADERS)
@pytest.mark.parametrize("mapping", ["so101_degrees", "so101_range", "so101_legacy_policy"])
def test_a_correct_arm_passes_with_the_bundled_mappings(capsys, name, mapping):
    """Real grippers sweep 125-136 deg (followers) or 103-110 (leaders) where the model's
    range is 110: the bundled mappings take the gripper's map from the calibration."""
    code, out = diagnosed(capsys, "--calibration", CALIBRATIONS / name, "--mapping",
                          MAPPINGS / f"{mapping}.toml")
    assert code == 0, out
    assert "FAIL" not in out


def test_a_full_turn_wrist_roll_is_advised_not_failed(capsys):
    """LeRobot's 0..4095 on wrist_roll reaches past its hard stops: MARGINAL, saying so."""
    code, out = diagnosed(capsys, "--calibration",
                          CALIBRATIONS / "05_Rigmunssel_lerobot_follower.json", "--mapping",
                          MAPPINGS / "so101_degrees.toml")
    assert code == 0
    assert "wrist_roll: 1 marginal" in out and "past the model's limits" in out


def test_the_seam_crossing_follower_is_named(capsys):
    code, out = diagnosed(capsys, "--calibration", CALIBRATIONS / SEAM, "--mapping",
                          MAPPINGS / "so101_degrees.toml")
    assert code == 1
    assert "calibrated ranges                                    FAIL on shoulder_lift, " \
        "elbow_flex, wrist_flex" in out
    assert "0/4095 seam" in out and "sweep crossed" in out
    assert "stopped short" not in out and "scale is wrong" not in out


def test_the_pre_0_2_format_is_named_with_what_to_do(capsys):
    code, out = diagnosed(capsys, "--calibration", CALIBRATIONS / OLD_FORMAT)
    assert code == 1
    assert out.count("\n") == 1 and OLD_FORMAT in out
    assert "before 0.2" in out and "lerobot-calibrate" in out and "Traceback" not in out


def test_range_mode_stats_pass_with_the_range_mapping(capsys):
    code, out = diagnosed(capsys, "--stats", RANGE_STATS, "--mapping",
                          MAPPINGS / "so101_range.toml")
    assert code == 0, out


def test_simulator_radians_are_named(capsys):
    code, out = diagnosed(capsys, "--stats", SIM_RADIANS, "--mapping",
                          MAPPINGS / "so101_degrees.toml")
    assert code == 1
    assert "recorded in sim radians (MuJoCo qpos), not lerobot-degrees" in out


def test_the_two_arm_recording_in_ticks_is_named_arm_by_arm(capsys):
    code, out = diagnosed(capsys, "--stats", TWO_ARMS, "--mapping",
                          MAPPINGS / "so101_degrees.toml")
    assert code == 1 and "expected shape" not in out
    for side in ("left", "right"):
        assert f"stats frame fingerprint ({side} arm)" in out
    assert "recorded in raw servo ticks (Present_Position, 0..4095)" in out
    assert 'declare [policy] frame = "ticks"' in out
    code, out = diagnosed(capsys, "--stats", TWO_ARMS, "--arm-side", "right", "--mapping",
                          MAPPINGS / "so101_degrees.toml")
    assert "(left arm)" not in out and "(right arm)" in out


@pytest.mark.parametrize("name", [FOLLOWERS[0], LEADERS[0], SEAM])
def test_the_suites_judge_a_published_calibration(run, name):
    """The configuration suites on a published file (the twin is an arm of its own: the
    arm-side checks skip, saying so)."""
    from tests.helpers import REPO

    result = run(*(str(REPO / "suites" / f"test_{s}.py")
                   for s in ("configuration", "normalization", "roundtrip")),
                 "--so101-calibration", str(CALIBRATIONS / name),
                 "--so101-mapping", str(MAPPINGS / "so101_degrees.toml"))
    if name == SEAM:
        assert result.ret == 1
        result.stdout.fnmatch_lines(["*test_configuration*calibrated-range-shoulder_lift*"])
        assert "0/4095 seam" in result.stdout.str()
    else:
        assert result.ret == 0, result.stdout.str()[-2000:]
