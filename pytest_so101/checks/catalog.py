"""Every check of every domain, in one list: what the suites run, what ``so101-diagnose``
runs and lists (``--list-checks``), and what ``docs/checks.md`` is generated from.

A new check goes into its domain's module (``configuration``, ``normalization``,
``rest_pose``, ``hil``, ``gravity``, ``health``, ``mechanics``, ``teleop``, ``guided``,
``datasets``, ``acceptance``) as one :class:`~pytest_so101.checks.base.Check` in that
module's ``CHECKS``; the catalog picks it up from there.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import (
    acceptance,
    configuration,
    datasets,
    gravity,
    guided,
    health,
    hil,
    mechanics,
    normalization,
    rest_pose,
    teleop,
)
from .base import Check, Setup

#: The domains, in the order a run meets them, and their checks.
DOMAINS: dict[str, tuple[Check, ...]] = {
    "configuration": configuration.CHECKS,
    "normalization": normalization.CHECKS,
    "datasets": datasets.CHECKS,
    "rest pose": rest_pose.CHECKS,
    "servo health": health.CHECKS,
    "hil": hil.CHECKS,
    "gravity": gravity.CHECKS,
    "mechanics": mechanics.CHECKS,
    "teleoperation": teleop.CHECKS,
    "guided": guided.CHECKS,
    "acceptance": acceptance.CHECKS,
}
ALL: tuple[Check, ...] = tuple(c for checks in DOMAINS.values() for c in checks)
#: The checks of the configuration files: calibration, mapping, model and stats.
FILE_CHECKS: tuple[Check, ...] = configuration.CHECKS + normalization.CHECKS
BY_NAME: dict[str, Check] = {c.name: c for c in ALL}
SUITES = tuple(dict.fromkeys(c.suite for c in ALL if c.suite))
#: The domain of each suite's tests without a check of their own in their id: the first
#: domain with a check that suite runs (the round trip: configuration).
DOMAIN_OF_SUITE: dict[str, str] = {c.suite: c.domain for c in reversed(ALL) if c.suite}


def for_suite(suite: str) -> tuple[Check, ...]:
    """The checks a suite runs, in catalog order."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    return tuple(c for c in ALL if c.suite == suite)


def files_only() -> tuple[Check, ...]:
    """The checks of the files alone (so101-diagnose without --port)."""
    return tuple(c for c in ALL if c.files_only)


def read_only_arm() -> tuple[Check, ...]:
    """The checks of an arm that moves nothing (so101-diagnose --port, LeRobot's connect)."""
    return tuple(c for c in ALL if c.read_only_arm)


def _evidence(check: Check) -> str:
    kinds = {check.evidence[s] for s in check.evidence}
    if len(check.evidence) == len(Setup) and len(kinds) == 1:
        return f"{kinds.pop().value} (every setup)"
    return ", ".join(f"{setup.value}: {check.evidence[setup].value}" for setup in Setup
                     if setup in check.evidence)


def _where(check: Check) -> str:
    where = [f"suites/test_{check.suite}.py"] if check.suite else []
    if check.files_only:
        where.append("so101-diagnose")
    elif check.read_only_arm:
        where.append("so101-diagnose --port")
    return ", ".join(where)


def describe(checks: Iterable[Check] = ALL) -> str:
    """Every check as text: name, domain, evidence per setup, tolerance, what it catches."""
    lines = []
    for check in checks:
        lines += [f"{check.name}  [{check.domain}]  {check.title}",
                  f"    evidence:  {_evidence(check)}",
                  f"    tolerance: {check.tolerance}" + ("" if check.firm else " (advisory)"),
                  f"    catches:   {check.catches}",
                  f"    run by:    {_where(check)}"]
    return "\n".join(lines)


def markdown(checks: Iterable[Check] = ALL) -> str:
    """``docs/checks.md``: one table per domain, generated from the declarations."""
    out = ["# Checks", "",
           "Every check pytest-so101 runs, one declared unit each (`pytest_so101/checks/`),",
           "generated from the declarations by `so101-diagnose --list-checks --markdown`",
           "(the tests fail when this file is stale). *Evidence* says what a check proves in",
           "each setup where it runs (docs/evidence.md): `files` (your files agree with each",
           "other), `servo` (the servos' own registers and readings), `twin` (the emulated",
           "arm's ground truth), `physical` (a real reading against the rest pose, gravity or",
           "a person). Setups: `files` (no arm), `twin` (`pytest suites`), `hardware`",
           "(`--hardware`, read-only), `motion` (`--allow-motion`), `guided`",
           "(`--so101-guided`).", ""]
    checks = list(checks)
    for domain in dict.fromkeys(c.domain for c in checks):
        out += [f"## {domain}", "", "| check | what it catches | tolerance | evidence | run by |",
                "|---|---|---|---|---|"]
        for c in (c for c in checks if c.domain == domain):
            tolerance = c.tolerance + ("" if c.firm else " (advisory)")
            cells = [f"`{c.name}`: {c.title}", c.catches, tolerance, _evidence(c), _where(c)]
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        out.append("")
    return "\n".join(out)
