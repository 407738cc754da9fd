"""The acceptance record of a run: provenance and every measurement, as versioned JSON.

Written atomically (a temporary file renamed into place), so a reader never sees half a
record and an interrupted run leaves the previous file intact; with the permissions the
user's umask gives any new file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from ..core.errors import So101ConfigError
from ..core.files import open_regular
from ..core.joints import MOTOR_NAMES
from ..core.measurement import ACKNOWLEDGED, ARM_LEVEL, Measurement

SCHEMA = "pytest-so101/record/3"
SCHEMA_PATH = Path(__file__).with_name("record.schema.json")
PACKAGES = ("pytest-so101", "pytest", "numpy", "mujoco", "feetech-servo-sdk", "hypothesis",
            "pytest-html", "lerobot")


def sha256_file(path: str | Path) -> str | None:
    """SHA-256 of a regular file; None for a folder, a pipe or anything unreadable."""
    try:
        with open_regular(path, "file") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except (So101ConfigError, OSError):
        return None


def sha256_text(text: str) -> str:
    """SHA-256 of a file's text as it would be written (UTF-8): the hash of a file the
    run generated rather than read (the twin's own calibration)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_entry(source: str | Path, **more: object) -> dict:
    """A file the run used, as the record names it: its path and its SHA-256."""
    return {"source": str(source), "sha256": sha256_file(source), **more}


def generated_entry(name: str, text: str, **more: object) -> dict:
    """A file the run generated (no path a user could open afterwards): named for what it
    is, hashed as the text it would be written as."""
    return {"source": name, "sha256": sha256_text(text), "generated": True, **more}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def measurement_dict(m: Measurement, *, acknowledged: bool = False) -> dict:
    """A measurement as the record keeps it; ``acknowledged``: a failure against the
    previous baseline that the owner acknowledged (its outcome ACKNOWLEDGED)."""
    data = asdict(m)
    data.update(outcome=ACKNOWLEDGED if acknowledged and not m.passed else m.outcome.value,
                margin=None if m.margin in (float("inf"), float("-inf")) else m.margin)
    for key in ("value", "low", "high", "margin"):   # NaN and infinities are not JSON
        if isinstance(data[key], float) and not math.isfinite(data[key]):
            data[key] = None
    return data


#: Evidence kinds from weakest to strongest (measurement.Evidence).
EVIDENCE_ORDER = ("files", "servo", "twin", "physical")


def _evidence_of(measurements: list[dict], names: tuple[str, ...]) -> dict[str, list[str]]:
    """Per name (in ``names``' order), the kinds of evidence its measurements had, weakest
    first."""
    found: dict[str, set[str]] = {}
    for m in measurements:
        if m["joint"] in names:
            found.setdefault(m["joint"], set()).add(m.get("evidence") or "files")
    return {name: [k for k in EVIDENCE_ORDER if k in found[name]] for name in names
            if name in found}


def evidence_by_joint(measurements: list[dict]) -> dict[str, list[str]]:
    """Per joint (the six motors only), the kinds of evidence its measurements had."""
    return _evidence_of(measurements, MOTOR_NAMES)


def arm_evidence(measurements: list[dict]) -> dict[str, list[str]]:
    """The same for what is measured of the arm as a whole (``all``) and of the bus."""
    return _evidence_of(measurements, ARM_LEVEL)


def relative_margin(m: dict) -> float:
    """A measurement dict's margin as a fraction of its allowed band (small: close to a
    limit); equality checks that hold rank last, a failure without a value first."""
    if m["margin"] is None:
        return float("-inf") if m["outcome"] == "FAIL" else float("inf")
    low, high = m["low"], m["high"]
    if low is not None and high is not None:
        return m["margin"] / (high - low) if high > low else float("inf")
    bound = high if high is not None else low
    return m["margin"] / abs(bound) if bound else float("inf")


def worst_measurement(measurements: list[dict]) -> dict | None:
    """The measurement to show for a set: failures first, then MARGINAL, then the one
    closest to its limit."""
    order = {"FAIL": 0, "MARGINAL": 1, ACKNOWLEDGED: 2, "PASS": 3}
    return min(measurements, key=lambda m: (order[m["outcome"]], relative_margin(m)),
               default=None)


def build_record(*, provenance: dict, tolerances: dict, tests: list[dict]) -> dict:
    """A record: ``tests`` are ``{nodeid, outcome, measurements: [dict]}``; ``evidence``
    says per joint which kinds of evidence the run had, ``arm_evidence`` the same for the
    arm as a whole and the bus (schema 3)."""
    outcomes = [t["outcome"] for t in tests]
    measured = [m for t in tests for m in t["measurements"]]
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "provenance": provenance,
        "tolerances": tolerances,
        "summary": {k: outcomes.count(k) for k in ("passed", "failed", "skipped", "error")},
        "passed": not any(o in ("failed", "error") for o in outcomes),
        "evidence": evidence_by_joint(measured),
        "arm_evidence": arm_evidence(measured),
        "tests": tests,
    }


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new empty file beside ``path``, with the permissions the umask gives any new file
    (``mkstemp`` would make it 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def write_atomic(path: str | Path, data: dict, *, exclusive: bool = False) -> Path:
    """Write JSON through a temporary file renamed into place; with ``exclusive`` never
    replace an existing file (raises FileExistsError)."""
    return write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n",
                             exclusive=exclusive)


def write_text_atomic(path: str | Path, text: str, *, exclusive: bool = False) -> Path:
    """Write text (UTF-8) through a temporary file renamed into place (an HTML page, a
    record); with ``exclusive`` never replace an existing file (raises FileExistsError)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)          # fails if the path exists: never overwritten
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
