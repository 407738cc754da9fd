"""Detection and false-alarm rates of the fault catalog (docs/faults.md).

    python benchmarks/fault_catalog.py [--configs 200] [--seed 0] [--twin]

Static part (what ``so101-diagnose`` and ``suites/test_configuration.py`` run, through
:func:`pytest_so101.diagnosis.diagnose`): random *correct* configurations (a random arm's
calibration as LeRobot records it, the true sim -> robot map of that arm in one of three
policy frames, stats recorded from random motion through the true chain), then the same
kind of configuration with each catalog fault injected. A fault counts as detected when
at least one check fails, as attributed when the check the catalog names fails.

Twin part (``--twin``; about 3 minutes): the suites on the MuJoCo twin with each
physical fault on every joint, and random correct arms (false alarms).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from pytest_so101.calibration import Calibration, MotorCalibration
from pytest_so101.chain import robot_to_policy_map
from pytest_so101.diagnosis import diagnose
from pytest_so101.frames import (
    RESOLUTION,
    TICKS_PER_RAD,
    PolicyFrame,
    RobotUnit,
    expand_units,
    ticks_to_units,
)
from pytest_so101.joints import (
    GRIPPER,
    MOTOR_NAMES,
    N_JOINTS,
    SO101_NEW_CALIB_LIMITS,
    SO101_OLD_CALIB_LIMITS,
    WRIST_ROLL,
)
from pytest_so101.mapping import RAD_TO_DEG, JointMap, MappingFile
from pytest_so101.stats import NormStats
from pytest_so101.tolerances import Tolerances

REPO = Path(__file__).resolve().parents[1]
LIMITS = SO101_NEW_CALIB_LIMITS
TOLERANCES = Tolerances()
FRAMES = (PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_RANGE,
          PolicyFrame.LEROBOT_LEGACY_DEGREES)


# -- a random correct configuration ----------------------------------------------------------

def random_arm(rng: np.random.Generator) -> tuple[Calibration, np.ndarray]:
    """A calibration as LeRobot records it, and the pose (sim rad) held while homing: held
    within 10 deg of the middle, the sweep stopping 0..12 deg short of each model limit."""
    held = np.deg2rad(rng.uniform(-10, 10, N_JOINTS))
    motors = {}
    for j, name in enumerate(MOTOR_NAMES):
        homing = int(rng.integers(-1800, 1801))
        if j == WRIST_ROLL:
            low, high = 0, RESOLUTION - 1
        else:
            short = np.deg2rad(rng.uniform(0, 12, 2))
            low = int(np.rint(2047 + (LIMITS.lower_rad[j] + short[0] - held[j]) * TICKS_PER_RAD))
            high = int(np.rint(2047 + (LIMITS.upper_rad[j] - short[1] - held[j]) * TICKS_PER_RAD))
        motors[name] = MotorCalibration(j + 1, 0, homing, low, high)
    return Calibration(motors, source="random arm"), held


def true_sim_to_robot(cal: Calibration, held: np.ndarray, units: tuple[RobotUnit, ...]
                      ) -> JointMap:
    """sim rad -> robot units of this arm: the held pose reads 2047, one tick per tick."""
    def robot(q: np.ndarray) -> np.ndarray:
        ticks = 2047 + (q - held) * TICKS_PER_RAD
        return ticks_to_units(ticks, cal, units, clamp=False)

    at_zero = robot(np.zeros(N_JOINTS))
    return JointMap.from_affine(robot(np.ones(N_JOINTS)) - at_zero, at_zero,
                                name="sim_to_robot")


def recorded_stats(rng: np.random.Generator, sim_to_policy: JointMap, frame: PolicyFrame,
                   n: int = 400) -> NormStats:
    """Stats of random motion: each joint around a random point of its range. The spans
    follow smolvla_base's so100 stats (seed 000): stds of 12..26 % of each joint's range,
    means up to 60 % of the half range away from its middle (wrist_flex)."""
    middle = (LIMITS.lower_rad + LIMITS.upper_rad) / 2
    width = LIMITS.upper_rad - LIMITS.lower_rad
    mean = middle + rng.uniform(-0.6, 0.6, N_JOINTS) * width / 2
    std = rng.uniform(0.1, 0.3, N_JOINTS) * width
    q = np.clip(rng.normal(mean, std, (n, N_JOINTS)), LIMITS.lower_rad, LIMITS.upper_rad)
    x = sim_to_policy.apply(q)
    return NormStats("observation.state", x.mean(axis=0), x.std(axis=0),
                     source=f"random dataset ({frame.value})", key="observation.state",
                     min=x.min(axis=0), max=x.max(axis=0), runtime_key="observation.state")


def correct_config(rng: np.random.Generator, frame: PolicyFrame) -> dict:
    cal, held = random_arm(rng)
    units = expand_units("range_m100_100" if frame is PolicyFrame.LEROBOT_RANGE else "degrees")
    sim_to_robot = true_sim_to_robot(cal, held, units)
    chain = sim_to_robot.then(robot_to_policy_map(units, frame, cal))
    sim_to_policy = JointMap(chain.offset, chain.scale, chain.direction, name="sim_to_policy") \
        if frame.legacy else None
    mapping = MappingFile("random mapping", sim_to_robot=sim_to_robot, robot_units=units,
                          sim_to_policy=sim_to_policy, policy_frame=frame)
    return {"calibration": cal, "mapping": mapping, "limits": LIMITS,
            "stats": recorded_stats(rng, chain, frame), "held": held, "units": units}


# -- the faults, injected into a correct configuration ---------------------------------------

def _map(m: JointMap, **changes) -> JointMap:
    return JointMap(changes.get("offset", m.offset), changes.get("scale", m.scale),
                    changes.get("direction", m.direction), name=m.name)


def legacy_declared_degrees(rng, c):          # seed 000
    return {**c, "mapping": replace(c["mapping"], sim_to_policy=None,
                                    policy_frame=PolicyFrame.LEROBOT_DEGREES)}


def offset_only(rng, c):                       # seed 000's fix
    at_zero = c["mapping"].sim_to_policy.apply(np.zeros(N_JOINTS))
    offset_map = JointMap(at_zero, np.full(N_JOINTS, RAD_TO_DEG), np.ones(N_JOINTS),
                          name="sim_to_policy")
    return {**c, "mapping": replace(c["mapping"], sim_to_policy=offset_map)}


def robot_in_other_units(rng, c):              # use_degrees flipped on the robot
    frame = c["mapping"].policy_frame
    units = expand_units("degrees" if frame is PolicyFrame.LEROBOT_RANGE else "range_m100_100")
    return {**c, "mapping": replace(c["mapping"], robot_units=units,
                                    sim_to_robot=true_sim_to_robot(c["calibration"], c["held"],
                                                                   units))}


def radians_in_map(rng, c):
    m = c["mapping"].sim_to_robot
    scale = m.scale.copy()
    scale[:5] /= RAD_TO_DEG
    return {**c, "mapping": replace(c["mapping"], sim_to_robot=_map(m, scale=scale))}


def radians_in_stats(rng, c):
    s = c["stats"]
    back = c["mapping"].sim_to_robot.inverse()
    ends = np.sort(back.apply(np.stack([s.min, s.max])), axis=0)
    return {**c, "stats": replace(s, mean=back.apply(s.mean), std=s.std / c[
        "mapping"].sim_to_robot.scale, min=ends[0], max=ends[1])}


def gripper_as_degrees(rng, c):
    m = c["mapping"].sim_to_robot
    scale, offset = m.scale.copy(), m.offset.copy()
    scale[GRIPPER], offset[GRIPPER] = RAD_TO_DEG, 0.0
    return {**c, "mapping": replace(c["mapping"], sim_to_robot=_map(m, scale=scale,
                                                                    offset=offset))}


def old_calib_model(rng, c):
    return {**c, "limits": SO101_OLD_CALIB_LIMITS}


def seam(rng, c):
    j = int(rng.integers(0, 4))                # a joint LeRobot sweeps (not wrist_roll)
    joint = MOTOR_NAMES[j]
    m = c["calibration"].motors[joint]
    motors = {**c["calibration"].motors, joint: replace(
        m, range_min=int(rng.integers(0, 60)), range_max=int(rng.integers(4036, 4096)))}
    return {**c, "calibration": Calibration(motors, source="random arm")}


def drive_mode_in_degrees(rng, c):
    joint = MOTOR_NAMES[int(rng.integers(0, 5))]
    motors = {**c["calibration"].motors,
              joint: replace(c["calibration"].motors[joint], drive_mode=1)}
    return {**c, "calibration": Calibration(motors, source="random arm")}


def per_dataset_keys(rng, c):
    return {**c, "stats": replace(c["stats"], runtime_key_present=False,
                                  available=("so100.observation.state",))}


#: entry -> (frames it applies to, injection, the check titles that must catch it)
FAULTS = {
    "stats-outside-limits": ((PolicyFrame.LEROBOT_LEGACY_DEGREES,), legacy_declared_degrees,
                             ("stats frame", "stats mean in limits (reference chain)",
                              "stats min/max in limits (reference chain)")),
    "offset-only-fix": ((PolicyFrame.LEROBOT_LEGACY_DEGREES,), offset_only,
                        ("sim_to_policy vs reference chain",)),
    "units-mismatch": ((PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_RANGE),
                       robot_in_other_units, ("robot units vs policy frame",)),
    "radians-for-degrees (map)": (FRAMES, radians_in_map, ("sim_to_robot scale",)),
    "radians-for-degrees (stats)": ((PolicyFrame.LEROBOT_DEGREES,), radians_in_stats,
                                    ("stats frame",)),
    "mirrored-motor (drive_mode with degrees)": (
        (PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_LEGACY_DEGREES),
        drive_mode_in_degrees, ("drive modes",)),
    "seam": (FRAMES, seam, ("calibrated ranges",)),
    "stats-key": (FRAMES, per_dataset_keys, ("stats key",)),
    "old-calib-model": (FRAMES, old_calib_model, ("model vs mapping",)),
    "gripper-as-degrees": ((PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_LEGACY_DEGREES),
                           gripper_as_degrees, ("sim_to_robot scale",)),
}


def judge(c: dict) -> set[str]:
    """Titles of the checks that fail (or cannot run although they should)."""
    results = diagnose(calibration=c["calibration"], stats=c["stats"], mapping=c["mapping"],
                       limits=c["limits"], tolerances=TOLERANCES)
    return {r.title for r in results if not r.ok}


#: The check that assumes the dataset was recorded around the reference pose.
HEURISTIC = "reference pose normalizes near 0"


def _firm(failed: set[str]) -> set[str]:
    return {t for t in failed if not t.startswith(HEURISTIC)}


def static_rates(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    correct = defaultdict(lambda: [0, 0, 0])
    alarms: dict[str, int] = defaultdict(int)
    for i in range(n):
        frame = FRAMES[i % len(FRAMES)]
        failed = judge(correct_config(rng, frame))
        row = correct[frame.value]
        row[0] += 1
        row[1] += bool(failed)
        row[2] += bool(_firm(failed))
        for title in failed:
            alarms[title] += 1
    faults = {}
    for entry, (frames, inject, catchers) in FAULTS.items():
        detected = firm = attributed = 0
        for i in range(n):
            failed = judge(inject(rng, correct_config(rng, frames[i % len(frames)])))
            detected += bool(failed)
            firm += bool(_firm(failed))
            attributed += bool(failed & set(catchers))
        faults[entry] = {"variants": n, "detected": detected,
                         "detected_without_heuristic": firm, "attributed": attributed}
    return {"correct": {k: {"configs": v[0], "false_alarms": v[1],
                            "false_alarms_without_heuristic": v[2]}
                        for k, v in correct.items()},
            "false_alarm_checks": dict(alarms), "faults": faults}


# -- the twin ------------------------------------------------------------------------------------

def twin_arm(rng: np.random.Generator) -> Calibration:
    """A correctly calibrated arm of the twin's world: random homing offsets, the sweep
    reaching the model's limits (where the twin's rest keyframe puts the arm)."""
    motors = {}
    for j, name in enumerate(MOTOR_NAMES):
        half = (LIMITS.upper_rad[j] - LIMITS.lower_rad[j]) / 2 * TICKS_PER_RAD
        low, high = (0, RESOLUTION - 1) if j == WRIST_ROLL else (
            int(np.rint(2047 - half)), int(np.rint(2047 + half)))
        motors[name] = MotorCalibration(j + 1, 0, int(rng.integers(-1800, 1801)), low, high)
    return Calibration(motors, source="random twin arm")


def run_suites(args: list[str]) -> tuple[int, str]:
    files = ["--so101-mapping", str(REPO / "fixtures/mapping/so101_legacy_policy.toml"),
             "--so101-stats", str(REPO / "fixtures/stats/legacy_model")]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:html", "-p", "no:randomly",
                           str(REPO / "suites/test_hil.py"), str(REPO / "suites/test_rest_pose.py"),
                           str(REPO / "suites/test_configuration.py"), *files, *args,
                           "--so101-report", tempfile.mkdtemp()],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    return proc.returncode, proc.stdout


def twin_rates(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    arm = REPO / "fixtures/calibration/robots/so_follower/example_arm.json"
    cases: list[tuple[str, str, list[str]]] = []
    for joint in MOTOR_NAMES:
        cases += [("mirrored-motor", "jog response error", ["--so101-twin-fault", f"{joint}:mirror",
                   "--so101-calibration", str(arm), "-k", "jog"]),
                  ("stale-calibration (horn re-seated 1 tooth)", "reading vs observed pose",
                   ["--so101-twin-fault", f"{joint}:reseat", "--so101-calibration", str(arm),
                    "-k", "observed"]),
                  ("stale-calibration (slipped 30 ticks, 2.6 deg)", "reading vs observed pose",
                   ["--so101-twin-fault", f"{joint}:stale=30", "--so101-calibration", str(arm),
                    "-k", "observed"])]
    for joint, deg in (("shoulder_pan", 100), ("shoulder_pan", -100), ("shoulder_lift", 95),
                       ("elbow_flex", -95), ("wrist_flex", 90)):
        cases.append(("seam (held off-centre while homing)", "calibrated range width",
                      ["--so101-twin-fault", f"{joint}:homing={deg}", "-k",
                       "range_fits or observed"]))
    tmp = Path(tempfile.mkdtemp())
    for i in range(3):
        other, _ = random_arm(rng)
        path = tmp / f"other_{i}.json"
        path.write_text(json.dumps(other.to_json_dict(), indent=4))
        cases.append(("another-arm", "servo homing_offset - file",
                      ["--so101-calibration", str(path), "--so101-twin-arm", str(arm),
                       "-k", "registers"]))
    correct = []
    for i in range(5):
        mine = twin_arm(rng)
        path = tmp / f"arm_{i}.json"
        path.write_text(json.dumps(mine.to_json_dict(), indent=4))
        correct.append(["--so101-calibration", str(path)])
    correct.append([])                         # the twin calibrating itself
    out: dict = {"faults": defaultdict(lambda: {"variants": 0, "detected": 0, "attributed": 0}),
                 "correct": {"configs": 0, "false_alarms": 0, "failures": []}}
    for entry, check, args in cases:
        code, text = run_suites(args)
        row = out["faults"][entry]
        row["variants"] += 1
        row["detected"] += code == 1
        row["attributed"] += code == 1 and f": {check} =" in text
    for args in correct:
        code, text = run_suites(args)
        out["correct"]["configs"] += 1
        if code != 0:
            out["correct"]["false_alarms"] += 1
            out["correct"]["failures"].append(
                [line for line in text.splitlines() if "FAIL:" in line][:3])
    out["faults"] = dict(out["faults"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=200,
                        help="random configurations per fault, and correct ones")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--twin", action="store_true", help="also run the suites on the twin")
    parser.add_argument("--tolerance-z", type=float, default=Tolerances.z)
    args = parser.parse_args()
    global TOLERANCES
    TOLERANCES = Tolerances(z=args.tolerance_z)
    result = {"static": static_rates(args.configs, args.seed)}
    if args.twin:
        result["twin"] = twin_rates(args.seed)
    print(json.dumps(result, indent=2))
    faults = {**result["static"]["faults"], **result.get("twin", {}).get("faults", {})}
    total = sum(f["variants"] for f in faults.values())
    print(f"\ndetected {sum(f['detected'] for f in faults.values())}/{total}, attributed "
          f"{sum(f['attributed'] for f in faults.values())}/{total}", file=sys.stderr)


if __name__ == "__main__":
    main()
