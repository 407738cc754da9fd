"""The fleet summary: one row per arm, one column per suite, from the arms' own records.

Each cell counts the suite's tests on that arm (passed, failed, skipped) and names the
joints that failed; each row says the verdict, the failing joints with their checks, the
arm's baseline (the one compared with, the one accepted) and links the arm's own report.
Written as JSON (schema ``pytest-so101/fleet/1``) and as a self-contained HTML page.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

from .grid import split
from .html import COLORS
from .overview import STYLE

SCHEMA = "pytest-so101/fleet/1"
FLEET_JSON = "so101-fleet.json"
FLEET_HTML = "so101-fleet.html"
OUTCOMES = ("passed", "failed", "error", "skipped")
SKIP_COLOR = "#9e9e9e"


def _failing_joints(test: dict) -> list[str]:
    """The joints a failed test named: its FAIL measurements, else its joint parameter."""
    joints = [m["joint"] for m in test["measurements"] if m["outcome"] == "FAIL"]
    if not joints:
        joint = split(test["nodeid"])[1]
        joints = [joint] if joint else []
    return list(dict.fromkeys(joints))


def _first_line(message: str) -> str:
    """A failure's first line of substance (not xdist's ``[gw0] linux -- Python ...``)."""
    lines = [line for line in message.strip().splitlines()
             if line.strip() and not re.match(r"^\[gw\d+\] ", line)]
    return lines[0] if lines else ""


def arm_summary(record: dict, *, suite_of: dict[str, str], worker: str | None,
                record_path: str, report_path: str, baseline: dict) -> dict:
    """One arm's row: verdict, counts per suite (``suite_of``: test id -> its suite, e.g.
    ``hil``), the failures with their joints and checks, the baseline, and where its
    record and report are."""
    suites: dict[str, dict] = {}
    failures = []
    for test in record["tests"]:
        cell = suites.setdefault(suite_of.get(test["nodeid"], "other"),
                                 {**dict.fromkeys(OUTCOMES, 0), "failing_joints": []})
        cell[test["outcome"]] += 1
        if test["outcome"] in ("failed", "error"):
            joints = _failing_joints(test)
            cell["failing_joints"] = list(dict.fromkeys(cell["failing_joints"] + joints))
            checks = list(dict.fromkeys(m["check"] for m in test["measurements"]
                                        if m["outcome"] == "FAIL"))
            failures.append({"nodeid": test["nodeid"], "joints": joints, "checks": checks,
                             "message": _first_line(test.get("message") or "")})
    provenance = record["provenance"]
    calibration = provenance.get("calibration") or {}
    return {
        "arm_id": provenance["arm_id"],
        "port": provenance.get("port"),
        "worker": worker,
        "calibration": {"source": calibration.get("source"),
                        "sha256": calibration.get("sha256")},
        "passed": record["passed"],
        "summary": record["summary"],
        "failing_joints": list(dict.fromkeys(j for f in failures for j in f["joints"])),
        "failures": failures,
        "suites": suites,
        "baseline": baseline,
        "record": record_path,
        "report": report_path,
    }


def fleet_summary(arms: list[dict], *, arms_file: str, workers: dict[str, list[str]],
                  missing: list[str]) -> dict:
    """The whole fleet: every arm's row, the suites seen, the workers' shares; ``missing``
    are arms that reported no test at all (their worker died, or the run stopped)."""
    suites = list(dict.fromkeys(s for arm in arms for s in arm["suites"]))
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "arms_file": arms_file,
        "workers": workers,
        "suites": suites,
        "passed": bool(arms) and not missing and all(arm["passed"] for arm in arms),
        "counts": {"arms": len(arms) + len(missing),
                   "passed": sum(arm["passed"] for arm in arms),
                   "failed": sum(not arm["passed"] for arm in arms),
                   "missing": len(missing)},
        "missing": missing,
        "arms": arms,
    }


def _e(text: object) -> str:
    return html.escape(str(text))


def _cell(cell: dict | None) -> str:
    if cell is None:
        return "<td class='so101-none'></td>"
    bad = cell["failed"] + cell["error"]
    color = COLORS["FAIL"] if bad else COLORS["PASS"] if cell["passed"] else SKIP_COLOR
    joints = ", ".join(cell["failing_joints"])
    text = f"{cell['passed']} / {bad} / {cell['skipped']}" + (f"<br>{_e(joints)}"
                                                              if joints else "")
    tip = f"{cell['passed']} passed, {cell['failed']} failed, {cell['error']} errors, " \
        f"{cell['skipped']} skipped"
    return (f"<td class='so101-cell' style='background:{color}' title='{_e(tip)}'>"
            f"{text}</td>")


def _relative(path: str | None, folder: Path) -> str:
    if not path:
        return ""
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path)


def fleet_fragment(summary: dict, folder: Path) -> str:
    """The fleet summary as an HTML fragment (links relative to ``folder``)."""
    counts = summary["counts"]
    verdict = "PASS" if summary["passed"] else "FAIL"
    missing = f", {counts['missing']} missing" if counts["missing"] else ""
    head = "".join(f"<th>{_e(s)}</th>" for s in summary["suites"])
    rows = []
    for arm in summary["arms"]:
        cells = "".join(_cell(arm["suites"].get(s)) for s in summary["suites"])
        failing = "; ".join(f"{', '.join(f['joints']) or '(arm)'}: "
                            f"{', '.join(f['checks']) or f['nodeid'].partition('::')[2]}"
                            for f in arm["failures"])
        base = arm["baseline"]
        baseline = " ".join(p for p in (
            f"compared with {_relative(base.get('compared_with'), folder)}"
            if base.get("compared_with") else "none yet",
            f"accepted {_relative(base['accepted'], folder)}" if base.get("accepted") else "",
            f"NOT accepted: {base['refused']}" if base.get("refused") else "") if p)
        color = COLORS["PASS" if arm["passed"] else "FAIL"]
        link = _relative(arm["report"], folder)
        rows.append(
            f"<tr><th><a href='{_e(link)}'>{_e(arm['arm_id'])}</a></th>"
            f"<td style='background:{color};color:#fff;font-weight:bold'>"
            f"{'PASS' if arm['passed'] else 'FAIL'}</td>{cells}"
            f"<td>{_e(failing)}</td><td>{_e(arm['port'])}</td><td>{_e(arm['worker'] or '')}"
            f"</td><td>{_e(baseline)}</td></tr>")
    for arm_id in summary["missing"]:
        rows.append(f"<tr><th>{_e(arm_id)}</th><td style='background:{COLORS['FAIL']};"
                    "color:#fff'>MISSING</td>"
                    f"<td colspan='{len(summary['suites']) + 4}'>no test reported (its "
                    "worker died, or the run stopped)</td></tr>")
    return (
        STYLE + "<div class='so101-overview'>"
        f"<span class='so101-verdict' style='background:{COLORS[verdict]}'>{verdict}</span> "
        f"{counts['passed']} of {counts['arms']} arms passed{missing}"
        f"<h3>Fleet {_e(summary['arms_file'])}</h3>"
        "<p>Each cell: tests passed / failed / skipped of that suite on that arm, and the "
        "joints that failed. Click an arm for its own report.</p>"
        "<table class='so101-grid so101-fleet'><tr><th>arm</th><th>verdict</th>"
        f"{head}<th>failing joints: checks</th><th>port</th><th>worker</th>"
        f"<th>baseline</th></tr>{''.join(rows)}</table></div>")


def page(title: str, body: str) -> str:
    """A self-contained HTML document around a fragment."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"</head><body>{body}</body></html>\n")
