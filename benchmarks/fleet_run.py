"""A fleet acceptance run on emulated arms: the time per arm and how workers scale.

    python benchmarks/fleet_run.py [--arms 4] [--workers 2] [--transport socket|rfc2217]
                                   [--motion] [--suites test_rest_pose.py test_hil.py ...]

Starts ``--arms`` twins (folded at rest, each calibrating itself) on loopback, served on
TCP by the emulator (``socket``) or on ptys exported by ser2net (``rfc2217``, chardelay on,
as labgrid's exporter serves them), writes the arms file, and runs the suites (default:
all of them) with ``pytest -n WORKERS --so101-arms``. Prints the wall time, the time of
each arm (the sum of its tests' durations, from the JUnit XML), and the time per arm the
wall time implies. Figures for docs/fleet.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from contextlib import ExitStack
from pathlib import Path

from pytest_so101.bus.process import EmulatorProcess, Ser2netProcess, start_all
from pytest_so101.core.arms import FleetArm, arms_toml

REPO = Path(__file__).resolve().parents[1]


def arm_times(junit: Path, arm_ids: list[str]) -> dict[str, float]:
    """Seconds of test time per arm (setup, call and teardown, as JUnit counts them)."""
    times = dict.fromkeys(arm_ids, 0.0)
    for case in ET.parse(junit).iter("testcase"):
        params = case.get("name", "").partition("[")[2]
        arm = next((a for a in arm_ids if params == f"{a}]" or params.startswith(f"{a}-")),
                   None)
        if arm is not None:
            times[arm] += float(case.get("time", 0))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--transport", choices=("socket", "rfc2217"), default="socket")
    parser.add_argument("--motion", action="store_true", help="--allow-motion")
    parser.add_argument("--suites", nargs="*", default=[],
                        help="suite files under suites/ (default: every suite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="so101-fleet-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        ids = [f"arm-{k:03d}" for k in range(1, args.arms + 1)]
        tcp = ["--tcp", "127.0.0.1:0"] if args.transport == "socket" else []
        twins = [EmulatorProcess(*tcp, "--start", "rest", "--calibration-out",
                                 str(folder / f"{arm}.json"), startup_timeout_s=120)
                 for arm in ids]
        started = time.perf_counter()
        start_all(twins)
        for twin in twins:
            stack.callback(twin.stop)
        ports = [twin.port for twin in twins]
        if args.transport == "rfc2217":
            ports = [stack.enter_context(Ser2netProcess(port)).url for port in ports]
        twins_s = time.perf_counter() - started
        arms = [FleetArm(arm, port, str(folder / f"{arm}.json"))
                for arm, port in zip(ids, ports, strict=True)]
        (folder / "arms.toml").write_text(arms_toml(arms))
        suites = [str(REPO / "suites" / s) for s in args.suites] or [str(REPO / "suites")]
        cmd = [sys.executable, "-m", "pytest", *suites, "-q", "-rf", "-p", "no:cacheprovider",
               "--so101-arms", str(folder / "arms.toml"), "--so101-report",
               str(folder / "reports"), "--junitxml", str(folder / "junit.xml"),
               *(["-n", str(args.workers)] if args.workers > 1 else []),
               *(["--allow-motion"] if args.motion else [])]
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
        wall_s = time.perf_counter() - started
        tail = done.stdout.strip().splitlines()[-1:] or ["no output"]
        if done.returncode not in (0, 1):
            raise SystemExit(f"fleet_run: pytest exited {done.returncode}: {tail[0]}\n"
                             f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        per_arm = arm_times(folder / "junit.xml", ids)
    print(f"{args.arms} arms ({args.transport}), {args.workers} workers, "
          f"{'motion allowed' if args.motion else 'read-only'}, suites: "
          f"{' '.join(args.suites) or 'all'}")
    print(f"twins started in {twins_s:.1f} s; pytest: {tail[0]}")
    for line in done.stdout.splitlines():
        if line.startswith("FAILED"):
            print(f"  {line[:300]}")
    print(f"wall time {wall_s:.1f} s; per arm (test time): median "
          f"{statistics.median(per_arm.values()):.1f} s, max {max(per_arm.values()):.1f} s; "
          f"wall x workers / arms = {wall_s * args.workers / args.arms:.1f} s")


if __name__ == "__main__":
    main()
