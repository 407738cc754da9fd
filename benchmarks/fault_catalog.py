"""Detection and false-alarm rates of every check of the fault catalog (docs/faults.md).

    python benchmarks/fault_catalog.py [--configs 300] [--seed 0] [--twin] [--json]

Static part (the checks of the files, ``checks.catalog.FILE_CHECKS``, which the suites and
``so101-diagnose`` run): random *correct* configurations (a random arm's calibration as
LeRobot records it, the true sim -> robot map of that arm in one of three policy frames,
stats recorded from random motion through the true chain: half spread over the range,
half an arm parked off-centre with small spreads), then the same kind of configuration
with each catalog fault injected. Per check: how often it fails a correct configuration
(false alarms, must be 0) and how often it fails each fault (detection).

Twin part (``--twin``; a few minutes): the suites on the MuJoCo twin, the physical faults
on every joint they apply to and random correct arms (false alarms); per check, read off
the suites' one-line failures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from pytest_so101.checks.base import Inputs, run_checks
from pytest_so101.checks.catalog import FILE_CHECKS as CHECKS
from pytest_so101.core.calibration import Calibration, MotorCalibration
from pytest_so101.core.chain import robot_to_policy_map
from pytest_so101.core.frames import (
    RESOLUTION,
    TICKS_PER_RAD,
    PolicyFrame,
    RobotUnit,
    expand_units,
    ticks_to_units,
)
from pytest_so101.core.joints import (
    GRIPPER,
    MOTOR_NAMES,
    N_JOINTS,
    SO101_NEW_CALIB_LIMITS,
    SO101_OLD_CALIB_LIMITS,
    WRIST_ROLL,
)
from pytest_so101.core.mapping import RAD_TO_DEG, JointMap, MappingFile
from pytest_so101.core.stats import NormStats
from pytest_so101.core.tolerances import Tolerances

REPO = Path(__file__).resolve().parents[1]
LIMITS = SO101_NEW_CALIB_LIMITS
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
                   parked: bool) -> NormStats:
    """Stats of recorded motion through the true chain. Spread: each joint around a random
    point of its range with stds of 10..30 % of the range (smolvla_base's so100 stats span
    12..26 %). Parked: an arm held off-centre, anywhere in the range, stds of 1..5 %."""
    middle = (LIMITS.lower_rad + LIMITS.upper_rad) / 2
    width = LIMITS.upper_rad - LIMITS.lower_rad
    if parked:
        mean = rng.uniform(LIMITS.lower_rad + 0.1 * width, LIMITS.upper_rad - 0.1 * width)
        std = rng.uniform(0.01, 0.05, N_JOINTS) * width
        n = int(rng.integers(2000, 50_000))
    else:
        mean = middle + rng.uniform(-0.6, 0.6, N_JOINTS) * width / 2
        std = rng.uniform(0.1, 0.3, N_JOINTS) * width
        n = int(rng.integers(1000, 20_000))
    q = np.clip(rng.normal(mean, std, (min(n, 4000), N_JOINTS)), LIMITS.lower_rad,
                LIMITS.upper_rad)
    x = sim_to_policy.apply(q)
    return NormStats("observation.state", x.mean(axis=0), x.std(axis=0),
                     source=f"random dataset ({frame.value})", key="observation.state",
                     min=x.min(axis=0), max=x.max(axis=0), runtime_key="observation.state",
                     count=n)


def correct_config(rng: np.random.Generator, frame: PolicyFrame, parked: bool) -> dict:
    cal, held = random_arm(rng)
    units = expand_units("range_m100_100" if frame is PolicyFrame.LEROBOT_RANGE else "degrees")
    sim_to_robot = true_sim_to_robot(cal, held, units)
    chain = sim_to_robot.then(robot_to_policy_map(units, frame, cal))
    sim_to_policy = JointMap(chain.offset, chain.scale, chain.direction, name="sim_to_policy") \
        if frame.legacy else None
    mapping = MappingFile("random mapping", sim_to_robot=sim_to_robot, robot_units=units,
                          sim_to_policy=sim_to_policy, policy_frame=frame)
    return {"calibration": cal, "mapping": mapping, "limits": LIMITS,
            "stats": recorded_stats(rng, chain, frame, parked), "held": held, "units": units}


# -- the faults, injected into a correct configuration ---------------------------------------

def _map(m: JointMap, **changes) -> JointMap:
    return JointMap(changes.get("offset", m.offset), changes.get("scale", m.scale),
                    changes.get("direction", m.direction), name=m.name)


def legacy_declared_degrees(rng, c):          # SmolVLA's so100 stats read as degrees
    return {**c, "mapping": replace(c["mapping"], sim_to_policy=None,
                                    policy_frame=PolicyFrame.LEROBOT_DEGREES)}


def offset_only(rng, c):                       # the offset-only fix of SmolVLA's stats
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
    """A simulator's qpos written as the dataset: every joint in sim radians."""
    s = c["stats"]
    back = c["mapping"].sim_to_robot.inverse()
    ends = np.sort(back.apply(np.stack([s.min, s.max])), axis=0)
    return {**c, "stats": replace(s, mean=back.apply(s.mean), std=s.std / c[
        "mapping"].sim_to_robot.scale, min=ends[0], max=ends[1])}


def radians_in_stats_gripper_percent(rng, c):
    """LeRobot degrees written in radians, the gripper still 0..100."""
    s = c["stats"]
    to_rad = np.where(np.arange(N_JOINTS) == GRIPPER, 1.0, 1 / RAD_TO_DEG)
    return {**c, "stats": replace(s, mean=s.mean * to_rad, std=s.std * to_rad,
                                  min=s.min * to_rad, max=s.max * to_rad)}


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


#: entry -> (frames it applies to, injection, the checks named to catch it)
FAULTS = {
    "stats-outside-limits": ((PolicyFrame.LEROBOT_LEGACY_DEGREES,), legacy_declared_degrees,
                             ("stats-frame", "stats-mean-in-limits-reference",
                              "stats-extremes-in-limits-reference")),
    "offset-only-fix": ((PolicyFrame.LEROBOT_LEGACY_DEGREES,), offset_only,
                        ("sim-to-policy-vs-reference",)),
    "units-mismatch": ((PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_RANGE),
                       robot_in_other_units, ("robot-units-vs-policy-frame",)),
    "radians-for-degrees (map)": (FRAMES, radians_in_map, ("sim-to-robot-scale",)),
    "radians-for-degrees (stats, sim qpos)": ((PolicyFrame.LEROBOT_DEGREES,), radians_in_stats,
                                              ("stats-frame",)),
    "radians-for-degrees (stats, gripper 0..100)": (
        (PolicyFrame.LEROBOT_DEGREES,), radians_in_stats_gripper_percent,
        ("stats-frame", "stats-spread")),
    "mirrored-motor (drive_mode with degrees)": (
        (PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_LEGACY_DEGREES),
        drive_mode_in_degrees, ("drive-mode",)),
    "seam": (FRAMES, seam, ("calibrated-range",)),
    "stats-key": (FRAMES, per_dataset_keys, ("stats-key",)),
    "old-calib-model": (FRAMES, old_calib_model, ("model-vs-mapping",)),
    "gripper-as-degrees": ((PolicyFrame.LEROBOT_DEGREES, PolicyFrame.LEROBOT_LEGACY_DEGREES),
                           gripper_as_degrees, ("sim-to-robot-scale",)),
}


def judge(c: dict, tolerances: Tolerances) -> set[str]:
    """Names of the checks that fail (a firm failure: advisory checks never fail). The
    model in use is a file (an MJCF), so the model check runs too."""
    results = run_checks(Inputs(c["calibration"], c["stats"], c["mapping"], c["limits"],
                                tolerances), CHECKS)
    return {r.check.name for r in results if not r.ok}


DATASETS = ("spread", "parked")


def static_rates(n: int, seed: int, tolerances: Tolerances) -> dict:
    """``n`` configurations of each dataset kind (spread, parked): correct ones, then with
    each fault injected."""
    rng = np.random.default_rng(seed)
    names = [c.name for c in CHECKS]
    alarms = dict.fromkeys(names, 0)
    for kind in DATASETS:
        for i in range(n):
            config = correct_config(rng, FRAMES[i % len(FRAMES)], kind == "parked")
            for name in judge(config, tolerances):
                alarms[name] += 1
    faults = {}
    for entry, (frames, inject, catchers) in FAULTS.items():
        by_check = dict.fromkeys(names, 0)
        row = {"variants": n, "named_checks": list(catchers)}
        for kind in DATASETS:
            detected = attributed = 0
            for i in range(n):
                config = correct_config(rng, frames[i % len(frames)], kind == "parked")
                failed = judge(inject(rng, config), tolerances)
                detected += bool(failed)
                attributed += bool(failed & set(catchers))
                for name in failed:
                    by_check[name] += 1
            row[kind] = {"detected": detected, "attributed": attributed}
        faults[entry] = {**row, "by_check": {k: v for k, v in by_check.items() if v}}
    return {"correct": {"configs": 2 * n, "false_alarms_by_check": alarms}, "faults": faults}


# -- the twin ------------------------------------------------------------------------------------

FAIL_LINE = re.compile(r"^(\w+): (.+?) = .* FAIL")


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


def run_suites(args: list[str], serve: list[str] | None = None
               ) -> tuple[int, dict[str, set[str]]]:
    """The suites on the twin; exit code and the failing checks with their joints. With
    ``serve`` (``so101-twin serve`` options), on the hardware path against that twin,
    started at rest, motion allowed."""
    if serve is not None:
        from pytest_so101.bus.process import EmulatorProcess

        with EmulatorProcess(*serve, "--start", "rest") as twin:
            return run_suites([*args, "--hardware", "--so101-port", twin.port,
                               "--allow-motion"])
    files = ["--so101-mapping", str(REPO / "fixtures/mapping/so101_legacy_policy.toml"),
             "--so101-stats", str(REPO / "fixtures/stats/legacy_model")]
    suites = [str(REPO / "suites" / f) for f in ("test_hil.py", "test_rest_pose.py",
                                                  "test_configuration.py", "test_gravity.py",
                                                  "test_guided.py")]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:html", "-p", "no:randomly", *suites, *files, *args,
                           "--so101-guided", "--so101-report", tempfile.mkdtemp()],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    failing: dict[str, set[str]] = defaultdict(set)
    for line in proc.stdout.splitlines():
        match = FAIL_LINE.match(line)
        if match and match.group(1) in MOTOR_NAMES:
            failing[match.group(2)].add(match.group(1))
    return proc.returncode, failing


def twin_rates(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    tmp = Path(tempfile.mkdtemp())
    arm = REPO / "fixtures/calibration/robots/so_follower/example_arm.json"
    user = tmp / "example_arm_as_the_user_has_it.json"
    user.write_bytes(arm.read_bytes())
    on_arm = ["--so101-calibration", str(user), "--so101-twin-arm", str(arm)]
    cases: list[tuple[str, str, str, list[str]]] = []
    for joint in MOTOR_NAMES:
        cases += [("mirrored-motor", joint, "gravity load direction|guided move, the asked way",
                   ["--so101-twin-fault", f"{joint}:mirror", *on_arm]),
                  ("stale-calibration (horn re-seated 1 tooth)", joint,
                   "reading vs observed pose|rest reading vs mapped rest pose",
                   ["--so101-twin-fault", f"{joint}:reseat", *on_arm]),
                  ("stale-calibration (slipped 30 ticks, 2.6 deg)", joint,
                   "reading vs observed pose|rest reading vs mapped rest pose",
                   ["--so101-twin-fault", f"{joint}:stale=30", *on_arm])]
    for joint, deg in (("shoulder_pan", 100), ("shoulder_pan", -100), ("shoulder_lift", 95),
                       ("elbow_flex", -95), ("wrist_flex", 90)):
        cases.append(("seam (held off-centre while homing)", joint, "calibrated range width",
                      ["--so101-twin-fault", f"{joint}:homing={deg}"]))
    for i in range(3):
        other, _ = random_arm(rng)
        path = tmp / f"other_{i}.json"
        path.write_text(json.dumps(other.to_json_dict(), indent=4))
        cases.append(("another-arm", "any", "servo homing_offset - file",
                      ["--so101-calibration", str(path), "--so101-twin-arm", str(arm)]))
    # correct arms: random arms served as real ones (their file is the one LeRobot wrote on
    # them: a twin arm holding the same values would agree by construction), checked on
    # the hardware path (rest pose, gravity, tracking); and the twin calibrating itself
    correct: list[tuple[list[str], list[str] | None]] = []
    for i in range(5):
        mine = json.dumps(twin_arm(rng).to_json_dict(), indent=4)
        (tmp / f"arm_{i}.json").write_text(mine)
        correct.append((["--so101-calibration", str(tmp / f"arm_{i}.json")],
                        ["--calibration", str(tmp / f"arm_{i}.json")]))
    correct.append(([], None))
    out: dict = {"faults": defaultdict(lambda: {"variants": 0, "detected": 0, "attributed": 0,
                                                 "by_check": defaultdict(int)}),
                 "correct": {"configs": 0, "false_alarms_by_check": defaultdict(int),
                             "failed_runs": 0}}
    for entry, joint, named, args in cases:
        if joint == "wrist_roll" and entry == "mirrored-motor":
            named = "guided move, the asked way"      # gravity does not load wrist_roll
        code, failing = run_suites(args)
        row = out["faults"][entry]
        row["variants"] += 1
        row["detected"] += code == 1
        row["attributed"] += code == 1 and any(
            re.fullmatch(named, check) and (joint == "any" or joint in joints)
            for check, joints in failing.items())
        for check in failing:
            row["by_check"][check] += 1
    for args, serve in correct:
        code, failing = run_suites(args, serve)
        out["correct"]["configs"] += 1
        out["correct"]["failed_runs"] += code != 0
        for check in failing:
            out["correct"]["false_alarms_by_check"][check] += 1
    out["faults"] = {k: {**v, "by_check": dict(v["by_check"])} for k, v in out["faults"].items()}
    out["correct"]["false_alarms_by_check"] = dict(out["correct"]["false_alarms_by_check"])
    return out


# -- printing ------------------------------------------------------------------------------------

def static_table(result: dict) -> str:
    n = result["correct"]["configs"]
    faults = result["faults"]
    short = {entry: f"F{i + 1}" for i, entry in enumerate(faults)}
    lines = ["Faults: " + "; ".join(f"{code} {entry}" for entry, code in short.items()), "",
             "| check | false alarms | " + " | ".join(short.values()) + " |",
             "|---|---:|" + "---:|" * len(short)]
    for check in CHECKS:
        row = [str(faults[e]["by_check"].get(check.name, 0)) for e in faults]
        lines.append(f"| {check.name}{'' if check.firm else ' (advisory)'} | "
                     f"{result['correct']['false_alarms_by_check'][check.name]}/{n} | "
                     + " | ".join(row) + " |")
    lines += ["", "| fault | spread datasets: detected | by the named check | parked datasets: "
              "detected | by the named check |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {e} | {f['spread']['detected']}/{f['variants']} | "
              f"{f['spread']['attributed']}/{f['variants']} | {f['parked']['detected']}/"
              f"{f['variants']} | {f['parked']['attributed']}/{f['variants']} |"
              for e, f in faults.items()]
    return "\n".join(lines)


def twin_table(result: dict) -> str:
    lines = ["| twin fault | variants | detected | by the named check | failing checks |",
             "|---|---:|---:|---:|---|"]
    for entry, f in result["faults"].items():
        checks = ", ".join(f"{k} {v}" for k, v in sorted(f["by_check"].items()))
        lines.append(f"| {entry} | {f['variants']} | {f['detected']} | {f['attributed']} | "
                     f"{checks} |")
    c = result["correct"]
    alarms = ", ".join(f"{k} {v}" for k, v in c["false_alarms_by_check"].items()) or "none"
    lines += ["", f"Correct twin arms: {c['configs']}, runs that failed: {c['failed_runs']}, "
              f"false alarms by check: {alarms}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=300,
                        help="random configurations of each dataset kind (spread, parked), "
                        "correct and per fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--twin", action="store_true", help="also run the suites on the twin")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--tolerance-z", type=float, default=Tolerances.z)
    args = parser.parse_args()
    tolerances = Tolerances(z=args.tolerance_z)
    result = {"static": static_rates(args.configs, args.seed, tolerances)}
    if args.twin:
        result["twin"] = twin_rates(args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Static: {args.configs} correct configurations with datasets spread over the "
              f"range and {args.configs} with the arm parked off-centre (the three frames in "
              f"turn), and as many of each fault; seed {args.seed}\n")
        print(static_table(result["static"]))
        if args.twin:
            print("\nTwin: the suites on the MuJoCo twin (with --so101-guided)\n")
            print(twin_table(result["twin"]))
    alarms = sum(result["static"]["correct"]["false_alarms_by_check"].values())
    if alarms:
        print(f"\nFALSE ALARMS: {alarms}", file=sys.stderr)


if __name__ == "__main__":
    main()
