"""Detection and false alarms on files SO-100/SO-101 owners published (fixtures/real/).

    python benchmarks/real_files.py [--json]

Every calibration file is run through the checks of the files (so101-diagnose's) with each
bundled mapping (degrees, -100..100, the legacy-frame policy), and every stats file with the
bundled mappings; each verdict is compared with what the file is (fixtures/real/
PROVENANCE.md): a correct file with any FAIL is a false alarm, a broken one that passes (or
is not named for what it is) a miss. Prints one line per file and the totals.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_so101.cli import diagnose  # noqa: E402

REAL = REPO / "fixtures" / "real"
MAPPINGS = REPO / "fixtures" / "mapping"
BUNDLED = ("so101_degrees", "so101_range", "so101_legacy_policy")


@dataclass(frozen=True)
class Case:
    """One file with one mapping, and what its verdict must say (empty: it must pass)."""

    what: str
    args: tuple[str, ...]
    named: str = ""          # text the output must hold when the file is broken


def cases() -> list[Case]:
    found = []
    for path in sorted((REAL / "calibration").glob("*.json")):
        kind = path.name[:2]
        for mapping in BUNDLED:
            args = ("--calibration", str(path), "--mapping", str(MAPPINGS / f"{mapping}.toml"))
            named = {"06": "0/4095 seam", "16": "before 0.2"}.get(kind, "")
            found.append(Case(f"calibration {path.name[:40]} + {mapping}", args, named))
    stats = REAL / "stats"
    found += [
        Case("stats 01 (-100..100) + so101_range", ("--stats", str(
            stats / "01_SamueleSandrini_record-test_meta_stats.json"), "--mapping",
            str(MAPPINGS / "so101_range.toml"))),
        Case("stats 03 (sim radians) + so101_degrees", ("--stats", str(
            stats / "03_Bhavya007-17_p1-so101-sim-t1_meta_stats_TRIMMED.json"), "--mapping",
            str(MAPPINGS / "so101_degrees.toml")), "sim radians"),
        Case("stats 05 (two arms, ticks) + so101_degrees", ("--stats", str(
            stats / "05_WangzyNicole_Bimanual-Cloth_meta_stats_TRIMMED.json"), "--mapping",
            str(MAPPINGS / "so101_degrees.toml")), "raw servo ticks"),
    ]
    return found


def run(case: Case) -> tuple[bool, str]:
    """(as expected, verdict): a correct file passes; a broken one fails naming itself."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = diagnose.main(list(case.args))
    text = out.getvalue()
    if not case.named:
        return code == 0, "pass" if code == 0 else "FALSE ALARM"
    caught = code == 1 and case.named in text
    return caught, "caught, named" if caught else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [(case, *run(case)) for case in cases()]
    correct = [r for r in rows if not r[0].named]
    broken = [r for r in rows if r[0].named]
    totals = {"correct_runs": len(correct), "false_alarms": sum(not ok for _, ok, _ in correct),
              "broken_runs": len(broken), "caught": sum(ok for _, ok, _ in broken)}
    if args.json:
        print(json.dumps({"rows": [{"case": c.what, "verdict": v} for c, _, v in rows],
                          **totals}, indent=2))
    else:
        for case, _, verdict in rows:
            print(f"{case.what:<75} {verdict}")
        print(f"\nfalse alarms: {totals['false_alarms']}/{totals['correct_runs']} correct runs; "
              f"caught and named: {totals['caught']}/{totals['broken_runs']} broken runs")
    return 0 if totals["false_alarms"] == 0 and totals["caught"] == totals["broken_runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
