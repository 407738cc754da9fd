"""Frames: bit-exact agreement with LeRobot's formulas, golden values, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import lerobot_loop
from pytest_so101 import strategies as so101_st
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.frames import (
    PolicyFrame,
    RobotUnit,
    decode_register,
    decode_sign_magnitude,
    degrees_to_legacy_degrees,
    degrees_to_ticks,
    encode_register,
    encode_sign_magnitude,
    expand_units,
    from_z_score,
    legacy_degrees_to_degrees,
    policy_frame_to_ticks,
    range_0_100_to_ticks,
    range_m100_100_to_ticks,
    raw_to_ticks,
    ticks_to_degrees,
    ticks_to_policy_frame,
    ticks_to_range_0_100,
    ticks_to_range_m100_100,
    ticks_to_raw,
    ticks_to_units,
    to_z_score,
    units_to_ticks,
)
from pytest_so101.core.joints import MOTOR_NAMES, N_JOINTS
from tests.helpers import EXAMPLE_CALIBRATION, raises_config_error

MODES = {
    "degrees": (ticks_to_degrees, degrees_to_ticks),
    "range_m100_100": (ticks_to_range_m100_100, range_m100_100_to_ticks),
    "range_0_100": (ticks_to_range_0_100, range_0_100_to_ticks),
}


def _oracle_cal(cal):
    return {name: {"range_min": int(cal.range_min[i]), "range_max": int(cal.range_max[i]),
                   "drive_mode": int(cal.drive_mode[i])} for i, name in enumerate(MOTOR_NAMES)}


@pytest.mark.parametrize("mode", MODES)
@given(cal=so101_st.calibrations(), data=st.data())
def test_ticks_to_value_equals_lerobot_bit_for_bit(mode, cal, data):
    ticks = np.array(data.draw(st.lists(st.integers(0, 4095), min_size=6, max_size=6)))
    ours = MODES[mode][0](ticks, cal)
    theirs = lerobot_loop.normalize(dict(zip(MOTOR_NAMES, ticks.tolist(), strict=True)),
                                    _oracle_cal(cal), dict.fromkeys(MOTOR_NAMES, mode))
    assert ours.tolist() == [theirs[m] for m in MOTOR_NAMES]


@pytest.mark.parametrize("mode", MODES)
@given(cal=so101_st.calibrations(), data=st.data())
def test_value_to_ticks_equals_lerobot_bit_for_bit(mode, cal, data):
    """Including values outside the range (clamping) and negative ones (int() truncation)."""
    values = np.array(data.draw(st.lists(st.floats(-250, 250, allow_nan=False),
                                         min_size=6, max_size=6)))
    ours = MODES[mode][1](values, cal)
    theirs = lerobot_loop.unnormalize(dict(zip(MOTOR_NAMES, values.tolist(), strict=True)),
                                      _oracle_cal(cal), dict.fromkeys(MOTOR_NAMES, mode))
    assert ours.tolist() == [theirs[m] for m in MOTOR_NAMES]


def test_golden_values_on_the_example_arm():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    mid = cal.range_mid
    np.testing.assert_allclose(ticks_to_degrees(mid, cal), 0.0)
    # shoulder_lift: range 909..3185, so range_max reads (3185-2047)*360/4095 deg.
    lift_max = ticks_to_degrees(cal.range_max.astype(float), cal)[1]
    assert lift_max == pytest.approx((3185 - 2047) * 360 / 4095)
    np.testing.assert_allclose(ticks_to_range_m100_100(cal.range_min, cal), -100.0)
    np.testing.assert_allclose(ticks_to_range_m100_100(cal.range_max, cal), 100.0)
    np.testing.assert_allclose(ticks_to_range_0_100(cal.range_max, cal), 100.0)
    # Clamping: beyond the range reads as the range end in range modes, not in degrees.
    beyond = cal.range_max + 50
    np.testing.assert_allclose(ticks_to_range_m100_100(np.minimum(beyond, 4095), cal)[:5],
                               100.0)
    assert ticks_to_degrees(np.minimum(beyond, 4095), cal)[1] > lift_max


def test_drive_mode_mirrors_range_modes_but_not_degrees():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    flipped = cal.replace("shoulder_lift", drive_mode=1)
    ticks = np.array([1000, 1500, 2000, 2000, 2000, 2500])
    assert ticks_to_range_m100_100(ticks, flipped)[1] == -ticks_to_range_m100_100(ticks, cal)[1]
    assert ticks_to_range_0_100(ticks, flipped)[1] == 100 - ticks_to_range_0_100(ticks, cal)[1]
    assert ticks_to_degrees(ticks, flipped)[1] == ticks_to_degrees(ticks, cal)[1]


def test_lerobot_int_truncation_can_lose_a_tick_but_nearest_does_not():
    """LeRobot's RANGE_M100_100 round trip drops a tick for some ticks (float error then
    int() toward zero); with nearest rounding every tick comes back."""
    cal = load_calibration(EXAMPLE_CALIBRATION)
    ticks = np.clip(np.arange(4096)[:, None], cal.range_min, cal.range_max)
    pct = ticks_to_range_m100_100(ticks, cal)
    lost = range_m100_100_to_ticks(pct, cal) - ticks
    assert set(np.unique(lost)) <= {-1, 0}
    assert (lost[:, 4] != 0).sum() > 100, "wrist_roll (0..4095) loses ticks in LeRobot"
    assert (range_m100_100_to_ticks(pct, cal, rounding="nearest") == ticks).all()
    deg = ticks_to_degrees(ticks, cal)
    assert (degrees_to_ticks(deg, cal, rounding="nearest") == ticks).all()


def test_raw_encoder_and_homing_offset():
    # the SmolVLA stats incident's arm: homing -766 and the calibration pose reading 2047:
    # raw = 2047 - 766 = 1281.
    homing = np.array([-1480, -766, 1011, -877, 1512, 0])
    ticks = np.full(6, 2047)
    raw = ticks_to_raw(ticks, homing)
    assert raw[1] == 1281
    assert raw[2] == (2047 + 1011) % 4096
    assert (raw_to_ticks(raw, homing) == ticks).all()
    # The wrap at 4096 in both directions.
    assert ticks_to_raw(np.array([4095] * 6), np.array([1] * 6)).tolist() == [0] * 6
    assert raw_to_ticks(np.array([0] * 6), np.array([1] * 6)).tolist() == [4095] * 6


@given(ticks=st.integers(0, 4095), homing=st.integers(-2047, 2047))
def test_raw_roundtrip_is_exact(ticks, homing):
    raw = ticks_to_raw(np.full(6, ticks), np.full(6, homing))
    assert ((0 <= raw) & (raw < 4096)).all()
    assert (raw_to_ticks(raw, np.full(6, homing)) == ticks).all()


def test_sign_magnitude_golden_values():
    assert int(encode_sign_magnitude(-100, 11)) == 0x864
    assert int(decode_sign_magnitude(0x864, 11)) == -100
    assert int(encode_register("Homing_Offset", -2047)) == 0xFFF
    assert int(encode_register("Homing_Offset", 2047)) == 0x7FF
    assert int(encode_register("Goal_Position", -5)) == 0x8005
    assert int(decode_register("Present_Position", 0x8005)) == -5
    assert int(decode_register("Present_Position", 1304)) == 1304
    assert int(decode_register("Present_Load", 0x400 | 7)) == -7
    assert int(encode_register("Torque_Enable", 1)) == 1


def test_sign_magnitude_rejects_what_does_not_fit():
    with raises_config_error("2048", "sign bit 11"):
        encode_register("Homing_Offset", 2048)
    with raises_config_error("Torque_Enable", "-1"):
        encode_register("Torque_Enable", -1)


@given(value=st.integers(-(2**15 - 1), 2**15 - 1), bit=st.sampled_from([10, 11, 15]))
def test_sign_magnitude_roundtrip(value, bit):
    value = max(-(2**bit - 1), min(2**bit - 1, value))
    encoded = encode_sign_magnitude(value, bit)
    assert 0 <= int(encoded) < 2 ** (bit + 1)
    assert int(decode_sign_magnitude(encoded, bit)) == value


def test_legacy_degrees_conversion_of_seed_000():
    legacy = np.array([1.596, 119.944, 109.770, 56.706, -27.423, 12.003])
    current = legacy_degrees_to_degrees(legacy)
    np.testing.assert_allclose(current, [1.596, -29.944, 19.770, 56.706, -27.423, 12.003])
    np.testing.assert_allclose(degrees_to_legacy_degrees(current), legacy)


def test_expand_units_follows_lerobot_for_the_gripper():
    assert expand_units("degrees")[-1] is RobotUnit.RANGE_0_100
    assert expand_units("range_m100_100")[:5] == (RobotUnit.RANGE_M100_100,) * 5
    assert expand_units("ticks") == (RobotUnit.TICKS,) * 6
    assert expand_units(["degrees"] * 6)[-1] is RobotUnit.DEGREES
    with raises_config_error("map.toml", "gripper", "'furlongs'", "unknown unit"):
        expand_units(["degrees"] * 5 + ["furlongs"], source="map.toml")
    with raises_config_error("must be one unit name or a list of 6"):
        expand_units(["degrees"] * 5)


@pytest.mark.parametrize("frame", list(PolicyFrame))
@given(data=st.data())
def test_policy_frame_roundtrip_within_half_a_tick(frame, data):
    cal = load_calibration(EXAMPLE_CALIBRATION)
    ticks = data.draw(so101_st.joint_vectors(frame="ticks", calibration=cal))
    values = ticks_to_policy_frame(ticks, cal, frame)
    back = policy_frame_to_ticks(values, cal, frame, rounding="nearest")
    assert (back == ticks).all()


def test_mixed_units_per_joint():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    units = (RobotUnit.DEGREES, RobotUnit.TICKS, RobotUnit.RANGE_M100_100,
             RobotUnit.RANGE_0_100, RobotUnit.DEGREES, RobotUnit.RANGE_0_100)
    ticks = np.array([[1000, 1500, 2000, 2100, 2048, 2500], [900, 1600, 1900, 2200, 10, 2600]])
    values = ticks_to_units(ticks, cal, units)
    assert values[0, 1] == 1500
    assert values[0, 0] == ticks_to_degrees(ticks, cal)[0, 0]
    assert values[0, 2] == ticks_to_range_m100_100(ticks, cal)[0, 2]
    assert (units_to_ticks(values, cal, units, rounding="nearest") == ticks).all()


@given(z=st.lists(st.floats(-10, 10), min_size=6, max_size=6))
def test_z_score_roundtrip(z):
    mean, std = np.arange(6.0), np.full(6, 2.0)
    x = from_z_score(np.array(z), mean, std, 1e-8)
    np.testing.assert_allclose(to_z_score(x, mean, std, 1e-8), z, atol=1e-9)


def test_misshapen_arrays_are_a_clear_error():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    with pytest.raises(So101ConfigError, match=r"\(5,\): ticks must have shape \(\.\.\., 6\)"):
        ticks_to_degrees(np.zeros(5), cal)
    assert ticks_to_degrees(np.zeros((3, 4, N_JOINTS)), cal).shape == (3, 4, N_JOINTS)
