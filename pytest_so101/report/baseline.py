"""Accepted baselines of an arm: numbered records that are never overwritten, and what
changed since the latest one.

Baselines are ``0001.json``, ``0002.json``, ...: four digits while the numbers are small,
as many as needed after ``9999.json``, ordered by number.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core import files
from ..core.calibration import Calibration, parse_calibration
from ..core.errors import config_error
from ..core.measurement import ACKNOWLEDGED
from .record import write_atomic

NUMBERED = re.compile(r"^(\d+)\.json$")


def baseline_dir(report_dir: str | Path, arm_id: str) -> Path:
    return Path(report_dir) / "baselines" / arm_id


def _number(path: Path) -> int:
    match = NUMBERED.match(path.name)
    assert match is not None
    return int(match.group(1))


def baselines(report_dir: str | Path, arm_id: str) -> list[Path]:
    """The arm's numbered baselines, oldest (lowest number) first."""
    folder = baseline_dir(report_dir, arm_id)
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise config_error(f"cannot list the baselines: {exc.strerror}",
                           source=str(folder)) from None
    return sorted((folder / name for name in names if NUMBERED.match(name)), key=_number)


def latest_baseline(report_dir: str | Path, arm_id: str) -> Path | None:
    found = baselines(report_dir, arm_id)
    return found[-1] if found else None


def accept(record: dict, report_dir: str | Path, arm_id: str) -> Path:
    """Store a passing record as the arm's next numbered baseline; refuse a failing one
    (with ``--so101-accept-changes`` the baseline comparisons' findings are acknowledged,
    not failed: anything else failing still refuses it)."""
    if not record["passed"]:
        failed = [t["nodeid"] for t in record["tests"] if t["outcome"] in ("failed", "error")]
        changes = "acknowledged" in record
        raise config_error(f"a failing run cannot be accepted ({len(failed)} failed: "
                           f"{', '.join(failed[:3])}); earlier baselines are untouched"
                           + ("; --so101-accept-changes acknowledges only what changed "
                              "against the previous baseline, not a failing check of the "
                              "arm or its files" if changes else ""),
                           source="--so101-accept-changes" if changes else "--so101-accept")
    if "interrupted" in record:
        raise config_error(f"an interrupted run ({record['interrupted']}) cannot be accepted: "
                           "not every check ran; earlier baselines are untouched",
                           source="--so101-accept")
    folder = baseline_dir(report_dir, arm_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise config_error("cannot store a baseline: part of this path is a file, not a "
                           "folder", source=str(folder)) from None
    except OSError as exc:
        raise config_error(f"cannot store a baseline: {exc.strerror}",
                           source=str(folder)) from None
    found = baselines(report_dir, arm_id)
    number = _number(found[-1]) + 1 if found else 1
    return write_atomic(folder / f"{number:04d}.json", record, exclusive=True)


def _list_of_tables(value: object, *, source: str, field: str) -> list[dict]:
    return [files.table(item, source=source, field=f"{field}[{i}]")
            for i, item in enumerate(files.array(value, source=source, field=field))]


def _check_record(data: object, source: str) -> dict:
    """The parts of a record that the baseline comparisons read, checked for type."""
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str) or \
            data["schema"].split("/")[:2] != ["pytest-so101", "record"]:
        raise config_error("not a pytest-so101 acceptance record", source=source,
                           field="schema", value=data.get("schema") if isinstance(data, dict)
                           else None)
    files.string(data.get("created"), source=source, field="created")
    for i, test in enumerate(_list_of_tables(data.get("tests"), source=source, field="tests")):
        for j, m in enumerate(_list_of_tables(test.get("measurements"), source=source,
                                              field=f"tests[{i}].measurements")):
            field = f"tests[{i}].measurements[{j}]"
            files.string(m.get("check"), source=source, field=f"{field}.check")
            files.string(m.get("joint"), source=source, field=f"{field}.joint")
            if m.get("value") is not None:
                files.number(m["value"], source=source, field=f"{field}.value")
    provenance = files.table(data.get("provenance", {}), source=source, field="provenance")
    calibration = provenance.get("calibration")
    if calibration is not None:
        calibration = files.table(calibration, source=source, field="provenance.calibration")
        files.table(calibration.get("contents"), source=source,
                    field="provenance.calibration.contents")
    return data


def load_baseline(path: str | Path) -> dict:
    """Read an accepted record, checking the parts the comparisons use."""
    return _check_record(files.read_json(path, "baseline", files.RECORD_LIMIT), str(path))


def baseline_calibration(record: dict, source: str) -> Calibration | None:
    cal = (record.get("provenance") or {}).get("calibration")
    return parse_calibration(cal["contents"], source=f"{source} [calibration]") if cal else None


def measurement_changes(baseline: dict, current: list[dict]
                        ) -> list[tuple[str, str, float, float]]:
    """(check, joint, baseline value, current value) of the measurements that changed."""
    before = {(m["check"], m["joint"]): m["value"] for t in baseline.get("tests", [])
              for m in t["measurements"] if m.get("value") is not None}
    out = []
    for m in current:
        key = (m["check"], m["joint"])
        if key in before and m["value"] is not None and m["value"] != before[key]:
            out.append((m["check"], m["joint"], before[key], m["value"]))
    return out


def measured_in(record: dict, check: str) -> dict[str, float] | None:
    """Per joint, the value a baseline's run measured for ``check`` (e.g. the rest reading
    against the mapped rest pose); None when that run did not measure it."""
    found = {m["joint"]: float(m["value"]) for t in record.get("tests", [])
             for m in t["measurements"] if m["check"] == check and m.get("value") is not None}
    return found or None


def acknowledged(tests: list[dict]) -> list[dict]:
    """The changes against the previous baseline that the owner acknowledged (the
    measurements recorded ACKNOWLEDGED), as the record lists them."""
    keys = ("check", "joint", "value", "unit", "detail", "cause", "fix")
    return [{"nodeid": t["nodeid"], **{k: m[k] for k in keys if k in m}}
            for t in tests for m in t["measurements"] if m["outcome"] == ACKNOWLEDGED]
