"""Time to check a large recorded dataset: load it and run every dataset check.

    python benchmarks/bench_dataset.py [--frames 1000000] [--repeat 3]

Writes a synthetic teleoperated LeRobot v3.0 dataset of ``--frames`` frames (30 fps,
episodes of 5 minutes, one parquet file, the example arm pair in LeRobot degrees; a
17 deg offset on elbow_flex so that the offset check has something to find) into a
temporary folder, then times what ``so101-diagnose --dataset`` and the dataset suite do:
read the frames, compare meta/stats.json with them, run the frame and limit checks on
their statistics, find the frames at rest and the action - state offset. Prints the
median wall time per stage over ``--repeat`` runs and the peak memory (RSS). Figures are
recorded in docs/benchmarks.md; the target is at most 10 s for a million frames.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_so101.checks.base import Inputs
from pytest_so101.checks.datasets import (
    check_frame_count,
    check_rest_offset,
    check_stats_file,
    check_tick_grid,
    dataset_frame_map,
    rest_offset,
    run_data_checks,
)
from pytest_so101.core.dataset import FEATURES, load_dataset
from pytest_so101.core.frames import RobotUnit, tick_step
from pytest_so101.core.joints import MOTOR_NAMES, SO101_NEW_CALIB_LIMITS
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.stats import load_stats
from pytest_so101.synthetic.recording import read_through, teleop_recording, write_dataset

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "fixtures/mapping/so101_degrees.toml"


def make(folder: Path, frames: int) -> Path:
    mapping = load_mapping(MAPPING)
    fps, seconds = 30.0, 300.0
    episodes = int(np.ceil(frames / (fps * seconds)))
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=episodes, seconds=seconds,
                           fps=fps, seed=7, reach=0.7)
    steps = np.array([tick_step(RobotUnit.DEGREES)] * 5 + [np.nan])   # LeRobot's grid
    state = read_through(rec.follower_rad, mapping.sim_to_robot, steps)[:frames]
    action = read_through(rec.leader_rad, mapping.sim_to_robot, steps)[:frames]
    action[:, MOTOR_NAMES.index("elbow_flex")] += 17.0
    return write_dataset(folder / "big", state, action, rec.episode[:frames], fps)


def check(root: Path, inputs: Inputs) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    ds = load_dataset(root)
    times["load"] = time.perf_counter() - start
    mark = time.perf_counter()
    failed = 0
    for feature in FEATURES:
        failed += sum(not m.passed for m in check_stats_file(
            ds, load_stats(ds.stats_path, feature=feature)))
    failed += sum(not m.passed for m in check_frame_count(ds))
    times["stats file"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for results in run_data_checks(ds, inputs).values():
        failed += sum(len(r.failed) for r in results)
    times["frame and limits"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for feature in FEATURES:
        grid = check_tick_grid(ds, feature, inputs.mapping, inputs.calibration)
        assert sum(m.outcome == "PASS" for m in grid) >= 5 and all(m.passed for m in grid), \
            [m.summary() for m in grid]
    times["tick grid"] = time.perf_counter() - mark
    mark = time.perf_counter()
    offset = rest_offset(ds, dataset_frame_map(inputs))
    found = [m for m in check_rest_offset(offset, 2.0) if not m.passed]
    times["offset at rest"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    assert [m.joint for m in found] == ["elbow_flex"], [m.summary() for m in found]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    inputs = Inputs(mapping=load_mapping(MAPPING), model_limits=SO101_NEW_CALIB_LIMITS)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = make(Path(tmp), args.frames)
        made = time.perf_counter() - start
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        runs = [check(root, inputs) for _ in range(args.repeat)]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# {args.frames:,} frames ({size / 2**20:.1f} MiB on disk, written in {made:.1f} s); "
          f"median of {args.repeat} runs; peak RSS {peak_mib:.0f} MiB (whole process, "
          "generation included)")
    print("| stage | median wall time |")
    print("|---|---:|")
    for stage in runs[0]:
        print(f"| {stage} | {statistics.median(r[stage] for r in runs):.3f} s |")


if __name__ == "__main__":
    main()
