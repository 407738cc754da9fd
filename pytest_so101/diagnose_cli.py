"""``so101-diagnose``: the checks that need no motion, from the command line.

Give any subset of a calibration, normalization stats, a mapping and an MJCF (and,
read-only, the arm's port to compare its calibration registers with the file). Prints a
line per check, then per joint the diagnosis with the likely cause and the fix. Exit
status 0 when every check holds, 1 otherwise (a bad file counts as a failure), 2 for
usage errors; ``--json`` prints the same as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .diagnosis import CheckResult, check_registers_match_file, diagnose
from .errors import So101ConfigError
from .features import FEATURES
from .joints import MOTOR_NAMES
from .tolerances import Tolerances


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
    parser.add_argument("--stats-feature", default="observation.state", choices=FEATURES)
    parser.add_argument("--stats-dataset", metavar="NAME",
                        help="the dataset prefix, when the stats hold several")
    parser.add_argument("--mapping", metavar="PATH", help="the sim/robot/policy mapping TOML")
    parser.add_argument("--mjcf", metavar="PATH", help="the MuJoCo model the mapping is used "
                        "with (default: the model the mapping names)")
    parser.add_argument("--port", metavar="TTY", help="read the calibration registers of the "
                        "arm on this port (read-only) and compare them with --calibration")
    parser.add_argument("--tolerance-deg", type=float, default=Tolerances.deg)
    parser.add_argument("--tolerance-z", type=float, default=Tolerances.z)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def _load(args: argparse.Namespace):
    """The user's files, validated; any problem raises one So101ConfigError."""
    from .calibration import resolve_calibration
    from .mapping import load_mapping
    from .stats import load_stats

    calibration = resolve_calibration(args.calibration) if args.calibration else None
    stats = load_stats(args.stats, feature=args.stats_feature,
                       dataset=args.stats_dataset) if args.stats else None
    mapping = load_mapping(args.mapping) if args.mapping else None
    limits = None
    if args.mjcf:
        from .sim.model import SimModel

        names = mapping.sim_joint_names if mapping is not None else MOTOR_NAMES
        limits = SimModel(args.mjcf, names).limits
    return calibration, stats, mapping, limits


def _registers(port: str, calibration) -> CheckResult:
    from .bus.feetech import BusError, FeetechBus

    title = f"servo registers on {port} vs the calibration file"
    if calibration is None:
        return CheckResult(title, skipped="needs a calibration")
    try:
        with FeetechBus(port) as bus:
            bus.identify()
            on_servo = bus.read_calibration()
    except BusError as exc:
        return CheckResult(title, error=str(exc))
    return CheckResult(title, check_registers_match_file(on_servo, calibration))


def _print_text(results: list[CheckResult], out) -> None:
    for r in results:
        if r.error:
            status = f"ERROR: {r.error}"
        elif r.skipped and not r.measurements:
            status = f"skipped: {r.skipped}"
        elif r.failed:
            status = f"FAIL on {', '.join(dict.fromkeys(m.joint for m in r.failed))}"
        else:
            status = "ok"
        print(f"  {r.title:<48} {status}", file=out)
    print(file=out)
    for joint in MOTOR_NAMES:
        failed = [m for r in results for m in r.failed if m.joint == joint]
        if not failed:
            print(f"{joint}: ok", file=out)
            continue
        print(f"{joint}: {len(failed)} problem{'s' if len(failed) > 1 else ''}", file=out)
        for m in failed:
            print(f"  - {m.check} = {m.value:.4g} {m.unit} (limit {m.limits_text()})", file=out)
            if m.detail:
                print(f"    {m.detail}", file=out)
            if m.cause:
                print(f"    likely cause: {m.cause}", file=out)
            if m.fix:
                print(f"    fix: {m.fix}", file=out)


def _as_json(results: list[CheckResult]) -> dict:
    from .report.record import measurement_dict

    return {"ok": all(r.ok for r in results),
            "checks": [{"title": r.title, "skipped": r.skipped, "error": r.error,
                        "measurements": [measurement_dict(m) for m in r.measurements]}
                       for r in results]}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not any((args.calibration, args.stats, args.mapping, args.mjcf)):
        build_parser().error("give at least one of --calibration, --stats, --mapping, --mjcf")
    try:
        calibration, stats, mapping, limits = _load(args)
    except So101ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        else:
            print(f"so101-diagnose: {exc}", file=sys.stderr)
        return 1
    tolerances = Tolerances(deg=args.tolerance_deg, z=args.tolerance_z)
    results = diagnose(calibration=calibration, stats=stats, mapping=mapping, limits=limits,
                       tolerances=tolerances)
    if args.port:
        results.append(_registers(args.port, calibration))
    ok = all(r.ok for r in results)
    if args.json:
        print(json.dumps(_as_json(results), indent=2))
    else:
        used = [f"{what} {value}" for what, value in (
            ("calibration", calibration.source if calibration else None),
            ("stats", f"{stats.source} [{stats.key}]" if stats else None),
            ("mapping", mapping.source if mapping else None), ("mjcf", args.mjcf),
            ("port", args.port)) if value]
        print(f"so101-diagnose: {'; '.join(used)}")
        _print_text(results, sys.stdout)
        print(f"\n{'all checks hold' if ok else 'problems found'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
