"""A real arm's safety around the evidence: detection, naming and the largest motion.

    python benchmarks/safety_runs.py [--only NAME ...] [--json]

Each arm is the MuJoCo twin served as a real one (``so101-twin serve``, its pty, the
unmodified scservo_sdk on both sides), folded at rest unless the case says otherwise; the
suites run on it as a user with a real arm runs them (``pytest suites --hardware
--so101-port PTY --so101-calibration FILE --so101-mapping so101_degrees.toml
--allow-motion``, no terminal: nobody to confirm a joint's direction), while the twin's
true joint angles are watched every 10 ms through its control socket.

Per arm: whether the run failed (caught; a correct arm must pass), whether the failure
names what is wrong (the joint, or the arm as a whole, with the cause's words), and the
largest true motion (deg) of the joints that must not move: the faulty joint, every
joint when the arm as a whole failed, shoulder_pan and wrist_roll without a person. The
correct arms are the twin's own calibration and the published followers' calibrations
in ``fixtures/real`` (the twin built to be the arm each file describes).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.core.joints import MOTOR_NAMES

REPO = Path(__file__).resolve().parents[1]
MAPPING = REPO / "fixtures" / "mapping" / "so101_degrees.toml"
REAL = REPO / "fixtures" / "real" / "calibration"
REAL_FOLLOWERS = ("01_Sachin-2007_oc_models_so101_follower.json",
                  "02_kevin010717_mylerobot_so101_follower.json",
                  "03_pgq18_Tools_so101_follower.json",
                  "04_q442333521_lerobot_so101_follower.json")
ALL = tuple(range(6))
UNCHECKED = (MOTOR_NAMES.index("shoulder_pan"), MOTOR_NAMES.index("wrist_roll"))


@dataclass(frozen=True)
class Case:
    """One arm: how the twin is served, what the run must say, which joints must not move
    (indices) and the most they may (deg)."""

    name: str
    serve: tuple[str, ...] = ("--start", "rest")
    faulty: bool = True
    #: whether the run must fail (default: when faulty); a mirrored shoulder_pan is invisible
    #: to every read-only check: MARGINAL, named, held still
    must_fail: bool | None = None
    says: str = ""                       # a regex the output must match (naming)
    still: tuple[int, ...] = UNCHECKED
    bound_deg: float = 1.0
    calibration: str = ""                # a file the twin is built from ('' its own)
    place_deg: dict[str, float] = field(default_factory=dict)   # moved by hand after start


CASES = (
    Case("correct: the twin's own calibration", faulty=False),
    Case("correct: +-1 tick of read noise on every servo", faulty=False,
         serve=("--start", "rest", *[a for i in range(1, 7) for a in ("--fault", f"{i}:noise=1")])),
    *[Case(f"correct: published follower {name[:2]}", faulty=False, calibration=name)
      for name in REAL_FOLLOWERS],
    Case("mirrored shoulder_pan", serve=("--start", "rest", "--twin-fault",
                                         "shoulder_pan:mirror"),
         must_fail=False, says=r"shoulder_pan: a mirror image's distance"),
    Case("mirrored wrist_roll", serve=("--start", "rest", "--twin-fault", "wrist_roll:mirror"),
         says=r"wrist_roll: .*(mirror|direction reversed)"),
    Case("mirrored elbow_flex", serve=("--start", "rest", "--twin-fault", "elbow_flex:mirror"),
         says=r"elbow_flex: .*direction reversed: a mirrored motor",
         still=(2, *UNCHECKED), bound_deg=3.0),
    Case("elbow_flex horn re-seated one tooth",
         serve=("--start", "rest", "--twin-fault", "elbow_flex:reseat"),
         says=r"elbow_flex: .*re-seated 1 spline tooth", still=(2, *UNCHECKED)),
    Case("arm left at its zero pose (not folded)", serve=(),
         says=r"all: joints off the rest pose = .*not folded", still=ALL, bound_deg=0.5),
    Case("gripper left 30 deg open", place_deg={"gripper": 30.0},
         says=r"gripper: .*if it is closed on its stop.*if not, it is simply not closed",
         still=(5, *UNCHECKED)),
    Case("another arm's calibration in the servos",
         serve=("--start", "rest", "--twin-fault", "shoulder_pan:stale=600", "--twin-fault",
                "shoulder_lift:stale=-700", "--twin-fault", "elbow_flex:stale=500",
                "--twin-fault", "wrist_flex:stale=-400"),
         says=r"all: joints off the rest pose = .*calibration is not this arm's",
         still=ALL, bound_deg=0.5),
)


@dataclass
class Outcome:
    case: str
    faulty: bool
    must_fail: bool
    failed: bool
    named: bool
    largest_deg: float
    bound_deg: float
    seconds: float

    @property
    def right(self) -> bool:
        return self.failed == self.must_fail and self.named and self.largest_deg <= self.bound_deg


def run_case(case: Case, folder: Path) -> Outcome:
    calibration = folder / "arm.json"
    serve = list(case.serve)
    if case.calibration:
        calibration.write_bytes((REAL / case.calibration).read_bytes())
        serve += ["--calibration", str(calibration)]
    else:
        serve += ["--calibration-out", str(calibration)]
    with EmulatorProcess(*serve) as twin:
        if case.place_deg:
            q = twin.q_sim_rad()
            for joint, deg in case.place_deg.items():
                q[MOTOR_NAMES.index(joint)] += np.deg2rad(deg)
            twin.place(q.tolist())
        ini = folder / "pytest.ini"
        ini.write_text("[pytest]\n")
        with twin.watching() as watch:
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(folder),
                 "-p", "no:cacheprovider", "-p", "no:randomly", str(REPO / "suites"),
                 "--hardware", "--so101-port", twin.port, "--so101-calibration",
                 str(calibration), "--so101-mapping", str(MAPPING), "--allow-motion",
                 "--so101-report", str(folder / "reports")],
                cwd=folder, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        torque = [s["torque"] for s in twin.state().values()]
    out = done.stdout + done.stderr
    if any(torque):
        raise SystemExit(f"{case.name}: torque left on: {torque}\n{out[-3000:]}")
    failed = done.returncode != 0
    named = bool(re.search(case.says, out)) if case.says else not failed
    largest = float(max(watch.worst_deg[j] for j in case.still))
    seconds = float(re.search(r"in ([\d.]+)s", out).group(1)) if re.search(r"in ([\d.]+)s",
                                                                            out) else 0.0
    must_fail = case.faulty if case.must_fail is None else case.must_fail
    return Outcome(case.name, case.faulty, must_fail, failed, named, largest, case.bound_deg,
                   seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help="run the cases whose names contain one of these words")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or any(w in c.name for w in args.only)]
    outcomes = []
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="so101-safety-") as tmp:
            outcomes.append(run_case(case, Path(tmp)))
    if args.json:
        print(json.dumps([{**asdict(o), "right": o.right} for o in outcomes], indent=2))
    else:
        print(f"{'arm':48} {'run':6} {'named':6} {'largest motion of held joints':>30}")
        for o in outcomes:
            print(f"{o.case:48} {'FAIL' if o.failed else 'pass':6} {'yes' if o.named else 'NO':6} "
                  f"{o.largest_deg:8.2f} deg (bound {o.bound_deg:g})"
                  f"{'' if o.right else '   <-- wrong'}")
        correct = [o for o in outcomes if not o.faulty]
        faulty = [o for o in outcomes if o.must_fail]
        print(f"\nfalse alarms {sum(o.failed for o in correct)}/{len(correct)}; caught "
              f"{sum(o.failed for o in faulty)}/{len(faulty)} (and the mirrored shoulder_pan, "
              "invisible read-only, MARGINAL and held); named "
              f"{sum(o.named for o in outcomes)}/{len(outcomes)}; held joints within bound "
              f"{sum(o.largest_deg <= o.bound_deg for o in outcomes)}/{len(outcomes)}; "
              f"largest motion of a held joint {max(o.largest_deg for o in outcomes):.2f} deg")
    return 0 if all(o.right for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
