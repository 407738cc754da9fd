"""Accepted baselines of an arm: numbered records that are never overwritten, and what
changed since the latest one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..calibration import Calibration, parse_calibration
from ..errors import config_error
from .record import write_atomic

NUMBERED = re.compile(r"^(\d{4})\.json$")


def baseline_dir(report_dir: str | Path, arm_id: str) -> Path:
    return Path(report_dir) / "baselines" / arm_id


def baselines(report_dir: str | Path, arm_id: str) -> list[Path]:
    folder = baseline_dir(report_dir, arm_id)
    found = [p for p in folder.glob("*.json") if NUMBERED.match(p.name)] if folder.is_dir() \
        else []
    return sorted(found)


def latest_baseline(report_dir: str | Path, arm_id: str) -> Path | None:
    found = baselines(report_dir, arm_id)
    return found[-1] if found else None


def accept(record: dict, report_dir: str | Path, arm_id: str) -> Path:
    """Store a passing record as the arm's next numbered baseline; refuse a failing one."""
    if not record["passed"]:
        failed = [t["nodeid"] for t in record["tests"] if t["outcome"] in ("failed", "error")]
        raise config_error(f"a failing run cannot be accepted ({len(failed)} failed: "
                           f"{', '.join(failed[:3])}); earlier baselines are untouched",
                           source="--so101-accept")
    found = baselines(report_dir, arm_id)
    number = int(NUMBERED.match(found[-1].name).group(1)) + 1 if found else 1
    return write_atomic(baseline_dir(report_dir, arm_id) / f"{number:04d}.json", record,
                        exclusive=True)


def load_baseline(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise config_error("baseline not found", source=str(path)) from None
    except json.JSONDecodeError as exc:
        raise config_error(f"not valid JSON (line {exc.lineno})", source=str(path)) from None
    if not isinstance(data, dict) or data.get("schema", "").split("/")[:2] != \
            ["pytest-so101", "record"]:
        raise config_error("not a pytest-so101 acceptance record", source=str(path),
                           field="schema", value=data.get("schema") if isinstance(data, dict)
                           else None)
    return data


def baseline_calibration(record: dict, source: str) -> Calibration | None:
    cal = (record.get("provenance") or {}).get("calibration")
    return parse_calibration(cal["contents"], source=f"{source} [calibration]") if cal else None


def measurement_changes(baseline: dict, current: list[dict]
                        ) -> list[tuple[str, str, float, float]]:
    """(check, joint, baseline value, current value) of the measurements that changed."""
    before = {(m["check"], m["joint"]): m["value"] for t in baseline.get("tests", [])
              for m in t["measurements"] if m["value"] is not None}
    out = []
    for m in current:
        key = (m["check"], m["joint"])
        if key in before and m["value"] is not None and m["value"] != before[key]:
            out.append((m["check"], m["joint"], before[key], m["value"]))
    return out
