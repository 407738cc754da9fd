"""A run's verdict in words: PASS, FAIL or NO CHECK RAN, each failing joint with the check
that failed, its value, limit, likely cause and fix, and each MARGINAL joint with why.

What the first screen of the HTML page and the end of the terminal summary say; built
from the tests a run reported (``{nodeid, outcome, measurements, message}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.joints import MOTOR_NAMES
from ..core.measurement import ACKNOWLEDGED, ARM, ARM_LEVEL, format_quantity, limits_text
from .grid import DOMAIN_ORDER, domain_of, split
from .record import EVIDENCE_ORDER, relative_margin

PASS, FAIL, NO_CHECK = "PASS", "FAIL", "NO CHECK RAN"


def limits_of(m: dict) -> str:
    """A measurement dict's limit in words (``|value| <= 1 deg``, ``[-100, 100] deg``)."""
    return limits_text(m["low"], m["high"], m["unit"])


def stated(m: dict) -> str:
    """``check = value unit (limit ...)``: what was measured, against what."""
    return f"{m['check']} = {format_quantity(m['value'], m['unit'])} (limit {limits_of(m)})"


@dataclass(frozen=True)
class Attention:
    """A joint (or the arm, the bus, a test that failed without naming one) that failed or
    is MARGINAL: the measurement shown first, and the others of the same kind."""

    joint: str
    outcome: str                     # FAIL | MARGINAL
    lead: dict | None                # None: a test that failed without a measurement
    others: list[dict] = field(default_factory=list)
    test: dict | None = None         # the test that failed without a measurement


@dataclass(frozen=True)
class Verdict:
    status: str                      # PASS | FAIL | NO CHECK RAN
    counts: dict[str, int]
    failing: list[Attention]
    marginal: list[Attention]        # the joints that are MARGINAL and do not fail
    #: the joints whose changes against the previous baseline the owner acknowledged
    #: (--so101-accept-changes)
    acknowledged: list[Attention] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.status != NO_CHECK


def checks_ran(tests: list[dict]) -> bool:
    """Whether the run checked anything: a test passed, failed or errored (a run that
    collected nothing, deselected everything or skipped everything checked nothing)."""
    return any(t["outcome"] in ("passed", "failed", "error") for t in tests)


def _rank(m: dict, nodeid: str) -> tuple:
    """The order a joint's measurements are told in: the strongest evidence first (a
    reading of the arm says more than the files), then catalog order, then the one
    furthest beyond its limit."""
    strength = EVIDENCE_ORDER.index(m.get("evidence") or "files")
    return (-strength, DOMAIN_ORDER.get(domain_of(split(nodeid)[0]), len(DOMAIN_ORDER)),
            relative_margin(m), m["check"])


def _attention(tests: list[dict], outcome: str) -> list[Attention]:
    found: dict[str, list[tuple[tuple, dict]]] = {}
    for t in tests:
        for m in t["measurements"]:
            if m["outcome"] == outcome:
                found.setdefault(m["joint"], []).append((_rank(m, t["nodeid"]), m))
    out = []
    for joint in (*MOTOR_NAMES, *ARM_LEVEL):
        if joint in found:
            ranked = [m for _, m in sorted(found[joint], key=lambda pair: pair[0])]
            out.append(Attention(joint, outcome, ranked[0], ranked[1:]))
    return out


def verdict(tests: list[dict], *, ran: bool | None = None) -> Verdict:
    """The run's verdict: FAIL when a test failed or errored, PASS when checks ran and
    none did, NO CHECK RAN otherwise; the failing joints and the MARGINAL ones. ``ran``:
    whether a check ran, when the caller knows better than the outcomes (a run of tests
    that used none of the plugin's fixtures checked nothing)."""
    counts = {k: sum(t["outcome"] == k for t in tests) for k in
              ("passed", "failed", "error", "skipped")}
    failing = _attention(tests, "FAIL")
    for t in tests:
        if t["outcome"] in ("failed", "error") and \
                not any(m["outcome"] == "FAIL" for m in t["measurements"]):
            failing.append(Attention(split(t["nodeid"])[1] or ARM, "FAIL", None, test=t))
    status = NO_CHECK if not (checks_ran(tests) if ran is None else ran) else \
        FAIL if counts["failed"] or counts["error"] else PASS
    failing_joints = {a.joint for a in failing if a.lead is not None}
    marginal = [a for a in _attention(tests, "MARGINAL") if a.joint not in failing_joints]
    return Verdict(status, counts, failing, marginal, _attention(tests, ACKNOWLEDGED))


def headline(v: Verdict, *, status: bool = True) -> str:
    """One line: the verdict (unless ``status`` is false: a badge says it), the failing
    joints, the MARGINAL joints."""
    if not v.ran:
        skipped = v.counts["skipped"]
        why = (f"{skipped} skipped, none passed or failed" if skipped else
               "no test ran (nothing collected, everything deselected, or --collect-only)")
        return f"{NO_CHECK}: {why}" if status else why
    parts = [v.status] if status else []
    joints = list(dict.fromkeys(a.joint for a in v.failing if a.lead is not None))
    tests = [a for a in v.failing if a.lead is None]
    if joints:
        parts.append(f"failing: {', '.join(joints)}")
    if tests:
        parts.append(f"{len(tests)} test{'s' * (len(tests) > 1)} failed without a "
                     "measurement")
    if v.marginal:
        parts.append(f"MARGINAL: {', '.join(a.joint for a in v.marginal)}")
    if v.acknowledged:
        parts.append("changed since the previous baseline, acknowledged: "
                     f"{', '.join(a.joint for a in v.acknowledged)}")
    if not status and len(parts) == 0:
        parts.append("no joint failed and none is MARGINAL")
    return "; ".join(parts)
