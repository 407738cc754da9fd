"""The twin's physics rate against real time, and the wall time of `pytest suites` on it.

    python benchmarks/bench_twin.py [--runs 3]

Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pytest_so101.bus.twin import build_twin

REPO = Path(__file__).resolve().parents[1]


def physics_rate(seconds: float = 2.0) -> tuple[float, float]:
    arm, _, _ = build_twin()
    for j in range(6):
        arm.torque(j, True)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        arm.sim.step(arm.data, 100)
        steps += 100
    rate = steps / (time.perf_counter() - start)
    return rate, rate * arm.model.opt.timestep


def suites_wall_time(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider"],
                       cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rate, realtime = physics_rate()
    times = suites_wall_time(args.runs)
    print("| measure | value |")
    print("|---|---:|")
    print(f"| twin physics steps per second (dt 2 ms, torque on) | {rate:,.0f} |")
    print(f"| twin physics speed / real time | {realtime:.1f}x |")
    print(f"| `pytest suites` on the twin, median of {args.runs} (wall) | "
          f"{statistics.median(times):.1f} s |")
    print(f"| `pytest suites` on the twin, slowest | {max(times):.1f} s |")


if __name__ == "__main__":
    main()
