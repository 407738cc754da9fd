"""``so101-diagnose``: the checks that need no motion, from the command line.

Give any subset of a calibration, normalization stats, a mapping and an MJCF (and,
read-only, the arm's port to compare its calibration registers with the file). Prints a
line per check, then per joint the diagnosis with the likely cause and the fix. Exit
status 0 when every check holds, 1 otherwise (a bad file counts as a failure), 2 for
usage errors; ``--json`` prints the same as one JSON document. The checks are the table
of :mod:`pytest_so101.checks.table`, the same the suites run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..checks.datasets import TRACKING_DEG
from ..checks.table import CheckResult, Inputs, run_checks
from ..core.errors import So101ConfigError
from ..core.features import FEATURES
from ..core.joints import MOTOR_NAMES
from ..core.measurement import Measurement, Outcome
from ..core.tolerances import Tolerances


def _positive(text: str) -> float:
    """A tolerance: a finite number > 0 (NaN would make every comparison pass)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="so101-diagnose",
        description="Diagnose an SO-101 configuration without moving the arm: calibration, "
        "normalization stats and the sim/robot/policy mapping (any subset). Exit status 0 "
        "when all checks hold, 1 otherwise.")
    parser.add_argument("--calibration", metavar="PATH_OR_ARM_ID",
                        help="LeRobot calibration JSON, or an arm id found under "
                        "HF_LEROBOT_CALIBRATION")
    parser.add_argument("--stats", metavar="PATH", help="normalization stats: a policy folder, "
                        "a .safetensors file, a dataset stats.json or a plain mean/std JSON")
    parser.add_argument("--stats-feature", default="observation.state", choices=FEATURES,
                        metavar="FEATURE", help="which feature's stats to check: "
                        f"{' or '.join(FEATURES)} (default observation.state)")
    parser.add_argument("--stats-dataset", metavar="NAME",
                        help="the dataset prefix, when the stats hold several (e.g. so100)")
    parser.add_argument("--mapping", metavar="PATH", help="the sim/robot/policy mapping TOML")
    parser.add_argument("--mjcf", metavar="PATH", help="the MuJoCo model the mapping is used "
                        "with; without it, the model check is skipped and the other checks "
                        "use the limits of the model the mapping names")
    parser.add_argument("--port", metavar="TTY", help="read the calibration registers of the "
                        "arm on this port (read-only) and compare them with --calibration")
    parser.add_argument("--solve-map", metavar="POSES.toml", help="solve [sim_to_robot] from "
                        "paired poses (the same physical poses in the sim and as the robot "
                        "reads them; seed 003), print it, and judge the --mapping's against it")
    parser.add_argument("--tolerance-deg", type=_positive, default=Tolerances.deg, metavar="DEG",
                        help=f"angle tolerance in degrees of joint motion (default "
                        f"{Tolerances.deg:g})")
    parser.add_argument("--tolerance-z", type=_positive, default=Tolerances.z, metavar="STD",
                        help=f"advisory normalized-near-zero tolerance in std (default "
                        f"{Tolerances.z:g})")
    parser.add_argument("--dataset", metavar="FOLDER", help="a recorded LeRobot dataset "
                        "(meta/info.json, meta/stats.json, data/**/*.parquet; needs --mapping): "
                        "its stats file against its frames, its frames' frame and limits, the "
                        "servo's tick grid per joint (-100..100 grids with --calibration), and "
                        "action - observation.state at rest per episode")
    parser.add_argument("--tracking-deg", type=_positive, default=TRACKING_DEG, metavar="DEG",
                        help="largest action - observation.state at rest in a dataset (default "
                        f"{TRACKING_DEG:g})")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def _load(args: argparse.Namespace) -> Inputs:
    """The user's files, validated; any problem raises one So101ConfigError."""
    from ..core.calibration import resolve_calibration
    from ..core.mapping import load_mapping
    from ..core.stats import load_stats

    calibration = resolve_calibration(args.calibration, option="--calibration") \
        if args.calibration else None
    stats = load_stats(args.stats, feature=args.stats_feature,
                       dataset=args.stats_dataset) if args.stats else None
    mapping = load_mapping(args.mapping) if args.mapping else None
    limits = None
    if args.mjcf:
        from ..sim.model import SimModel

        names = mapping.sim_joint_names if mapping is not None else MOTOR_NAMES
        limits = SimModel(args.mjcf, names).limits
    return Inputs(calibration, stats, mapping, limits,
                  Tolerances(deg=args.tolerance_deg, z=args.tolerance_z))


@dataclass
class Line:
    """One line of the report: a check's title, its status, its failing measurements."""

    title: str
    status: str
    ok: bool
    failed: list[Measurement] = field(default_factory=list)
    marginal: list[Measurement] = field(default_factory=list)
    result: CheckResult | None = None
    name: str | None = None                 # a check without a CheckResult (datasets)
    measurements: list[Measurement] | None = None


def _line(result: CheckResult) -> Line:
    marginal = [m for m in result.measurements if m.outcome is Outcome.MARGINAL]
    if result.error:
        status = f"ERROR: {result.error}"
    elif result.skipped and not result.measurements:
        status = f"skipped: {result.skipped}"
    elif result.failed:
        status = f"FAIL on {', '.join(dict.fromkeys(m.joint for m in result.failed))}"
    elif marginal:
        status = f"marginal on {', '.join(dict.fromkeys(m.joint for m in marginal))}"
    else:
        status = "ok"
    return Line(result.title, status, result.ok, result.failed, marginal, result)


def _registers(port: str, calibration) -> Line:
    from ..bus.feetech import BusError, FeetechBus
    from ..checks.diagnosis import check_registers_match_file

    title = f"servo registers on {port} vs the calibration file"
    if calibration is None:
        return Line(title, "skipped: needs a calibration (--calibration)", True)
    try:
        with FeetechBus(port) as bus:
            bus.identify()
            on_servo = bus.read_calibration()
    except BusError as exc:
        return Line(title, f"ERROR: {exc}", False)
    measurements = check_registers_match_file(on_servo, calibration)
    failed = [m for m in measurements if not m.passed]
    status = f"FAIL on {', '.join(dict.fromkeys(m.joint for m in failed))}" if failed else "ok"
    return Line(title, status, not failed, failed)


def _dataset(path: str, inputs: Inputs, tracking_deg: float) -> list[Line]:
    """The dataset checks, one line each."""
    from ..checks.datasets import run_dataset_checks
    from ..core.dataset import load_dataset

    results, _ = run_dataset_checks(load_dataset(path), inputs, rest_offset_deg=tracking_deg,
                                    flavor="cli")
    lines = []
    for r in results:
        marginal = [m for m in r.measurements if m.outcome is Outcome.MARGINAL]
        status = (f"FAIL on {', '.join(dict.fromkeys(m.joint for m in r.failed))}" if r.failed
                  else f"skipped: {r.skipped}" if r.skipped and not r.measurements
                  else f"marginal on {', '.join(dict.fromkeys(m.joint for m in marginal))}"
                  if marginal else "ok")
        lines.append(Line(f"dataset: {r.title}", status, not r.failed, r.failed, marginal,
                          name=f"dataset-{r.name}", measurements=r.measurements))
    return lines


def _solve(path: str, inputs: Inputs) -> tuple[Line, str]:
    """The paired poses' map as a [sim_to_robot] table, and how the poses and the declared
    map agree with it."""
    from ..checks.diagnosis import check_poses_against_map
    from ..core.poses import as_toml, load_poses

    title = f"paired poses in {path}"
    poses = load_poses(path, inputs.mapping)
    solved = poses.solve()
    declared = inputs.mapping.sim_to_robot if inputs.mapping is not None else None
    measurements = check_poses_against_map(poses, solved, declared, inputs.limits,
                                           tolerance_deg=inputs.tolerances.deg)
    failed = [m for m in measurements if not m.passed]
    status = f"FAIL on {', '.join(dict.fromkeys(m.joint for m in failed))}" if failed else "ok"
    text = (f"# solved from {solved.n_poses} paired poses of {path}\n"
            + as_toml(solved, poses.units))
    return Line(title, status, not failed, failed), text


def _print_text(lines: list[Line], out) -> None:
    width = max(len(line.title) for line in lines) + 2
    for line in lines:
        print(f"  {line.title:<{width}} {line.status}", file=out)
    print(file=out)
    others = [m.joint for line in lines for m in line.failed + line.marginal
              if m.joint not in MOTOR_NAMES]
    for joint in [*MOTOR_NAMES, *dict.fromkeys(others)]:
        failed = [m for line in lines for m in line.failed if m.joint == joint]
        marginal = [m for line in lines for m in line.marginal if m.joint == joint]
        if not failed and not marginal:
            print(f"{joint}: ok", file=out)
            continue
        what = [f"{len(failed)} problem{'s' * (len(failed) != 1)}"] if failed else []
        what += [f"{len(marginal)} marginal"] if marginal else []
        print(f"{joint}: {', '.join(what)}", file=out)
        for m in failed + marginal:
            print(f"  - {m.check} = {m.value:.4g} {m.unit} (limit {m.limits_text()}) "
                  f"{m.outcome.value}", file=out)
            if m.detail:
                print(f"    {m.detail}", file=out)
            if m.outcome is Outcome.FAIL and m.cause:
                print(f"    likely cause: {m.cause}", file=out)
            if m.outcome is Outcome.FAIL and m.fix:
                print(f"    fix: {m.fix}", file=out)


def _as_json(lines: list[Line]) -> dict:
    from ..report.record import measurement_dict

    checks = []
    for line in lines:
        r = line.result
        measurements = r.measurements if r is not None else \
            line.measurements if line.measurements is not None else line.failed
        skipped = r.skipped if r else line.status.removeprefix("skipped: ") \
            if line.status.startswith("skipped") else ""
        checks.append({"title": line.title, "name": r.check.name if r else line.name,
                       "skipped": skipped, "status": line.status,
                       "measurements": [measurement_dict(m) for m in measurements]})
    return {"ok": all(line.ok for line in lines), "checks": checks}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not any((args.calibration, args.stats, args.mapping, args.mjcf, args.solve_map,
                args.dataset)):
        build_parser().error("give at least one of --calibration, --stats, --mapping, --mjcf, "
                             "--solve-map, --dataset")
    if args.dataset and not args.mapping:
        build_parser().error("--dataset needs --mapping: the frame the dataset was recorded in "
                             "(its [policy] frame and [sim_to_robot] map; without it the "
                             "frames' units, limits and offsets cannot be judged)")
    solved_map = ""
    try:
        inputs = _load(args)
        lines = [_line(r) for r in run_checks(inputs, flavor="cli")] if any(
            (args.calibration, args.stats, args.mapping, args.mjcf)) else []
        if args.solve_map:
            solve_line, solved_map = _solve(args.solve_map, inputs)
            lines.append(solve_line)
        if args.dataset:
            lines += _dataset(args.dataset, inputs, args.tracking_deg)
    except So101ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        else:
            print(f"so101-diagnose: {exc}", file=sys.stderr)
        return 1
    if args.port:
        lines.append(_registers(args.port, inputs.calibration))
    ok = all(line.ok for line in lines)
    if args.json:
        print(json.dumps({**_as_json(lines), "solved_map": solved_map or None}, indent=2))
    else:
        used = [f"{what} {value}" for what, value in (
            ("calibration", inputs.calibration.source if inputs.calibration else None),
            ("stats", inputs.stats.label if inputs.stats else None),
            ("mapping", inputs.mapping.source if inputs.mapping else None),
            ("mjcf", args.mjcf), ("port", args.port), ("poses", args.solve_map),
            ("dataset", args.dataset)) if value]
        print(f"so101-diagnose: {'; '.join(used)}")
        _print_text(lines, sys.stdout)
        if solved_map:
            print(f"\n{solved_map}", end="")
        skipped = sum(line.status.startswith("skipped") for line in lines)
        print(f"\n{'all checks hold' if ok else 'problems found'}"
              + (f" ({skipped} of {len(lines)} skipped: what each needs is named above)"
                 if ok and skipped else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
