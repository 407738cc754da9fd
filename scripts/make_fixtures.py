"""Generate the example data under fixtures/ from documented numbers.

    python scripts/make_fixtures.py [--out fixtures]

Every number comes from docs/domain.md (the two incidents of its section 5 among them),
or is marked
*illustrative* below. The files are consistent with each other, so the suites pass on
every example configuration; the files under incidents/ reproduce the two incidents the
project started from and must fail.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from pytest_so101.core.calibration import Calibration, MotorCalibration
from pytest_so101.core.frames import (
    RobotUnit,
    degrees_to_ticks,
    legacy_degrees_to_degrees,
    tick_step,
    ticks_to_units,
)
from pytest_so101.core.joints import (
    GRIPPER,
    MOTOR_NAMES,
    N_JOINTS,
    OLD_MINUS_NEW_CALIB_RAD,
    SO101_NEW_CALIB_LIMITS,
    SO101_OLD_CALIB_LIMITS,
)
from pytest_so101.core.lerobot_maps import (
    DEG_PER_RAD,
    GRIPPER_NOTE,
    GRIPPER_PCT_AT_ZERO,
    GRIPPER_PCT_PER_DEG,
    HEADER,
    bundled_map_text,
    degrees_offset,
    degrees_scale,
    from_calibration,
    map_table,
    toml_list,
)
from pytest_so101.core.mapping import JointMap
from pytest_so101.synthetic.recording import read_through, teleop_recording, write_dataset
from pytest_so101.synthetic.scenarios import SCENARIOS

# -- calibration (LeRobot layout) -------------------------------------------------------
# Homing offsets: shoulder_pan from docs/domain.md section 2's example, the others from seed
# 000's file and table (gripper illustrative). Ranges: what LeRobot records sweeping the
# embedded model's full joint ranges from the held pose that reads 2047 (so the twin of
# this arm can rest at its rest keyframe): 2047 -+ the range in ticks; wrist_roll 0..4095
# as LeRobot fixes it; the gripper from -10 deg (closed) to 100 deg.
CALIBRATION = {
    "shoulder_pan": MotorCalibration(1, 0, -1480, 795, 3299),
    "shoulder_lift": MotorCalibration(2, 0, -766, 909, 3185),
    "elbow_flex": MotorCalibration(3, 0, 1011, 945, 3149),
    "wrist_flex": MotorCalibration(4, 0, -877, 966, 3128),
    "wrist_roll": MotorCalibration(5, 0, 1512, 0, 4095),
    "gripper": MotorCalibration(6, 0, 1394, 1933, 3185),
}
# The SmolVLA stats incident's recorded sweep (shoulder_lift 970..3048, elbow_flex
# 1005..3219: +-91 deg and +-97 deg around their middles), pan from docs/domain.md section
# 2, the rest illustrative: a sweep that stopped short of the model's range, kept as an incident.
SHORT_SWEEP_CALIBRATION = {
    **CALIBRATION,
    "shoulder_pan": MotorCalibration(1, 0, -1480, 748, 3410),
    "shoulder_lift": MotorCalibration(2, 0, -766, 970, 3048),
    "elbow_flex": MotorCalibration(3, 0, 1011, 1005, 3219),
}

# -- stats -----------------------------------------------------------------------------
# smolvla_base's so100 stats, LeRobot *legacy* frame (docs/domain.md section 5).
SMOLVLA_SO100_MEAN_LEGACY = np.array([1.596, 119.944, 109.770, 56.706, -27.423, 12.003])
SMOLVLA_SO100_STD = np.array([26.392, 52.411, 49.854, 36.998, 59.360, 19.040])
# The same stats in the current LeRobot degrees frame (backwardcomp.mdx conversion).
MEAN_DEGREES = legacy_degrees_to_degrees(SMOLVLA_SO100_MEAN_LEGACY)
# Illustrative second and third datasets, as smolvla_base keys them (so100-blue, so100-red).
OTHER_DATASETS = {"so100-blue": np.array([3.0, 2.0, -4.0, 1.5, 6.0, -1.0]),
                  "so100-red": np.array([-2.0, -3.0, 5.0, -2.5, -4.0, 2.0])}

# -- maps ------------------------------------------------------------------------------
# The LeRobot maps' numbers and TOML helpers live in pytest_so101.core.lerobot_maps, which
# also holds the bundled so101_degrees and so101_range maps written below.
# SO-100 menagerie rest keyframe qpos (the paired-poses method), sim radians, motor order.
MENAGERIE_REST = [0.0, -3.32, 3.11, 1.18, 0.0, -0.174]
# old_calib/menagerie -> new_calib offsets (docs/domain.md section 4), and pan sign reversed.
OLD_TO_NEW_DEG = np.rad2deg([0.0, -np.pi / 2, np.pi / 2, 0.0, -0.0487, 0.0])


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")




def _range_frame(cal: Calibration, mean_deg: np.ndarray, std_deg: np.ndarray):
    """Degrees-frame stats (gripper already 0..100) re-expressed in LeRobot RANGE_M100_100."""
    units = (RobotUnit.RANGE_M100_100,) * 5 + (RobotUnit.RANGE_0_100,)
    deg_only = mean_deg.copy()
    deg_only[5] = 0.0
    ticks = degrees_to_ticks(deg_only, cal, rounding=None)
    mean = ticks_to_units(ticks, cal, units, clamp=False)
    mean[5] = mean_deg[5]
    per_deg = 4095 / 360 * 200 / (cal.range_max - cal.range_min)
    std = std_deg * np.where(np.arange(N_JOINTS) < 5, per_deg, 1.0)
    sim_scale = degrees_scale() * np.where(np.arange(N_JOINTS) < 5, per_deg, 1.0)
    return mean, std, sim_scale


def build(out: Path) -> list[Path]:
    written: list[Path] = []
    cal = Calibration(CALIBRATION, source="example_arm")

    def emit(rel: str, content: str | bytes) -> None:
        _write(out / rel, content)
        written.append(out / rel)

    emit("calibration/robots/so_follower/example_arm.json",
         json.dumps(cal.to_json_dict(), indent=4) + "\n")
    emit("incidents/smolvla_short_sweep_calibration.json", json.dumps(
        Calibration(SHORT_SWEEP_CALIBRATION).to_json_dict(), indent=4) + "\n")

    f32 = np.float32
    stats = {"mean": MEAN_DEGREES, "std": SMOLVLA_SO100_STD}
    # min/max (illustrative): two stds either side, where the joint can go (degrees frame:
    # the model's limits; the gripper 0..100)
    low = np.append(SO101_NEW_CALIB_LIMITS.lower_deg[:5], 0.0)
    high = np.append(SO101_NEW_CALIB_LIMITS.upper_deg[:5], 100.0)
    emit("stats/dataset/meta/stats.json", json.dumps({
        feature: {"mean": stats["mean"].tolist(), "std": stats["std"].tolist(),
                  "min": np.round(np.maximum(stats["mean"] - 2 * stats["std"], low), 3).tolist(),
                  "max": np.round(np.minimum(stats["mean"] + 2 * stats["std"], high), 3).tolist()}
        for feature in ("observation.state", "action")}, indent=2) + "\n")
    emit("stats/plain_mean_std.json", json.dumps(
        {"mean": MEAN_DEGREES.tolist(), "std": SMOLVLA_SO100_STD.tolist()}, indent=2) + "\n")

    pre_state = "policy_preprocessor_step_3_normalizer_processor.safetensors"
    post_state = "policy_postprocessor_step_0_unnormalizer_processor.safetensors"
    features = {"observation.state": {"type": "STATE", "shape": [6]},
                "action": {"type": "ACTION", "shape": [6]}}
    norm_map = {"VISUAL": "IDENTITY", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"}
    tensors = {f"{feat}.{stat}": values.astype(f32)
               for feat in ("observation.state", "action")
               for stat, values in stats.items()}
    proc = out / "stats/policy_processor"
    proc.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(proc / pre_state))
    save_file({k: v for k, v in tensors.items() if k.startswith("action")},
              str(proc / post_state))
    written += [proc / pre_state, proc / post_state]
    steps = [{"registry_name": "rename_observations_processor", "config": {"rename_map": {}}},
             {"registry_name": "to_batch_processor", "config": {}},
             {"registry_name": "device_processor", "config": {"device": "cpu"}},
             {"registry_name": "normalizer_processor",
              "config": {"eps": 1e-8, "features": features, "norm_map": norm_map},
              "state_file": pre_state}]
    emit("stats/policy_processor/policy_preprocessor.json",
         json.dumps({"name": "policy_preprocessor", "steps": steps}, indent=2) + "\n")
    emit("stats/policy_processor/policy_postprocessor.json", json.dumps(
        {"name": "policy_postprocessor", "steps": [
            {"registry_name": "unnormalizer_processor",
             "config": {"eps": 1e-8, "features": {"action": features["action"]},
                        "norm_map": norm_map}, "state_file": post_state}]}, indent=2) + "\n")

    def legacy_buffers(datasets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Legacy ``model.safetensors`` normalization buffers; "" means unprefixed."""
        buffers = {}
        for dataset, shift in datasets.items():
            for module, feat in (("normalize_inputs", "observation_state"),
                                 ("normalize_targets", "action"),
                                 ("unnormalize_outputs", "action")):
                name = f"{dataset}_buffer_{feat}" if dataset else f"buffer_{feat}"
                buffers[f"{module}.{name}.mean"] = (SMOLVLA_SO100_MEAN_LEGACY + shift).astype(f32)
                buffers[f"{module}.{name}.std"] = SMOLVLA_SO100_STD.astype(f32)
        return buffers

    # A single-dataset legacy checkpoint: what LeRobot looks up is there.
    # A smolvla_base-like multi-dataset one: only dataset-prefixed keys, so LeRobot's
    # normalizer finds nothing and silently passes inputs through (lerobot #4415).
    for folder, datasets in (("legacy_model", {"": np.zeros(N_JOINTS)}),
                             ("multi_dataset_model",
                              {"so100": np.zeros(N_JOINTS), **OTHER_DATASETS})):
        (out / "stats" / folder).mkdir(parents=True, exist_ok=True)
        save_file(legacy_buffers(datasets), str(out / "stats" / folder / "model.safetensors"))
        written.append(out / "stats" / folder / "model.safetensors")

    range_mean, range_std, _ = _range_frame(cal, MEAN_DEGREES, SMOLVLA_SO100_STD)
    emit("stats/range_mean_std.json", json.dumps(
        {"mean": range_mean.tolist(), "std": range_std.tolist()}, indent=2) + "\n")

    ones = np.ones(N_JOINTS)
    header, gripper_note = HEADER, GRIPPER_NOTE
    for name in ("so101_degrees", "so101_range"):
        emit(f"mapping/{name}.toml", bundled_map_text(name))
    legacy_offset = [0.0, 90.0, 90.0, 0.0, 0.0, GRIPPER_PCT_AT_ZERO]
    legacy_scale = [1.0] * 5 + [GRIPPER_PCT_PER_DEG]
    legacy_direction = [1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    emit("mapping/so101_legacy_policy.toml", header + (
        "# A policy trained on LeRobot legacy-calibration data (smolvla_base so100 stats)\n"
        "# driven from the SO-101 sim: the corrected map of SmolVLA's so100 stats\n"
        "# (docs/domain.md section 4):\n"
        "# shoulder_lift_legacy = 90 - lift_deg, elbow_flex_legacy = elbow_deg + 90.\n"
        + gripper_note + '[sim]\nmodel = "so101-new-calib"\n\n')
        + map_table("sim_to_robot", from_calibration(degrees_offset()),
                     from_calibration(degrees_scale()), ones, 'units = "degrees"\n')
        + "\n" + map_table("sim_to_policy", from_calibration(legacy_offset),
                            from_calibration(legacy_scale), legacy_direction,
                            'input = "degrees"\n')
        + '\n[policy]\nframe = "lerobot-legacy-degrees"\n')
    men_direction = [-1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    men_offset = np.concatenate([-OLD_TO_NEW_DEG[:5], [GRIPPER_PCT_AT_ZERO]])
    joints = ", ".join(f'{m} = "{s}"' for m, s in zip(
        MOTOR_NAMES, ("Rotation", "Pitch", "Elbow", "Wrist_Pitch", "Wrist_Roll", "Jaw"),
        strict=True))
    emit("mapping/so100_menagerie.toml", header + (
        "# The SO-100 MuJoCo menagerie model (trs_so_arm100): joints named Rotation..Jaw,\n"
        "# zero = arm extended (old_calib frame), pan sign opposite to so101_new_calib.\n"
        "# robot_deg = deg(q) - (old - new offsets of docs/domain.md section 4).\n"
        f'[sim]\nmodel = "so100-menagerie"\njoints = {{ {joints} }}\n'
        f"# the paired-poses method: the menagerie rest keyframe is the shared reference\n"
        f"# pose, and the\n"
        f"# folded rest pose the arm lies in (the menagerie model is not shipped)\n"
        f"reference_pose = {toml_list(MENAGERIE_REST)}\n"
        f"rest_pose = {toml_list(MENAGERIE_REST)}\n\n")
        + map_table("sim_to_robot", from_calibration(men_offset),
                     from_calibration(degrees_scale()), men_direction, 'units = "degrees"\n')
        + "# the Jaw closed (0) where the rest keyframe has it, not at its -11.5 deg limit\n"
        + f"zero_at = {{ gripper = {MENAGERIE_REST[GRIPPER]:.10g} }}\n"
        + "\n# LeRobot legacy frame = arm extended = menagerie zero: only pan and lift reverse.\n"
        + map_table("sim_to_policy", from_calibration([0.0, 0.0, 0.0, 0.0,
                                                         -OLD_TO_NEW_DEG[4], 0.0]),
                     from_calibration(legacy_scale), [-1.0, -1.0, 1.0, 1.0, 1.0, 1.0],
                     'input = "degrees"\n')
        + f"zero_at = {{ gripper = {np.rad2deg(MENAGERIE_REST[GRIPPER]):.10g} }}\n"
        + '\n[policy]\nframe = "lerobot-legacy-degrees"\n')

    emit("incidents/smolvla_stats_declared_degrees.toml", header + (
        "# INCIDENT (SmolVLA's so100 stats read as degrees): smolvla_base's legacy-frame\n"
        "# stats taken for LeRobot degrees.\n"
        "# Use with --so101-stats fixtures/stats/legacy_model: must FAIL (shoulder_lift\n"
        "# mean 119.9 deg and elbow_flex 109.8 deg are outside the joint limits).\n"
        '[sim]\nmodel = "so101-new-calib"\n\n')
        + map_table("sim_to_robot", degrees_offset(), degrees_scale(), ones,
                     'units = "degrees"\n')
        + '\n[policy]\nframe = "lerobot-degrees"\n')
    emit("incidents/smolvla_offset_only_fix.toml", header + (
        "# INCIDENT (the offset-only fix of SmolVLA's so100 stats): MUJOCO_TO_PHYSICAL_OFFSET,\n"
        "# offset-only, against the\n"
        "# legacy frame. The rest pose normalizes to ~0 but shoulder_lift moves the wrong\n"
        "# way: the round-trip suite must FAIL saying its direction is reversed.\n"
        '[sim]\nmodel = "so101-new-calib"\n\n')
        + map_table("sim_to_robot", degrees_offset(), degrees_scale(), ones,
                     'units = "degrees"\n')
        + "\n" + map_table("sim_to_policy", [0.0, 120.0, 110.0, 57.0, -27.0, 12.0], ones, ones,
                            'input = "degrees"\n')
        + '\n[policy]\nframe = "lerobot-legacy-degrees"\n')
    return written


# -- the fault catalog's scenarios (docs/faults.md) --------------------------------------
# Another arm (illustrative): assembled differently, so every homing offset differs.
OTHER_ARM = {
    "shoulder_pan": MotorCalibration(1, 0, 312, 801, 3305),
    "shoulder_lift": MotorCalibration(2, 0, -1190, 915, 3191),
    "elbow_flex": MotorCalibration(3, 0, 640, 940, 3144),
    "wrist_flex": MotorCalibration(4, 0, 1020, 970, 3132),
    "wrist_roll": MotorCalibration(5, 0, -400, 0, 4095),
    "gripper": MotorCalibration(6, 0, -900, 1930, 3182),
}
# What the scripted calibration records when shoulder_pan is held at +100 deg instead of
# the middle while homing: the sweep crosses the 0/4095 seam (so101-twin serve --twin-fault
# shoulder_pan:homing=100 --calibration-out writes these numbers).
SEAM_PAN = MotorCalibration(1, 0, -362, 15, 4071)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def old_calib_model(new_calib_xml: str) -> str:
    """The embedded new-calib model re-zeroed like so101_old_calib.xml: each joint's body
    turned by -offset about its axis (z), so q_old = q_new + offset reaches the same pose;
    the upstream old-calib limits; keyframes shifted."""
    text = new_calib_xml.replace('model="so101"', 'model="so101_old_calib (generated)"')
    limits = SO101_OLD_CALIB_LIMITS
    for j, name in enumerate(MOTOR_NAMES):
        off = float(OLD_MINUS_NEW_CALIB_RAD[j])
        rng = f'range="{limits.lower_rad[j]:.5f} {limits.upper_rad[j]:.5f}"'
        text = re.sub(rf'(<joint name="{name}"[^>]*?)range="[^"]*"', rf"\1{rng}", text)
        text = re.sub(rf'(<position [^>]*joint="{name}"[^>]*?)ctrlrange="[^"]*"',
                      rf'\1ctrl{rng}', text)
        if off == 0.0:
            continue
        body = re.search(rf'<body name="[^"]*" pos="[^"]*" quat="([^"]*)">\s*'
                         rf'<joint name="{name}"', text)
        quat = np.array([float(v) for v in body.group(1).split()])
        turned = _quat_mul(quat, np.array([np.cos(-off / 2), 0.0, 0.0, np.sin(-off / 2)]))
        start, end = body.span(1)
        text = text[:start] + " ".join(f"{v:.6g}" for v in turned) + text[end:]

    def shift(match: re.Match) -> str:
        q = np.array([float(v) for v in match.group(2).split()]) + OLD_MINUS_NEW_CALIB_RAD
        q = np.clip(q, limits.lower_rad, limits.upper_rad)
        return f'{match.group(1)}"{" ".join(f"{v:.5g}" for v in q)}"'

    return re.sub(r'((?:qpos|ctrl)=)"([^"]*)"', shift, text)


def build_scenarios(out: Path, base: Path) -> list[Path]:
    """fixtures/scenarios/NAME/: each scenario's files, copied or derived from the examples."""
    written: list[Path] = []
    header = ("# Generated by scripts/make_fixtures.py for the fault catalog (docs/faults.md); "
              "do not edit.\n")
    maps = {name: (base / "mapping" / f"{name}.toml").read_text() for name in
            ("so101_degrees", "so101_range", "so101_legacy_policy")}
    incidents = {name: (base / "incidents" / f"{name}.toml").read_text() for name in
                 ("smolvla_stats_declared_degrees", "smolvla_offset_only_fix")}
    dataset = json.loads((base / "stats/dataset/meta/stats.json").read_text())
    range_stats = json.loads((base / "stats/range_mean_std.json").read_text())

    def cal_json(motors: dict) -> str:
        return json.dumps(Calibration(motors).to_json_dict(), indent=4) + "\n"

    def with_drive_mode(joint: str) -> dict:
        m = CALIBRATION[joint]
        return {**CALIBRATION, joint: MotorCalibration(m.id, 1, m.homing_offset, m.range_min,
                                                       m.range_max)}

    def replace_table(text: str, table: str, key: str, values: list[float]) -> str:
        part = text.split(f"[{table}]", 1)
        body = re.sub(rf"^{key} = \[.*\]$", f"{key} = {toml_list(values)}", part[1], count=1,
                      flags=re.M)
        return part[0] + f"[{table}]" + body

    deg_scale = degrees_scale()
    range_mapping = maps["so101_range"]
    degrees_mapping = maps["so101_degrees"]
    old_offset = from_calibration(np.concatenate(
        [0.0 - np.rad2deg(OLD_MINUS_NEW_CALIB_RAD[:5]), [0.0]]) + 0.0)
    old_reference = toml_list(OLD_MINUS_NEW_CALIB_RAD)
    old_legacy = replace_table(replace_table(
        maps["so101_legacy_policy"].replace('model = "so101-new-calib"',
                                            'model = "so101-old-calib"\n'
                                            "# the new-calib zero, as a shared reference pose\n"
                                            f"reference_pose = {old_reference}"),
        "sim_to_robot", "offset", old_offset),
        "sim_to_policy", "offset",
        from_calibration([0.0, 0.0, 0.0, 0.0, float(np.rad2deg(-OLD_MINUS_NEW_CALIB_RAD[4])),
                           0.0]))
    radians = np.concatenate([np.deg2rad(MEAN_DEGREES[:5]),
                              [(MEAN_DEGREES[5] - GRIPPER_PCT_AT_ZERO) / deg_scale[5]]])
    radians_std = SMOLVLA_SO100_STD / deg_scale
    content: dict[str, str | Path] = {
        "calibration.json": cal_json(CALIBRATION),
        "arm.json": cal_json(CALIBRATION),
        "stats": base / "stats/legacy_model",
        "mapping.toml": maps["so101_legacy_policy"],
    }
    per_scenario: dict[str, dict[str, str | Path]] = {
        "degrees_policy_on_degrees_robot": {"stats.json": json.dumps(dataset, indent=2),
                                            "mapping.toml": degrees_mapping},
        "range_policy_on_range_robot": {
            "stats.json": json.dumps({"observation.state": range_stats}, indent=2),
            "mapping.toml": range_mapping},
        "old_calib_model_old_calib_map": {"mapping.toml": old_legacy},
        "smolvla_stats_as_degrees": {"mapping.toml": incidents["smolvla_stats_declared_degrees"]},
        "smolvla_offset_only_fix": {"mapping.toml": incidents["smolvla_offset_only_fix"]},
        "degrees_policy_on_range_robot": {
            "stats.json": json.dumps(dataset, indent=2),
            "mapping.toml": range_mapping.replace('frame = "lerobot-range"',
                                                  'frame = "lerobot-degrees"')},
        "range_policy_on_degrees_robot": {
            "stats.json": json.dumps({"observation.state": range_stats}, indent=2),
            "mapping.toml": degrees_mapping.replace('frame = "lerobot-degrees"',
                                                    'frame = "lerobot-range"')},
        "radians_for_degrees_map": {
            "stats.json": json.dumps(dataset, indent=2),
            "mapping.toml": replace_table(degrees_mapping, "sim_to_robot", "scale",
                                          from_calibration([1.0] * 6))},
        "radians_for_degrees_stats": {
            "stats.json": json.dumps({"observation.state": {
                "mean": radians.tolist(), "std": radians_std.tolist()}}, indent=2),
            "mapping.toml": degrees_mapping},
        "radians_stats_gripper_percent": {
            "stats.json": json.dumps({"observation.state": {
                "mean": [*np.deg2rad(MEAN_DEGREES[:5]).tolist(), float(MEAN_DEGREES[5])],
                "std": [*np.deg2rad(SMOLVLA_SO100_STD[:5]).tolist(), float(SMOLVLA_SO100_STD[5])],
                "count": [20000]}}, indent=2),
            "mapping.toml": degrees_mapping},
        "drive_mode_on_healthy_motor": {
            "calibration.json": cal_json(with_drive_mode("wrist_flex")),
            "stats.json": json.dumps({"observation.state": range_stats}, indent=2),
            "mapping.toml": range_mapping},
        "drive_mode_ignored_in_degrees": {"calibration.json": cal_json(with_drive_mode(
            "elbow_flex"))},
        "another_arms_calibration": {"calibration.json": cal_json(OTHER_ARM)},
        "range_across_seam": {"calibration.json": cal_json({**CALIBRATION,
                                                            "shoulder_pan": SEAM_PAN})},
        "stats_keyed_per_dataset": {"stats": base / "stats/multi_dataset_model"},
        "stats_without_state": {"stats.json": json.dumps({"action": dataset["action"]},
                                                         indent=2),
                                "mapping.toml": degrees_mapping},
        "gripper_as_degrees": {
            "stats.json": json.dumps(dataset, indent=2),
            "mapping.toml": replace_table(replace_table(
                degrees_mapping, "sim_to_robot", "scale", [DEG_PER_RAD] * 6),
                "sim_to_robot", "offset", [0.0] * 6)},
    }
    model_xml = old_calib_model((Path(__file__).resolve().parents[1] /
                                 "pytest_so101/sim/so101.xml").read_text())
    for name, scenario in SCENARIOS.items():
        folder = out / name
        chosen = {**content, "model.xml": model_xml, **per_scenario.get(name, {})}
        for file in scenario.files:
            value = chosen[file]
            target = folder / file
            if isinstance(value, Path):
                for src in sorted(value.rglob("*")):
                    if src.is_file():
                        dst = target / src.relative_to(value)
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(src, dst)
                        written.append(dst)
                continue
            text = value
            if file.endswith(".toml"):
                text = header + "# scenario " + name + "\n" + text
            _write(target, text if text.endswith("\n") else text + "\n")
            written.append(target)
    return written


# -- recorded datasets (LeRobot v3.0) ---------------------------------------------------
# A teleoperated session of the example arm pair on the embedded model (illustrative:
# 4 episodes of 25 s at 30 fps), written three ways. The truth each one carries is in its
# meta/so101_truth.json, for the tests: no check reads that file.
DRIFT_JOINT, DRIFT_DEG = "elbow_flex", 17.0      # lerobot #3758's 17 deg on one joint


def build_datasets(out: Path) -> list[Path]:
    recording = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=4, seconds=25.0, seed=101,
                                 reach=0.7)
    degrees = JointMap(degrees_offset(), degrees_scale(), np.ones(N_JOINTS),
                       name="sim->lerobot-degrees")
    # as LeRobot's bus reports them: whole ticks in degrees, the gripper's in 0..100 of the
    # example arm's calibrated sweep
    gripper_sweep = CALIBRATION["gripper"].range_max - CALIBRATION["gripper"].range_min
    steps = np.array([tick_step(RobotUnit.DEGREES)] * (N_JOINTS - 1)
                     + [tick_step(RobotUnit.RANGE_0_100, gripper_sweep)])
    state = read_through(recording.follower_rad, degrees, steps)
    action = read_through(recording.leader_rad, degrees, steps)
    drifted = action.copy()
    drifted[:, MOTOR_NAMES.index(DRIFT_JOINT)] += DRIFT_DEG
    radians = JointMap.identity("sim radians")
    sets = {
        "healthy": (state, action, {"frame": "lerobot-degrees", "rest_offset_deg": {}}),
        "drifted_joint": (state, drifted, {"frame": "lerobot-degrees",
                                           "rest_offset_deg": {DRIFT_JOINT: DRIFT_DEG}}),
        "radians": (read_through(recording.follower_rad, radians),
                    read_through(recording.leader_rad, radians),
                    {"frame": "sim radians (MuJoCo qpos)", "rest_offset_deg": {}}),
    }
    written = []
    for name, (obs, act, truth) in sets.items():
        root = out / name
        if root.exists():
            shutil.rmtree(root)             # generated entirely
        write_dataset(root, obs, act, recording.episode, recording.fps)
        _write(root / "meta" / "so101_truth.json", json.dumps(truth, indent=4) + "\n")
        written += sorted(p for p in root.rglob("*") if p.is_file())
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] /
                        "fixtures")
    args = parser.parse_args()
    written = build(args.out)
    scenarios = args.out / "scenarios"
    if scenarios.exists():
        shutil.rmtree(scenarios)            # generated entirely: no stale scenario survives
    written += build_scenarios(scenarios, args.out)
    written += build_datasets(args.out / "datasets")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
