"""Calibration files: load, validate (one clear line per problem), find by arm id, compare."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_so101.core.calibration import (
    ROBOT_FOLDERS,
    calibration_root,
    compare_calibrations,
    find_calibration,
    load_calibration,
    resolve_calibration,
)
from pytest_so101.core.errors import So101ConfigError
from tests.helpers import EXAMPLE_CALIBRATION, raises_config_error


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE_CALIBRATION.read_text())


def _write(tmp_path, data, name="arm.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_example_loads_in_motor_order():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    assert cal.ids.tolist() == [1, 2, 3, 4, 5, 6]
    assert cal.homing_offset[1] == -766
    assert cal.range_mid[1] == (909 + 3185) / 2
    assert cal.to_json_dict() == json.loads(EXAMPLE_CALIBRATION.read_text())


@pytest.mark.parametrize(
    ("joint", "change", "parts"),
    [
        ("shoulder_lift", {"range_min": 3185}, ["range_min must be < range_max", "(3185, 3185)"]),
        ("elbow_flex", {"range_max": 4096}, ["range_max = 4096", "0..4095"]),
        ("wrist_flex", {"range_min": -1}, ["range_min = -1"]),
        ("wrist_roll", {"homing_offset": 2048}, ["homing_offset = 2048", "2047"]),
        ("gripper", {"homing_offset": -3000}, ["homing_offset = -3000"]),
        ("shoulder_pan", {"drive_mode": 2}, ["drive_mode = 2", "0 or 1"]),
        ("shoulder_pan", {"id": 7}, ["id = 7", "servo id 1"]),
        ("gripper", {"id": 5}, ["id = 5", "servo id 6"]),
        ("elbow_flex", {"homing_offset": 10.5}, ["homing_offset = 10.5", "integer"]),
        ("elbow_flex", {"range_min": "1005"}, ["range_min = '1005'", "integer"]),
        ("elbow_flex", {"drive_mode": True}, ["drive_mode = True", "integer"]),
        ("elbow_flex", {"velocity": 3}, ["velocity", "unknown field"]),
        ("elbow_flex", {"range_min": 2**64}, ["range_min = 18446744073709551616",
                                              "out of range (must fit in 64 bits)"]),
        ("gripper", {"id": -(2**63) - 1}, ["id = -9223372036854775809", "out of range"]),
        ("wrist_roll", {"range_max": None}, ["range_max = None", "integer, not null"]),
        ("wrist_roll", {"range_max": [4095]}, ["range_max = [4095]", "not a list"]),
    ],
)
def test_invalid_values_name_file_joint_and_value(tmp_path, example, joint, change, parts):
    example[joint].update(change)
    path = _write(tmp_path, example)
    with raises_config_error(path, joint, *parts):
        load_calibration(path)


def test_missing_and_unknown_motors(tmp_path, example):
    del example["wrist_roll"]
    path = _write(tmp_path, example)
    with raises_config_error(path, "wrist_roll", "missing"):
        load_calibration(path)
    example["wrist_roll"] = example["wrist_flex"] | {"id": 5}
    example["elbow"] = example.pop("elbow_flex")
    path = _write(tmp_path, example, "renamed.json")
    with raises_config_error(path, "elbow", "unknown motor name"):
        load_calibration(path)


def test_missing_field(tmp_path, example):
    del example["shoulder_lift"]["homing_offset"]
    path = _write(tmp_path, example)
    with raises_config_error(path, "shoulder_lift", "homing_offset", "missing"):
        load_calibration(path)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ('{"shoulder_pan": {"id": 1,}', ["not valid JSON", "line 1"]),
        ("[1, 2, 3]", ["JSON object keyed by motor name", "list"]),
        ('{"shoulder_pan": 5}', ["shoulder_pan", "entry must be an object"]),
        ("", ["not valid JSON"]),
    ],
)
def test_malformed_files(tmp_path, text, parts):
    path = _write(tmp_path, text)
    with raises_config_error(path, *parts):
        load_calibration(path)


def test_missing_file(tmp_path):
    with raises_config_error(tmp_path / "nope.json", "not found"):
        load_calibration(tmp_path / "nope.json")


def test_loading_never_modifies_the_file(tmp_path, example):
    path = _write(tmp_path, example)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    load_calibration(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_calibration_root_follows_lerobot_env_defaults(tmp_path):
    assert calibration_root({"HF_LEROBOT_CALIBRATION": str(tmp_path)}) == tmp_path
    assert calibration_root({"HF_LEROBOT_HOME": str(tmp_path)}) == tmp_path / "calibration"
    assert calibration_root({"HF_HOME": str(tmp_path)}) == tmp_path / "lerobot/calibration"
    assert str(calibration_root({})).endswith(".cache/huggingface/lerobot/calibration")


@pytest.mark.parametrize("folder", ROBOT_FOLDERS)
def test_find_by_arm_id_in_every_robot_folder(tmp_path, folder):
    target = tmp_path / folder / "my_arm.json"
    target.parent.mkdir(parents=True)
    target.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    env = {"HF_LEROBOT_CALIBRATION": str(tmp_path)}
    leader = folder.startswith("teleoperators/")
    assert find_calibration("my_arm", env, leader=leader) == target
    assert resolve_calibration("my_arm", env, leader=leader).source == str(target)
    # never the other kind's file: a leader's calibration is not a follower's
    with pytest.raises(So101ConfigError, match=r"'my_arm'.* only a (leader|follower)'s "
                       r"calibration .*is not a (follower|leader)'s"):
        find_calibration("my_arm", env, leader=not leader)


def test_find_prefers_followers_and_rejects_ambiguity(tmp_path, example):
    env = {"HF_LEROBOT_CALIBRATION": str(tmp_path)}
    for folder in ("teleoperators/so_leader", "robots/so101_follower"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "arm.json").write_text(json.dumps(example))
    assert find_calibration("arm", env).parent.name == "so101_follower"
    example["gripper"]["homing_offset"] = 5
    (tmp_path / "robots/so_follower").mkdir(parents=True)
    (tmp_path / "robots/so_follower/arm.json").write_text(json.dumps(example))
    with raises_config_error("ambiguous", "'arm'"):
        find_calibration("arm", env)


def test_unknown_arm_id_lists_what_exists(tmp_path):
    (tmp_path / "robots/so_follower").mkdir(parents=True)
    (tmp_path / "robots/so_follower/blue_arm.json").write_text("{}")
    with raises_config_error("'red_arm'", "blue_arm", str(tmp_path)):
        find_calibration("red_arm", {"HF_LEROBOT_CALIBRATION": str(tmp_path)})


def test_compare_calibrations_per_joint():
    before = load_calibration(EXAMPLE_CALIBRATION)
    after = before.replace("elbow_flex", homing_offset=1011 + 30,
                           range_max=before.motors["elbow_flex"].range_max + 10)
    deltas = {d.joint: d for d in compare_calibrations(before, after)}
    assert deltas["elbow_flex"].homing_offset_ticks == 30
    assert deltas["elbow_flex"].homing_offset_deg == pytest.approx(2.637, abs=1e-3)
    assert deltas["elbow_flex"].range_mid_ticks == 5
    assert deltas["elbow_flex"].zero_shift_ticks == 35
    assert deltas["elbow_flex"].changed
    assert not any(d.changed for name, d in deltas.items() if name != "elbow_flex")
    flipped = before.replace("gripper", drive_mode=1)
    assert {d.joint for d in compare_calibrations(before, flipped) if d.drive_mode_changed} \
        == {"gripper"}


# -- issue 11 ------------------------------------------------------------------------------

def test_a_5000_digit_integer_names_joint_and_a_short_value(tmp_path, example):
    text = json.dumps(example).replace("-766", "-" + "9" * 5000)
    path = _write(tmp_path, text)
    with raises_config_error(path, "shoulder_lift", "homing_offset = -99999999999...9999 "
                             "(5000 digits)", "out of range") as info:
        load_calibration(path)
    assert len(str(info.value)) < 300


def test_the_flag_named_is_the_one_used(tmp_path):
    env = {"HF_LEROBOT_CALIBRATION": str(tmp_path)}
    with raises_config_error("--calibration: value 'red_arm'", "no calibration"):
        find_calibration("red_arm", env, option="--calibration")
    with raises_config_error("--calibration: value 'red_arm'"):
        resolve_calibration("red_arm", env, option="--calibration")
    with raises_config_error("--so101-calibration: value 'red_arm'"):
        resolve_calibration("red_arm", env)


def test_an_arm_id_that_is_a_pipe_is_named(tmp_path):
    folder = tmp_path / "robots/so_follower"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "arm.json")
    with raises_config_error(folder / "arm.json", "named pipe (FIFO)"):
        resolve_calibration("arm", {"HF_LEROBOT_CALIBRATION": str(tmp_path)})


def test_ambiguity_check_never_reads_a_pipe(tmp_path):
    for folder in ("robots/so_follower", "robots/so101_follower"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "robots/so_follower/arm.json").write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    os.mkfifo(tmp_path / "robots/so101_follower/arm.json")
    with raises_config_error(tmp_path / "robots/so101_follower/arm.json", "named pipe"):
        find_calibration("arm", {"HF_LEROBOT_CALIBRATION": str(tmp_path)})


def test_an_unknown_home_is_not_a_traceback(tmp_path):
    with raises_config_error("~no_such_user_so101/arm.json", "not found"):
        resolve_calibration("~no_such_user_so101/arm.json")
    assert calibration_root({"HF_LEROBOT_CALIBRATION": "~no_such_user_so101"}) == \
        Path("~no_such_user_so101")
