"""examples/own_tests (docs/own_tests.md): a user's project, copied outside the checkout
and run against the installed plugin; every code example of the guide is in it, and a
bug planted in its converter is caught."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "own_tests"
GUIDE = REPO / "docs" / "own_tests.md"


def run_copy(tmp_path, converter_edit: tuple[str, str] | None = None, *args: str):
    project = tmp_path / "my_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("reports", "__pycache__",
                                                                    ".hypothesis"))
    if converter_edit:
        path = project / "my_converter.py"
        text = path.read_text()
        assert converter_edit[0] in text
        path.write_text(text.replace(*converter_edit))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "-q", *args], cwd=project, capture_output=True,
                          text=True, timeout=300)


def test_the_example_project_passes_from_a_copy_outside_the_checkout(tmp_path):
    done = run_copy(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b7 passed\b", done.stdout), done.stdout[-2000:]
    assert "so101: PASS" in done.stdout


@pytest.mark.parametrize("bug", [
    ("robot = np.rad2deg(q)", "robot = -np.rad2deg(q)"),                  # every sign flipped
    ("np.deg2rad(-10.0)", "np.deg2rad(0.0)"),                             # gripper's zero off
    ("robot = np.rad2deg(q)", "robot = q * 57.0"),                        # a rounded scale
])
@pytest.mark.slow
def test_a_bug_planted_in_the_converter_is_caught(tmp_path, bug):
    done = run_copy(tmp_path, bug, "tests/test_converter.py")
    assert done.returncode == 1, done.stdout[-3000:]
    assert "FAILED tests/test_converter.py" in done.stdout


def test_every_code_example_of_the_guide_is_in_the_example_project():
    """The guide's Python blocks are copied from the project's files (which the tests above
    run): each block's lines appear, in order, in one of them."""
    sources = {p: p.read_text() for p in EXAMPLE.rglob("*.py")}
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) >= 5
    for block in blocks:
        assert any(block.strip() in text for text in sources.values()), block


def test_reused_checks_speak_of_what_they_were_given():
    """check_map_matches_reference names the maps it was given, not [sim_to_policy];
    check_normalized_near_zero names the pose and, strict, fails."""
    import numpy as np

    from pytest_so101.api import (
        JointMap,
        PolicyFrame,
        check_map_matches_reference,
        check_normalized_near_zero,
        lerobot_mapping,
        load_calibration,
        load_stats,
    )
    from pytest_so101.core.joints import SO101_NEW_CALIB_LIMITS
    from tests.helpers import EXAMPLE_CALIBRATION, STATS

    cal = load_calibration(EXAMPLE_CALIBRATION)
    reference = lerobot_mapping(True).for_calibration(cal).sim_to_robot
    mine = JointMap(reference.offset, reference.scale,
                    reference.direction * np.array([1, 1, -1, 1, 1, 1]), name="mybridge")
    found = check_map_matches_reference(mine, reference, SO101_NEW_CALIB_LIMITS,
                                        tolerance_deg=0.5, frame=None,
                                        check="mybridge vs sim_to_robot")
    (elbow,) = [m for m in found if not m.passed]
    assert elbow.joint == "elbow_flex" and elbow.check == "mybridge vs sim_to_robot"
    assert elbow.cause == "mybridge of elbow_flex is not sim_to_robot"
    assert elbow.fix.startswith("set mybridge for elbow_flex to the reference: ")
    assert "[sim_to_policy]" not in elbow.summary()

    stats = load_stats(STATS / "plain_mean_std.json")
    far = np.deg2rad([60.0, 60.0, -60.0, -60.0, 90.0, 80.0])
    degrees = PolicyFrame.LEROBOT_DEGREES
    loose = check_normalized_near_zero(stats, reference, far, tolerance=0.5,
                                       frame=degrees, chain_name="mine", pose_name="rest pose")
    assert {m.check for m in loose} == {"normalized rest pose"}
    assert all(m.passed for m in loose) and any(m.outcome == "MARGINAL" for m in loose)
    strict = check_normalized_near_zero(stats, reference, far, tolerance=0.5, frame=degrees,
                                        chain_name="mine", pose_name="rest pose", strict=True)
    assert any(not m.passed and "rest pose" in m.cause for m in strict)
