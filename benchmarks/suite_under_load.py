"""The README's test command, several times in a row, with CPU hogs beside it.

    python benchmarks/suite_under_load.py [--runs 3] [--hogs 2] [-- PYTEST ARGS...]

Starts ``--hogs`` processes that spin (``python -c 'while True: pass'``), then runs
``.venv/bin/pytest -n 2`` (or the given arguments after ``--``) ``--runs`` times one after
the other, and prints per run the wall time, the outcome line and every failed test;
the hogs are stopped however it ends. A stable suite has 0 failures in every run. Hold
the heavy lock of a shared machine around it (``flock /tmp/so101-heavy.lock ...``).
Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOG = "while True: pass"


def start_hogs(count: int) -> list[subprocess.Popen]:
    """``count`` processes that spin on a core until killed."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def run_once(command: list[str], log: Path | None) -> tuple[float, str, list[str]]:
    """Wall time, the outcome line and the failed tests' lines (from the short test
    summary) of one run; its whole output goes to ``log`` when given."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    lines = done.stdout.splitlines()
    outcome = next((line.strip("= ") for line in reversed(lines)
                    if re.search(r"\b(passed|failed|error)", line)), f"exit {done.returncode}")
    summary = next((k for k, line in enumerate(lines) if "short test summary info" in line),
                   len(lines))
    failed = [line[:300] for line in lines[summary:] if line.startswith(("FAILED", "ERROR"))]
    return wall, outcome, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--log-dir", type=Path,
                        help="write each run's whole output to DIR/run-K.txt")
    parser.add_argument("pytest_args", nargs="*", help="instead of -n 2 (after --)")
    args = parser.parse_args()
    command = [str(REPO / ".venv/bin/pytest"), *(args.pytest_args or ["-n", "2"]),
               "-q", "-rfE", "-p", "no:cacheprovider"]
    print(f"`{' '.join(command)}` x {args.runs}, {args.hogs} CPU hogs beside it", flush=True)
    hogs = start_hogs(args.hogs)
    failures = 0
    try:
        for k in range(1, args.runs + 1):
            log = None
            if args.log_dir is not None:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                log = args.log_dir / f"run-{k}.txt"
            wall, outcome, failed = run_once(command, log)
            failures += len(failed)
            print(f"run {k}: {wall / 60:.0f}m{wall % 60:02.0f}s: {outcome}", flush=True)
            for line in failed:
                print(f"  {line}", flush=True)
    finally:
        stop_hogs(hogs)
    print(f"failed tests over {args.runs} runs: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
