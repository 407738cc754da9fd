"""``so101-diagnose``: the checks that need no motion, from the command line.

Give any subset of a calibration, normalization stats, a mapping and an MJCF, paired poses,
a dataset, and (read-only) the arm's port: its servos' registers, positions and health are
then judged too, and the rest pose when the arm is folded. Prints a line per check, then per
joint the diagnosis with the likely cause and the fix. Exit status 0 when every check holds,
1 otherwise (a bad file counts as a failure), 2 for usage errors; ``--json`` prints the same
as one JSON document. The checks are the declared checks of :mod:`pytest_so101.checks`, the
same the suites run; ``--list-checks`` lists every one.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from collections.abc import Sequence

from ..checks.base import CheckResult, Inputs, Setup, run_check, run_checks, run_per_arm
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
        "normalization stats and the sim/robot/policy mapping (any subset), a dataset, and "
        "read-only the arm itself. Exit status 0 when all checks hold, 1 otherwise.")
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
    parser.add_argument("--arm-side", choices=("left", "right"), metavar="left|right",
                        help="which arm of two-arm (bimanual) stats or dataset to check "
                        "(default: both, each on its own)")
    parser.add_argument("--mapping", metavar="PATH", help="the sim/robot/policy mapping TOML")
    parser.add_argument("--mjcf", metavar="PATH", help="the MuJoCo model the mapping is used "
                        "with; without it, the model check is skipped and the other checks "
                        "use the limits of the model the mapping names")
    parser.add_argument("--port", metavar="TTY", help="read the arm on this port (read-only: "
                        "nothing is written): its calibration registers against "
                        "--calibration, positions, read noise, servo health, a scan of the "
                        "bus, and the rest pose when the arm is folded (needs --mapping)")
    parser.add_argument("--solve-map", metavar="POSES.toml", help="solve [sim_to_robot] from "
                        "paired poses (the same physical poses in the sim and as the robot "
                        "reads them), print it, and judge the --mapping's against it")
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
    parser.add_argument("--tracking-deg", type=_positive, default=Tolerances.tracking_deg,
                        metavar="DEG", help="largest action - observation.state at rest in a "
                        f"dataset (default {Tolerances.tracking_deg:g})")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--list-checks", action="store_true",
                        help="list every check pytest-so101 has (name, domain, evidence per "
                        "setup, tolerance, what it catches, what runs it) and exit")
    parser.add_argument("--markdown", action="store_true",
                        help="with --list-checks: as docs/checks.md (Markdown tables)")
    return parser


def _load(args: argparse.Namespace) -> dict[str | None, Inputs]:
    """The user's files, validated, per arm (two-arm stats: left and right; else the key
    None); any problem raises one So101ConfigError."""
    from ..core.calibration import resolve_calibration
    from ..core.dataset import pick_arm
    from ..core.mapping import load_mapping
    from ..core.stats import load_stats_arms

    calibration = resolve_calibration(args.calibration, option="--calibration") \
        if args.calibration else None
    stats = load_stats_arms(args.stats, feature=args.stats_feature,
                            dataset=args.stats_dataset) if args.stats else {None: None}
    if args.arm_side and args.stats:
        stats = {args.arm_side: pick_arm(stats, args.arm_side, source=args.stats,
                                         what="stats file")}
    mapping = load_mapping(args.mapping) if args.mapping else None
    limits = None
    if args.mjcf:
        from ..sim.model import SimModel

        names = mapping.sim_joint_names if mapping is not None else MOTOR_NAMES
        limits = SimModel(args.mjcf, names).limits
    tolerances = Tolerances(deg=args.tolerance_deg, z=args.tolerance_z,
                            tracking_deg=args.tracking_deg)
    inputs = {arm: Inputs(calibration, arm_stats, mapping, limits, tolerances)
              for arm, arm_stats in stats.items()}
    if args.solve_map:
        from ..core.poses import load_poses

        poses = load_poses(args.solve_map, mapping)
        inputs = {arm: i.with_readings(poses=poses) for arm, i in inputs.items()}
    return inputs


def _status(result: CheckResult) -> str:
    marginal = [m for m in result.measurements if m.outcome is Outcome.MARGINAL]
    if result.error:
        return f"ERROR: {result.error}"
    if result.skipped and not result.measurements:
        return f"skipped: {result.skipped}"
    if result.failed:
        return f"FAIL on {', '.join(dict.fromkeys(m.joint for m in result.failed))}"
    if marginal:
        return f"marginal on {', '.join(dict.fromkeys(m.joint for m in marginal))}"
    return "ok"


def _title(result: CheckResult) -> str:
    return f"dataset: {result.title}" if result.check.domain == "datasets" else result.title


def _arm(port: str, inputs: Inputs, mjcf: str | None) -> list[CheckResult]:
    """The read-only checks of the arm on ``port``."""
    from ..bus.feetech import BusError, FeetechBus
    from ..bus.readings import read_only
    from ..checks.catalog import BY_NAME, read_only_arm
    from ..sim.model import rest_pose_of

    try:
        with FeetechBus(port) as bus:
            readings = read_only(bus)
    except BusError as exc:      # the first check of an arm, failed: nothing else is known
        return [CheckResult(BY_NAME["servo-identity"], error=str(exc))]
    rest = rest_pose_of(inputs.mapping, mjcf)
    arm = Inputs(inputs.calibration, inputs.stats, inputs.mapping, inputs.model_limits,
                 inputs.tolerances, Setup.HARDWARE, {**inputs.readings, **readings,
                                                     "rest_pose": rest})
    return run_checks(arm, read_only_arm(), flavor="cli")


def _print_text(results: list[CheckResult], out) -> None:
    width = max(len(_title(r)) for r in results) + 2
    for r in results:
        print(f"  {_title(r):<{width}} {_status(r)}", file=out)
    print(file=out)
    failed = [m for r in results for m in r.failed]
    marginal = [m for r in results for m in r.measurements if m.outcome is Outcome.MARGINAL]
    others = [m.joint for m in failed + marginal if m.joint not in MOTOR_NAMES]
    for joint in [*MOTOR_NAMES, *dict.fromkeys(others)]:
        mine = [m for m in failed if m.joint == joint]
        close = [m for m in marginal if m.joint == joint]
        if not mine and not close:
            print(f"{joint}: ok", file=out)
            continue
        what = [f"{len(mine)} problem{'s' * (len(mine) != 1)}"] if mine else []
        what += [f"{len(close)} marginal"] if close else []
        print(f"{joint}: {', '.join(what)}", file=out)
        for m in mine + close:
            _print_measurement(m, out)


def _print_measurement(m: Measurement, out) -> None:
    print(f"  - {m.check} = {m.value:.4g} {m.unit} (limit {m.limits_text()}) "
          f"{m.outcome.value}", file=out)
    if m.detail:
        print(f"    {m.detail}", file=out)
    if m.outcome is Outcome.FAIL and m.cause:
        print(f"    likely cause: {m.cause}", file=out)
    if m.outcome is Outcome.FAIL and m.fix:
        print(f"    fix: {m.fix}", file=out)


def _as_json(results: list[CheckResult]) -> dict:
    from ..report.record import measurement_dict

    return {"ok": all(r.ok for r in results),
            "checks": [{"title": _title(r), "name": r.name, "skipped": r.skipped,
                        "status": _status(r),
                        "measurements": [measurement_dict(m) for m in r.measurements]}
                       for r in results]}


def _solved_map(inputs: Inputs, path: str) -> str:
    """The paired poses' map as a [sim_to_robot] table to paste into a mapping."""
    from ..core.poses import as_toml

    poses = inputs["poses"]
    return f"# solved from {len(poses.names)} paired poses of {path}\n" + \
        as_toml(poses.solve(), poses.units)


def _list_checks(markdown: bool) -> int:
    from ..checks.catalog import describe
    from ..checks.catalog import markdown as as_markdown

    print(as_markdown() if markdown else describe())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _diagnose(args)
    except KeyboardInterrupt:            # one line (one whole JSON document), no traceback
        message = "interrupted (Ctrl-C) before every check ran: nothing was judged"
        if _emitted:                     # the answer was written whole; the Ctrl-C came after
            return 130
        if args.json:
            _emit(json.dumps({"ok": False, "error": message}) + "\n")
        else:
            print(f"\nso101-diagnose: {message}", file=sys.stderr)
        return 130


_emitted: list[bool] = []


def _emit(text: str) -> None:
    """Write ``text`` to stdout whole: a Ctrl-C meanwhile waits until it is written (half
    a JSON document is no document)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
        _emitted.append(True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _diagnose(args: argparse.Namespace) -> int:
    if args.list_checks:
        return _list_checks(args.markdown)
    if not any((args.calibration, args.stats, args.mapping, args.mjcf, args.solve_map,
                args.dataset, args.port)):
        build_parser().error("give at least one of --calibration, --stats, --mapping, --mjcf, "
                             "--solve-map, --dataset, --port (or --list-checks)")
    if args.dataset and not args.mapping:
        build_parser().error("--dataset needs --mapping: the frame the dataset was recorded in "
                             "(its [policy] frame and [sim_to_robot] map; without it the "
                             "frames' units, limits and offsets cannot be judged)")
    from ..checks.catalog import BY_NAME, FILE_CHECKS

    solved_map = ""
    try:
        by_arm = _load(args)
        inputs = next(iter(by_arm.values()))        # what does not depend on the arm
        of_files = [c for c in FILE_CHECKS if "poses" not in c.needs]
        results = run_per_arm(by_arm, of_files, flavor="cli") if any(
            (args.calibration, args.stats, args.mapping, args.mjcf)) else []
        if args.solve_map:
            results.append(run_check(BY_NAME["paired-poses"], inputs, flavor="cli"))
            solved_map = _solved_map(inputs, args.solve_map)
        if args.dataset:
            from ..checks.datasets import run_dataset_checks
            from ..core.dataset import load_datasets, pick_arm

            datasets = load_datasets(args.dataset)
            if args.arm_side:
                datasets = {args.arm_side: pick_arm(datasets, args.arm_side,
                                                    source=args.dataset, what="dataset")}
            results += run_dataset_checks(datasets, inputs, flavor="cli")[0]
        if args.port:
            results += _arm(args.port, inputs, args.mjcf)
    except So101ConfigError as exc:
        if args.json:
            _emit(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        else:
            print(f"so101-diagnose: {exc}", file=sys.stderr)
        return 1
    ok = all(r.ok for r in results)
    if args.json:
        _emit(json.dumps({**_as_json(results), "solved_map": solved_map or None}, indent=2)
              + "\n")
    else:
        used = [f"{what} {value}" for what, value in (
            ("calibration", inputs.calibration.source if inputs.calibration else None),
            ("stats", "; ".join(i.stats.label for i in by_arm.values())
             if inputs.stats else None),
            ("mapping", inputs.mapping.source if inputs.mapping else None),
            ("mjcf", args.mjcf), ("port", args.port), ("poses", args.solve_map),
            ("dataset", args.dataset)) if value]
        print(f"so101-diagnose: {'; '.join(used)}")
        _print_text(results, sys.stdout)
        if solved_map:
            print(f"\n{solved_map}", end="")
        skipped = sum(bool(r.skipped and not r.measurements) for r in results)
        print(f"\n{'all checks hold' if ok else 'problems found'}"
              + (f" ({skipped} of {len(results)} skipped: what each needs is named above)"
                 if ok and skipped else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
