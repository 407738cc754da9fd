"""The checks x joints grid of a run, as data: a row per check (the tests of one suite
function and its non-joint parameters), grouped by the catalog's domains, a cell per joint
and one for the arm as a whole; rows skipped on every joint folded.

Built from what every test reported (test ids, outcomes, measurements), so a ``pytest -n
2`` run gives the same grid as a serial one; rows are in catalog order, not in the order
the results arrived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ..checks.catalog import ALL, BY_NAME, DOMAIN_OF_SUITE, DOMAINS
from ..core.joints import MOTOR_NAMES
from ..core.measurement import ARM, ARM_LEVEL, format_quantity
from .record import worst_measurement

_JOINT_PARAM = re.compile(r"^(?P<head>.*?)(?:\[(?P<params>[^\]]*)\])?$")
#: A column of the grid for what is measured of the arm as a whole (or of the bus).
ARM_COLUMN = ARM
OTHER_DOMAIN = "other"
_CATALOG_ORDER = {c.name: k for k, c in enumerate(ALL)}
DOMAIN_ORDER = {d: k for k, d in enumerate(DOMAINS)}


@dataclass
class Row:
    """One check of the grid: the tests of one suite function (and its non-joint
    parameters), each with the joint its id names (None: the arm as a whole)."""

    key: str
    label: str
    domain: str
    order: tuple
    tests: list[dict] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "so101-" + re.sub(r"[^a-zA-Z0-9]+", "-", self.key).strip("-")

    def measurements(self) -> list[dict]:
        return [m for t in self.tests for m in t["measurements"]]


class Cell(NamedTuple):
    """What a row says of one joint (or of the arm): a status (PASS, MARGINAL, FAIL,
    SKIP, ERROR; "" for nothing), the text shown (the worst margin with its unit) and the
    text on hover (the value, the limit, the reason)."""

    status: str = ""
    text: str = ""
    tip: str = ""


def split(nodeid: str) -> tuple[str, str | None]:
    """(row key, joint) of a test id: the joint is the last parameter when it names one
    (``test_x[shoulder_pan]``, ``test_x[calibrated-range-shoulder_pan]``)."""
    match = _JOINT_PARAM.match(nodeid)
    head, params = match["head"], match["params"]
    if params is None:
        return nodeid, None
    for joint in MOTOR_NAMES:
        if params == joint:
            return head, joint
        if params.endswith("-" + joint):
            return f"{head}[{params[: -len(joint) - 1]}]", joint
    return nodeid, None


def _check_of(key: str) -> str | None:
    """The catalog check a row key names in its parameters (``[stats-key-all]``)."""
    params = _JOINT_PARAM.match(key)["params"]
    if params is None:
        return None
    for name in (params, params.removesuffix("-" + ARM)):
        if name in BY_NAME:
            return name
    return None


def _suite(key: str) -> str:
    file = key.partition("::")[0]
    return file.rsplit("/", 1)[-1].removesuffix(".py").removeprefix("test_")


def domain_of(key: str) -> str:
    """The catalog domain of a row (``other`` for a test the catalog does not know)."""
    check = _check_of(key)
    if check is not None:
        return BY_NAME[check].domain
    return DOMAIN_OF_SUITE.get(_suite(key), OTHER_DOMAIN)


def label(key: str) -> str:
    """What a row is called: its check's title, else its test's name in words."""
    check = _check_of(key)
    if check is not None:
        return BY_NAME[check].title
    name = key.partition("::")[2] or key
    match = _JOINT_PARAM.match(name)
    words = match["head"].removeprefix("test_").replace("_", " ")
    return f"{words} [{match['params']}]" if match["params"] else words


def rows(tests: list[dict]) -> list[Row]:
    """The grid's rows in catalog order (domains, then each domain's checks, then the
    order the tests came); each test goes to its row with the joint its id names."""
    found: dict[str, Row] = {}
    for test in tests:
        key, joint = split(test["nodeid"])
        if key not in found:
            domain = domain_of(key)
            check = _check_of(key)
            found[key] = Row(key, label(key), domain, (
                DOMAIN_ORDER.get(domain, len(DOMAIN_ORDER)),
                _CATALOG_ORDER.get(check, len(_CATALOG_ORDER)) if check else len(_CATALOG_ORDER),
                len(found)))
        found[key].tests.append({**test, "joint": joint})
    return sorted(found.values(), key=lambda r: r.order)


def _measured_cell(worst: dict) -> Cell:
    margin = format_quantity(worst["margin"], worst["unit"], digits=3, signed=True)
    if worst["value"] is None:
        return Cell(worst["outcome"], "n/a", f"{worst['check']}: {worst['detail']}")
    value = format_quantity(worst["value"], worst["unit"])
    return Cell(worst["outcome"], margin,
                f"{worst['check']} = {value}, margin {margin}: {worst['detail']}")


def _outcome_cell(tests: list[dict], *, recorded_nothing: bool) -> Cell:
    outcomes = {t["outcome"] for t in tests}
    message = next((t["message"] for t in tests if t.get("message")), "")
    if "error" in outcomes:
        return Cell("ERROR", "error", message)
    if "failed" in outcomes:
        return Cell("FAIL", "fail", message)
    if outcomes == {"skipped"}:
        return Cell("SKIP", "skip", message)
    if "passed" in outcomes:
        return Cell("PASS", "pass", "passed; recorded no measurement" if recorded_nothing
                    else "passed")
    return Cell()


def cell(row: Row, joint: str) -> Cell:
    """What ``row`` says of ``joint`` (a motor name, or ``ARM_COLUMN`` for the arm as a
    whole and the bus). A joint's cell comes from its measurements, else from the tests
    whose id names it; a test of the whole arm that measured no joint says its outcome
    in the arm's cell only (it made no claim about any one joint), a skip on every joint
    (it would have measured them)."""
    names = ARM_LEVEL if joint == ARM_COLUMN else (joint,)
    mine = [m for m in row.measurements() if m["joint"] in names]
    worst = worst_measurement(mine)
    own = [t for t in row.tests if t["joint"] == joint]
    arm_wide = [t for t in row.tests if t["joint"] is None]
    if worst is not None:
        return _measured_cell(worst)
    if own:
        return _outcome_cell(own, recorded_nothing=True)
    if not arm_wide:
        return Cell()
    if joint == ARM_COLUMN:
        unmeasured = [t for t in arm_wide if not t["measurements"]]
        failed = [t for t in arm_wide if t["outcome"] in ("failed", "error")]
        if failed and not any(m["outcome"] == "FAIL" for t in failed
                              for m in t["measurements"]):
            return _outcome_cell(failed, recorded_nothing=False)   # failed, no joint named
        if unmeasured and {t["outcome"] for t in unmeasured} != {"skipped"}:
            return _outcome_cell(unmeasured, recorded_nothing=True)
        return Cell()
    skipped = [t for t in arm_wide if t["outcome"] == "skipped"]
    if skipped and len(skipped) == len(arm_wide):
        return _outcome_cell(skipped, recorded_nothing=True)
    return Cell()


def arm_column_used(all_rows: list[Row]) -> bool:
    """Whether any row says something of the arm as a whole (the grid's last column)."""
    return any(cell(r, ARM_COLUMN).status for r in all_rows)


def skipped_everywhere(row: Row, columns: tuple[str, ...]) -> bool:
    """A row that ran on no joint: every cell it has is a skip (folded in the grid)."""
    statuses = {cell(row, c).status for c in columns} - {""}
    return statuses == {"SKIP"} or (not statuses and all(
        t["outcome"] == "skipped" for t in row.tests))
