"""Joint maps (apply, inverse, compose, solve) and the mapping TOML file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_so101 import strategies as so101_st
from pytest_so101.core.frames import PolicyFrame, RobotUnit
from pytest_so101.core.joints import SO100_MENAGERIE_NAMES
from pytest_so101.core.mapping import JointMap, load_mapping, solve_map
from tests.helpers import MAPPINGS, raises_config_error

VALID = """
[sim]
model = "so101-new-calib"
[sim_to_robot]
units = "degrees"
offset = [0, 0, 0, 0, 0, 9.09]
scale = [57.2958, 57.2958, 57.2958, 57.2958, 57.2958, 52.087]
direction = [1, 1, 1, 1, 1, 1]
[sim_to_policy]
input = "degrees"
offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]
scale = [1, 1, 1, 1, 1, 0.909]
direction = [1, -1, 1, 1, 1, 1]
[policy]
frame = "lerobot-legacy-degrees"
"""


@given(m=so101_st.joint_maps(), q=so101_st.joint_vectors())
def test_inverse_undoes_apply(m, q):
    np.testing.assert_allclose(m.inverse().apply(m.apply(q)), q, rtol=1e-9, atol=1e-9)


@given(a=so101_st.joint_maps(), b=so101_st.joint_maps(), q=so101_st.joint_vectors())
def test_composition_equals_applying_in_turn(a, b, q):
    np.testing.assert_allclose(a.then(b).apply(q), b.apply(a.apply(q)), rtol=1e-9, atol=1e-6)


@given(m=so101_st.joint_maps(), poses=st.integers(2, 8), data=st.data())
def test_solve_recovers_a_map_from_paired_poses(m, poses, data):
    x = np.array([data.draw(so101_st.joint_vectors()) for _ in range(poses)])
    spread = np.ptp(x, axis=0)
    assume((spread > 1e-3).all())
    solved = solve_map(x, m.apply(x))
    np.testing.assert_array_equal(solved.map.direction, m.direction)
    np.testing.assert_allclose(solved.map.scale, m.scale, rtol=1e-6)
    np.testing.assert_allclose(solved.map.offset, m.offset, rtol=1e-6, atol=1e-5)
    assert (solved.residual_max < 1e-6 * (1 + np.abs(m.offset) + m.scale)).all()


def test_solve_reports_residuals_of_noisy_poses():
    rng = np.random.default_rng(3)
    true = JointMap(np.arange(6.0), np.full(6, 57.3), np.array([1, -1, 1, 1, -1, 1.0]))
    x = rng.uniform(-1, 1, size=(20, 6))
    noise = rng.normal(0, 0.5, size=x.shape)
    solved = solve_map(x, true.apply(x) + noise)
    assert (solved.map.direction == true.direction).all()
    assert (0.2 < solved.residual_rms).all() and (solved.residual_rms < 1.0).all()
    assert solved.n_poses == 20


def test_solve_fails_clearly_when_a_joint_does_not_move():
    x = np.zeros((2, 6))
    x[1, [0, 1, 2, 3, 5]] = 0.3   # wrist_roll never moves
    with raises_config_error("wrist_roll", "direction and scale are undetermined"):
        solve_map(x, x * 57.3)
    with raises_config_error("shoulder_pan", "do not move"):
        solve_map(np.zeros((1, 6)), np.ones((1, 6)))


def test_solve_with_known_scale_and_direction_needs_one_pose():
    """The paired-poses method: offset = real_rest - direction * scale * sim_rest."""
    rest = np.array([[0, -3.32, 3.11, 1.18, 0, -0.174]])
    scale, direction = np.full(6, 57.2958), np.array([-1, 1, 1, 1, 1, 1.0])
    real = np.array([[0.0, -100.2, 88.2, 67.6, 2.8, 0.0]])
    solved = solve_map(rest, real, scale=scale, direction=direction)
    np.testing.assert_allclose(solved.map.apply(rest), real)


def test_describe():
    m = JointMap(np.array([0, 90, 0, 0, 0, -2.0]), np.array([57.2958, 1, 1, 1, 1, 2]),
                 np.array([1, -1, 1, 1, 1, 1.0]))
    assert m.describe(0) == "57.2958 * x"
    assert m.describe(1) == "-(x) + 90"
    assert m.describe(5, "q") == "2 * q - 2"


def test_load_valid_mapping(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(VALID)
    mapping = load_mapping(path)
    assert mapping.policy_frame is PolicyFrame.LEROBOT_LEGACY_DEGREES
    assert mapping.robot_units[-1] is RobotUnit.RANGE_0_100
    # input = "degrees" becomes a map from sim radians
    np.testing.assert_allclose(mapping.sim_to_policy.scale[:5], np.rad2deg(1.0))
    assert mapping.sim_to_policy.direction[1] == -1


def test_so100_menagerie_names_and_limits():
    mapping = load_mapping(MAPPINGS / "so100_menagerie.toml")
    assert mapping.sim_joint_names == SO100_MENAGERIE_NAMES
    assert mapping.joint_limits.upper_rad[1] == pytest.approx(0.2)
    np.testing.assert_allclose(mapping.reference_pose_rad, [0, -3.32, 3.11, 1.18, 0, -0.174])


def test_joint_name_maps_for_the_menagerie():
    mapping = load_mapping(MAPPINGS / "so100_menagerie.toml")
    menagerie_rest = {"Rotation": 8.554e-10, "Pitch": -3.32002662172713, "Elbow": 3.118134788813849,
               "Wrist_Pitch": 1.1813556248365669, "Wrist_Roll": 3.9e-06, "Jaw": -0.174,
               "cube_free_joint": 1.0}
    q = mapping.to_motor_order(menagerie_rest)
    np.testing.assert_allclose(q[1:4], [-3.32002662172713, 3.118134788813849, 1.18135562])
    del menagerie_rest["Elbow"]
    with raises_config_error("so100_menagerie.toml", "elbow_flex", "'Elbow'", "missing"):
        mapping.to_motor_order(menagerie_rest)


@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        ("offset = [0, 0, 0, 0, 0, 9.09]", "offset = [0, 0, 0, 0, 9.09]",
         ["sim_to_robot.offset", "list of 6"]),
        ("direction = [1, -1, 1, 1, 1, 1]", "direction = [1, 0, 1, 1, 1, 1]",
         ["shoulder_lift", "sim_to_policy.direction = 0.0", "1 or -1"]),
        ("scale = [1, 1, 1, 1, 1, 0.909]", "scale = [1, 1, -1, 1, 1, 0.909]",
         ["elbow_flex", "sim_to_policy.scale = -1.0", "> 0"]),
        ("offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]", "offset = [0.0, nan, 90.0, 0, 0, 9.09]",
         ["shoulder_lift", "sim_to_policy.offset = nan", "finite"]),
        ("offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]", 'offset = [0.0, "90", 90.0, 0, 0, 9.09]',
         ["shoulder_lift", "sim_to_policy.offset = '90'", "number"]),
        ("offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]",
         "offset = { shoulder_pan = 0, shoulder_lift = 90, elbow = 90, wrist_flex = 0, "
         "wrist_roll = 0, gripper = 9 }", ["elbow", "unknown joint name"]),
        ('units = "degrees"', 'units = "radians"', ["sim_to_robot.units = 'radians'",
                                                      "unknown unit"]),
        ('frame = "lerobot-legacy-degrees"', 'frame = "legacy"',
         ["policy.frame = 'legacy'", "unknown policy frame"]),
        ('input = "degrees"', 'input = "grads"', ["sim_to_policy.input", "'grads'"]),
        ('model = "so101-new-calib"', 'model = "koch"', ["sim.model = 'koch'"]),
        ('model = "so101-new-calib"', 'model = "so101-new-calib"\nwheels = 4',
         ["sim.wheels", "unknown key"]),
        ("[policy]", "[polcy]", ["[polcy]", "unknown table"]),
        ('units = "degrees"\n', "", ["sim_to_robot.units", "key missing"]),
        ('model = "so101-new-calib"', 'joints = { shoulder_pan = "shoulder_lift" }',
         ["sim.joints = 'shoulder_lift'", "same sim joint"]),
        ("scale = [1, 1, 1, 1, 1, 0.909]\n", "", ["sim_to_policy.scale", "key missing"]),
        ('[policy]\nframe = "lerobot-legacy-degrees"\n', "",
         ["[sim_to_policy] needs [policy] frame"]),
        ("[sim]", "[sim", ["not valid TOML"]),
    ],
)
def test_bad_mapping_files_give_one_line(tmp_path, old, new, parts):
    assert old in VALID
    path = tmp_path / "map.toml"
    path.write_text(VALID.replace(old, new, 1))
    with raises_config_error(path, *parts):
        load_mapping(path)


def test_per_joint_tables_are_accepted(tmp_path):
    table = ("{ shoulder_pan = 0, shoulder_lift = 90, elbow_flex = 90, wrist_flex = 0, "
             "wrist_roll = 0, gripper = 9.09 }")
    path = tmp_path / "map.toml"
    path.write_text(VALID.replace("offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]",
                                  f"offset = {table}"))
    assert load_mapping(path).sim_to_policy.offset[1] == 90
    missing = table.replace("wrist_roll = 0, ", "")
    path.write_text(VALID.replace("offset = [0.0, 90.0, 90.0, 0.0, 0.0, 9.09]",
                                  f"offset = {missing}"))
    with raises_config_error(path, "wrist_roll", "value missing"):
        load_mapping(path)


def test_missing_mapping_file(tmp_path):
    with raises_config_error(tmp_path / "x.toml", "not found"):
        load_mapping(tmp_path / "x.toml")


# -- issue 11: every value typed, sim joint names checked ---------------------------------

@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        ('units = "degrees"', "units = 5", ["sim_to_robot.units = 5", "degrees"]),
        ('units = "degrees"', 'units = ["degrees", "degrees", 3, "ticks", "ticks", "ticks"]',
         ["elbow_flex", "sim_to_robot.units = 3"]),
        ('units = "degrees"', "units = { a = 1 }", ["sim_to_robot.units = {'a': 1}"]),
        ('model = "so101-new-calib"', 'model = ["so101-new-calib"]',
         ["sim.model = ['so101-new-calib']", "must be a string, not a list"]),
        ('frame = "lerobot-legacy-degrees"', "frame = 1", ["policy.frame = 1", "string"]),
        ('input = "degrees"', "input = [1, 2, 3, 4, 5, 6]",
         ["shoulder_pan", "sim_to_policy.input = 1", "radians, degrees"]),
        ('input = "degrees"', "input = true", ["sim_to_policy.input = True"]),
        ("scale = [1, 1, 1, 1, 1, 0.909]", 'scale = [1, 1, "1", 1, 1, 0.909]',
         ["elbow_flex", "sim_to_policy.scale = '1'", "without quotes"]),
        ("direction = [1, -1, 1, 1, 1, 1]", "direction = [1, -1, true, 1, 1, 1]",
         ["elbow_flex", "sim_to_policy.direction = True", "not a boolean"]),
        ("offset = [0, 0, 0, 0, 0, 9.09]", "offset = [0, 18446744073709551616, 0, 0, 0, 9]",
         ["shoulder_lift", "sim_to_robot.offset = 18446744073709551616", "out of range"]),
        ("offset = [0, 0, 0, 0, 0, 9.09]", f"offset = [0, 0, 0x{'f' * 5000}, 0, 0, 9]",
         ["elbow_flex", "sim_to_robot.offset = <an integer of about 6021 digits>"]),
        ("offset = [0, 0, 0, 0, 0, 9.09]", f"offset = [0, 0, {'7' * 5000}, 0, 0, 9]",
         ["line 6: integer 777777777777...7777 (5000 digits) out of range"]),
        ("offset = [0, 0, 0, 0, 0, 9.09]", "offset = [0, 0, 1979-05-27, 0, 0, 9]",
         ["elbow_flex", "sim_to_robot.offset = datetime.date(1979, 5, 27)", "not a date"]),
        ("offset = [0, 0, 0, 0, 0, 9.09]", "offset = [0, 0, [1], 0, 0, 9]",
         ["elbow_flex", "sim_to_robot.offset = [1]", "not a list"]),
        ("scale = [1, 1, 1, 1, 1, 0.909]", "scale = [1e308, 1, 1, 1, 1, 0.909]",
         ["shoulder_pan", "sim_to_policy.scale = inf", "finite"]),
        ('model = "so101-new-calib"', 'joints = { elbow_flex = "Elbow" }',
         ["elbow_flex", "sim.joints = 'Elbow'", "not a joint of the model so101-new-calib",
          "shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper"]),
        ('model = "so101-new-calib"', 'model = "so100-menagerie"\njoints = { gripper = '
         '"gripper" }', ["gripper", "sim.joints = 'gripper'", "so100-menagerie",
                         "Rotation, Pitch, Elbow, Wrist_Pitch, Wrist_Roll, Jaw"]),
        ('model = "so101-new-calib"', "joints = [1]", ["sim.joints = [1]", "table"]),
        ("[sim]", '"sim" = 1\n[sim2]', ["sim = 1", "must be a table"]),
        ("[sim]", "[[sim]]", ["sim = [{", "must be a table"]),
    ],
)
@pytest.mark.filterwarnings("error")            # no numpy overflow warning either
def test_wrong_types_give_one_line(tmp_path, old, new, parts):
    assert old in VALID
    path = tmp_path / "map.toml"
    path.write_text(VALID.replace(old, new, 1))
    with raises_config_error(path, *parts):
        load_mapping(path)


def test_menagerie_names_may_be_given_for_the_menagerie(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(VALID.replace('model = "so101-new-calib"', 'model = "so100-menagerie"\n'
                                  'joints = { gripper = "Jaw", elbow_flex = "Elbow" }'))
    assert load_mapping(path).sim_joint_names == SO100_MENAGERIE_NAMES


# -- joints whose map comes from the calibration ----------------------------------------

DERIVED = """
[sim_to_robot]
units = "degrees"
offset = [0, 0, 0, 0, 0, "calibration"]
scale = [57.29577951, 57.29577951, 57.29577951, 57.29577951, 57.29577951, "calibration"]
direction = [1, 1, 1, 1, 1, DIRECTION]
"""


@given(cal=so101_st.calibrations(drive_modes=(0,), min_span=200),
       direction=st.sampled_from([1, -1]))
def test_a_derived_gripper_spans_exactly_the_recorded_sweep(tmp_path_factory, cal, direction):
    """One servo turn per joint turn over the recorded sweep: the model's closed end reads
    0 and a turn of the sweep's width from it reads 100, whatever the sweep."""
    from pytest_so101.core.frames import TICKS_PER_RAD
    from pytest_so101.core.joints import GRIPPER

    path = tmp_path_factory.mktemp("map") / "map.toml"
    path.write_text(DERIVED.replace("DIRECTION", str(direction)))
    mapping = load_mapping(path).for_calibration(cal)
    g = mapping.sim_to_robot
    limits = mapping.joint_limits
    closed = limits.lower_rad[GRIPPER] if direction > 0 else limits.upper_rad[GRIPPER]
    sweep_rad = (cal.range_max[GRIPPER] - cal.range_min[GRIPPER]) / TICKS_PER_RAD
    q = np.zeros(6)
    q[GRIPPER] = closed
    assert g.apply(q)[GRIPPER] == pytest.approx(0.0, abs=1e-9)
    q[GRIPPER] = closed + direction * sweep_rad
    assert g.apply(q)[GRIPPER] == pytest.approx(100.0)
    assert mapping.derived_from == cal.source and 5 in mapping.robot_derived


def test_without_a_calibration_the_derived_gripper_spans_the_model_range(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(DERIVED.replace("DIRECTION", "1"))
    mapping = load_mapping(path)
    q = np.zeros(6)
    q[5] = mapping.joint_limits.upper_rad[5]
    assert mapping.sim_to_robot.apply(q)[5] == pytest.approx(100.0)
    assert mapping.derived_from is None and mapping.for_calibration(None) is mapping


@pytest.mark.parametrize(("old", "new", "parts"), [
    ('units = "degrees"', 'units = ["degrees", "degrees", "degrees", "degrees", "degrees", '
     '"degrees"]', ["gripper", "sim_to_robot.scale", "read in degrees", "fixed"]),
    ('offset = [0, 0, 0, 0, 0, "calibration"]', "offset = [0, 0, 0, 0, 0, 9.09]",
     ["gripper", "together, or neither"]),
    ("direction = [1, 1, 1, 1, 1, DIRECTION]", "direction = [1, 1, 1, 1, 1, 1]\n"
     "zero_at = { elbow_flex = 0.1 }", ["elbow_flex", "zero_at", "names a joint"]),
    ("direction = [1, 1, 1, 1, 1, DIRECTION]", "direction = [1, 1, 1, 1, 1, 1]\n"
     "zero_at = { gripper = 9 }", ["gripper", "zero_at", "cannot rest there"]),
    ('offset = [0, 0, 0, 0, 0, "calibration"]', 'offset = [0, 0, 0, 0, 0, "calibrated"]',
     ["gripper", "sim_to_robot.offset", "'calibrated'"]),
])
def test_a_bad_derived_joint_gives_one_line(tmp_path, old, new, parts):
    path = tmp_path / "map.toml"
    path.write_text(DERIVED.replace(old, new).replace("DIRECTION", "1"))
    with raises_config_error(str(path), *parts):
        load_mapping(path)


def test_inputs_read_a_derived_mapping_with_their_calibration(tmp_path):
    """The checks never see a provisional map where a calibration is given: each arm's
    (the follower's, a leader's) own sweep."""
    from dataclasses import replace

    from pytest_so101.checks.base import Inputs
    from pytest_so101.core.calibration import load_calibration
    from tests.helpers import REAL

    follower = load_calibration(REAL / "calibration/01_Sachin-2007_oc_models_so101_follower.json")
    leader = load_calibration(REAL / "calibration/11_Sachin-2007_oc_models_so101_leader.json")
    inputs = Inputs(calibration=follower, mapping=load_mapping(MAPPINGS / "so101_degrees.toml"))
    assert inputs.mapping.derived_from == follower.source
    assert replace(inputs, calibration=leader).mapping.derived_from == leader.source
    assert inputs.mapping.sim_to_robot.scale[5] < 52 < replace(
        inputs, calibration=leader).mapping.sim_to_robot.scale[5]


@pytest.mark.parametrize("pose", ["[0, 0, 1e300, 0, 0, 0]", "[0, 0, 4.0, 0, 0, 0]"])
def test_a_reference_pose_the_arm_cannot_reach_is_refused(tmp_path, pose):
    """reference_pose was taken as given (1e300 accepted) while rest_pose was range-checked:
    both name the joint, the field and the value now."""
    path = tmp_path / "map.toml"
    path.write_text(VALID.replace('model = "so101-new-calib"',
                                  f'model = "so101-new-calib"\nreference_pose = {pose}'))
    with raises_config_error(path, "elbow_flex", "sim.reference_pose", "cannot rest there"):
        load_mapping(path)
