"""The twin's physics rate against real time, and the wall time of `pytest suites` on it.

    python benchmarks/bench_twin.py [--runs 3]

Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_so101.bus.twin import build_twin

REPO = Path(__file__).resolve().parents[1]


def physics_rate(torque: bool, seconds: float = 2.0) -> tuple[float, float]:
    """Steps per second through the twin's own clock (TwinArm.advance: the physics with,
    torque off, the passive joints held by gearbox friction), and that speed over real
    time."""
    arm, _, _ = build_twin()
    arm.frozen = False
    for j in range(6):
        arm.torque(j, torque)
    dt = arm.model.opt.timestep
    steps, now, start = 0, 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        now += 100 * dt
        arm.advance(now)
        steps += 100
    rate = steps / (time.perf_counter() - start)
    return rate, rate * dt


def suites_wall_time(runs: int) -> tuple[list[float], str]:
    """Wall times of the README's main job without its HTML (the report has its own
    benchmark, bench_report.py), and its outcome line."""
    times, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as reports:      # reports/ is the user's
            done = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p",
                                   "no:cacheprovider", "-p", "no:html", "--so101-report",
                                   reports], cwd=REPO, check=True, capture_output=True,
                                  text=True)
        times.append(time.perf_counter() - start)
        outcome = done.stdout.strip().splitlines()[-1].strip("= ")
    return times, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| measure | value |")
    print("|---|---:|")
    for torque in (True, False):
        rate, realtime = physics_rate(torque)
        label = "torque on" if torque else "torque off, joints held by friction"
        print(f"| twin physics steps per second (dt 2 ms, {label}) | {rate:,.0f} |")
        print(f"| twin physics speed / real time ({label}) | {realtime:.1f}x |")
    times, outcome = suites_wall_time(args.runs)
    print(f"| `pytest suites -p no:html` on the twin ({outcome}), median of {args.runs} "
          f"(wall) | {statistics.median(times):.1f} s |")
    print(f"| the same, slowest | {max(times):.1f} s |")


if __name__ == "__main__":
    main()
