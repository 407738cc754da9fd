"""Throughput of the vectorised frames against a per-motor Python loop of LeRobot's formulas.

    python benchmarks/bench_frames.py [--quick]

Both sides convert the same Present_Position ticks of the example arm (6 motors) to a
LeRobot unit and back, in the same process and run; the table gives the median time per
call over repeats, the throughput in joint values per second, and the ratio. Figures are
recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import lerobot_loop
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.frames import RobotUnit, ticks_to_units, units_to_ticks
from pytest_so101.core.joints import MOTOR_NAMES

CALIBRATION = Path(__file__).resolve().parents[1] / \
    "fixtures/calibration/robots/so_follower/example_arm.json"


def _median_seconds(fn, repeat: int, budget_s: float) -> float:
    once = timeit.timeit(fn, number=1)
    number = max(1, int(budget_s / repeat / max(once, 1e-9)))
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))


def run(batch_sizes: list[int], repeat: int, budget_s: float) -> list[dict]:
    cal = load_calibration(CALIBRATION)
    cal_dict = {m: {"range_min": int(cal.range_min[i]), "range_max": int(cal.range_max[i]),
                    "drive_mode": int(cal.drive_mode[i])} for i, m in enumerate(MOTOR_NAMES)}
    rng = np.random.default_rng(0)
    # Warm the allocator once at the largest batch, for both sides and every mode: the
    # first large arrays of a process cost page faults that later ones do not, and the
    # first mode measured would otherwise pay them.
    for mode in (RobotUnit.DEGREES, RobotUnit.RANGE_M100_100):
        warm = rng.integers(cal.range_min, cal.range_max + 1, size=(max(batch_sizes), 6))
        for _ in range(20):
            units_to_ticks(ticks_to_units(warm, cal, (mode,) * 6), cal, (mode,) * 6)
    rows = []
    for mode in (RobotUnit.DEGREES, RobotUnit.RANGE_M100_100):
        units = (mode,) * 6
        modes = dict.fromkeys(MOTOR_NAMES, mode.value)
        for n in batch_sizes:
            ticks = rng.integers(cal.range_min, cal.range_max + 1, size=(n, 6))
            frames = [dict(zip(MOTOR_NAMES, row, strict=True)) for row in ticks.tolist()]

            def vectorised(ticks=ticks, units=units):
                units_to_ticks(ticks_to_units(ticks, cal, units), cal, units)

            def loop(frames=frames, modes=modes):
                for frame in frames:
                    lerobot_loop.unnormalize(lerobot_loop.normalize(frame, cal_dict, modes),
                                             cal_dict, modes)

            t_vec = _median_seconds(vectorised, repeat, budget_s)
            t_loop = _median_seconds(loop, repeat, budget_s)
            rows.append({"mode": mode.value, "poses": n, "vectorised_s": t_vec,
                         "loop_s": t_loop, "speedup": t_loop / t_vec,
                         "vec_values_per_s": 6 * n / t_vec, "loop_values_per_s": 6 * n / t_loop})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = parser.parse_args()
    repeat, budget = (3, 0.05) if args.quick else (7, 0.7)
    rows = run([1, 100, 10_000], repeat, budget)
    print(f"# ticks -> unit -> ticks round trip, 6 motors; {platform.python_implementation()} "
          f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print("| mode | poses/call | vectorised (median) | per-motor loop (median) | "
          "vectorised joint values/s | loop joint values/s | loop / vectorised |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['poses']} | {r['vectorised_s'] * 1e6:,.1f} us | "
              f"{r['loop_s'] * 1e6:,.1f} us | {r['vec_values_per_s']:,.0f} | "
              f"{r['loop_values_per_s']:,.0f} | {r['speedup']:.2f}x |")


if __name__ == "__main__":
    main()
