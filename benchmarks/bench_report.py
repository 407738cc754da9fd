"""What the HTML report costs the main job: paired runs of ``pytest suites`` with the report
and without it (``-p no:html``), alternating so that both see the same machine.

    python benchmarks/bench_report.py [--pairs 7]

Prints each pair and the median ratio (with / without); the target is at most 1.2.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def wall(*extra: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                        "--so101-report", out, *extra], cwd=REPO, check=True,
                       capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    wall("-p", "no:html")                      # warm the file cache once
    rows = []
    for i in range(args.pairs):
        if i % 2:
            without, with_html = wall("-p", "no:html"), wall()
        else:
            with_html, without = wall(), wall("-p", "no:html")
        rows.append((with_html, without))
        print(f"pair {i + 1}: with the HTML report {with_html:.2f} s, without "
              f"{without:.2f} s, ratio {with_html / without:.3f}", flush=True)
    ratios = [w / wo for w, wo in rows]
    print("\n| measure | value |\n|---|---:|")
    print(f"| `pytest suites` with the HTML report, median of {args.pairs} | "
          f"{statistics.median(w for w, _ in rows):.2f} s |")
    print(f"| `pytest suites -p no:html`, median of {args.pairs} | "
          f"{statistics.median(wo for _, wo in rows):.2f} s |")
    print(f"| ratio with / without, median of the pairs (max) | "
          f"{statistics.median(ratios):.3f} ({max(ratios):.3f}) |")


if __name__ == "__main__":
    main()
