"""The report's overview, at the top of the HTML page: the arm and its evidence, the files
with their hashes, the verdict, a joint x check grid, the failures with cause and fix,
pictures of the arm, then the details per check (one plot across joints) and the skipped
tests, collapsed.

Built on the controller from what every test reported (measurements, outcomes, skip
reasons, pose pairs travel in the test reports), so a ``pytest -n 2`` run gives the same
page as a serial one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..core.joints import MOTOR_NAMES
from .html import COLORS, measurement_plot_svg, measurement_table
from .record import worst_measurement

SKIP_COLOR = "#9e9e9e"
ERROR_COLOR = "#6a1b9a"
_JOINT_PARAM = re.compile(r"^(?P<head>.*?)(?:\[(?P<params>[^\]]*)\])?$")


@dataclass
class Column:
    """One check of the grid: the tests of one suite function (and its non-joint
    parameters), with what each joint's cell says."""

    key: str
    label: str
    tests: list[dict] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "so101-" + re.sub(r"[^a-zA-Z0-9]+", "-", self.key).strip("-")

    def measurements(self) -> list[dict]:
        return [m for t in self.tests for m in t["measurements"]]


def _split(nodeid: str) -> tuple[str, str | None]:
    """(column key, joint) of a test id: the joint is the last parameter when it names
    one (``test_x[shoulder_pan]``, ``test_x[calibrated-range-shoulder_pan]``)."""
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


def _label(key: str) -> str:
    """``suites/test_configuration.py::test_configuration[calibrated-range]`` ->
    ``configuration: calibrated-range``."""
    file, _, name = key.partition("::")
    suite = file.rsplit("/", 1)[-1].removesuffix(".py").removeprefix("test_")
    name = name.removeprefix("test_")
    match = _JOINT_PARAM.match(name)
    if match["params"] and match["head"] == f"test_{suite}".removeprefix("test_"):
        name = match["params"]
    elif match["params"]:
        name = f"{match['head']} [{match['params']}]"
    return f"{suite}: {name.replace('_', ' ')}"


def columns(tests: list[dict]) -> list[Column]:
    """The grid's columns in run order; each test goes to its column with its joint."""
    found: dict[str, Column] = {}
    for test in tests:
        key, joint = _split(test["nodeid"])
        column = found.setdefault(key, Column(key, _label(key)))
        column.tests.append({**test, "joint": joint})
    return list(found.values())


def cell(column: Column, joint: str) -> tuple[str, str, str]:
    """(status, text, tooltip) of one grid cell."""
    tests = [t for t in column.tests if t["joint"] in (joint, None)]
    mine = [m for t in tests for m in t["measurements"] if m["joint"] == joint]
    own = [t for t in tests if t["joint"] == joint]
    arm_wide = [t for t in tests if t["joint"] is None]
    if not mine and not own and not arm_wide:
        return "", "", ""
    worst = worst_measurement(mine)
    outcomes = {t["outcome"] for t in own or arm_wide}
    if "error" in outcomes and worst is None:
        return "ERROR", "error", (own or arm_wide)[0].get("message", "")
    if worst is not None:
        status = worst["outcome"]
        margin = "" if worst["margin"] is None else f"{worst['margin']:+.2g}"
        tip = (f"{worst['check']} = {worst['value']:.4g} {worst['unit']}, margin {margin} "
               f"{worst['unit']}: {worst['detail']}" if worst["value"] is not None else
               f"{worst['check']}: {worst['detail']}")
        return status, margin or status.lower(), tip
    if arm_wide and not own and any(t["measurements"] for t in arm_wide):
        return "", "", ""                           # measured, but not this joint
    if "failed" in outcomes:
        return "FAIL", "fail", (own or arm_wide)[0].get("message", "")
    if outcomes == {"skipped"}:
        return "SKIP", "skip", (own or arm_wide)[0].get("message", "")
    return "PASS", "pass", ""


def _e(text: object) -> str:
    return html.escape(str(text))


def _grid(cols: list[Column]) -> str:
    colors = {**COLORS, "SKIP": SKIP_COLOR, "ERROR": ERROR_COLOR}
    head = "".join(f"<th class='so101-col' title='{_e(c.key)}'><a href='#{c.anchor}'>"
                   f"<span>{_e(c.label)}</span></a></th>" for c in cols)
    rows = []
    for joint in MOTOR_NAMES:
        cells = []
        for c in cols:
            status, text, tip = cell(c, joint)
            if not status:
                cells.append("<td class='so101-none'></td>")
                continue
            cells.append(f"<td class='so101-cell so101-{status.lower()}' "
                         f"style='background:{colors[status]}' title='{_e(tip)}'>"
                         f"<a href='#{c.anchor}'>{_e(text)}</a></td>")
        rows.append(f"<tr><th>{joint}</th>{''.join(cells)}</tr>")
    return (f"<table class='so101-grid'><tr><th>joint</th>{head}</tr>{''.join(rows)}</table>")


STYLE = """<style>
.so101-overview{font-family:sans-serif;font-size:13px;max-width:100%}
.so101-verdict{display:inline-block;padding:6px 14px;color:#fff;font-size:18px;
 font-weight:bold;border-radius:4px}
.so101-facts td,.so101-facts th{text-align:left;padding:2px 8px;vertical-align:top}
.so101-grid{border-collapse:collapse;margin:8px 0}
.so101-grid th,.so101-grid td{border:1px solid #ddd;padding:2px 4px;font-size:11px}
.so101-grid th.so101-col{height:170px;white-space:nowrap;vertical-align:bottom;width:30px}
.so101-grid th.so101-col span{display:inline-block;transform:rotate(-60deg);
 transform-origin:left bottom;width:22px;position:relative;left:12px}
.so101-grid td.so101-cell{color:#fff;text-align:center;min-width:30px}
.so101-grid td.so101-cell a,.so101-grid th a{color:inherit;text-decoration:none}
.so101-grid td.so101-none{background:#f5f5f5}
.so101-failure{border-left:4px solid #c62828;padding:4px 8px;margin:6px 0;background:#fff5f5}
.so101-pictures figure{display:inline-block;margin:4px;text-align:center}
.so101-pictures img{border:1px solid #ddd}
details.so101 summary{cursor:pointer;font-weight:bold;margin:8px 0}
</style>"""


def _files(provenance: dict) -> str:
    rows = []
    cal = provenance.get("calibration")
    for what, entry in (("calibration", cal), ("model", provenance.get("model")),
                        ("stats", provenance.get("stats")),
                        ("mapping", provenance.get("mapping"))):
        if not entry:
            rows.append(f"<tr><th>{what}</th><td>none</td><td></td></tr>")
            continue
        digest = entry.get("sha256") or ""
        rows.append(f"<tr><th>{what}</th><td>{_e(entry['source'])}</td>"
                    f"<td title='{_e(digest)}'>sha256 {_e(digest[:12])}</td></tr>")
    return "".join(rows)


def _failures(tests: list[dict]) -> str:
    parts = []
    for t in tests:
        failing = [m for m in t["measurements"] if m["outcome"] == "FAIL"]
        for m in failing:
            parts.append(
                f"<div class='so101-failure'><b>{_e(m['joint'])}: {_e(m['check'])} = "
                f"{_e(_number(m['value']))} {_e(m['unit'])}</b> (limit {_e(_limits(m))})<br>"
                f"{_e(m['detail'])}<br><b>Likely cause:</b> {_e(m.get('cause') or '-')}<br>"
                f"<b>Fix:</b> {_e(m.get('fix') or '-')}<br><small>{_e(t['nodeid'])}"
                "</small></div>")
        if t["outcome"] in ("failed", "error") and not failing:
            parts.append(f"<div class='so101-failure'><b>{_e(t['nodeid'])}</b> "
                         f"{_e(t['outcome'])}<br>{_e(t.get('message', ''))}</div>")
    return "".join(parts) or "<p>No check failed.</p>"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _limits(m: dict) -> str:
    low, high = m["low"], m["high"]
    if low is not None and high is not None:
        return f"[{low:.4g}, {high:.4g}] {m['unit']}"
    if low is not None:
        return f">= {low:.4g} {m['unit']}"
    return f"<= {high:.4g} {m['unit']}" if high is not None else "none"


def _pictures(pictures: list[dict], why_not: str) -> str:
    if why_not:
        return f"<p class='so101-no-pictures'>No pictures of the arm: {_e(why_not)}</p>"
    if not pictures:
        return ""
    figures = []
    for p in pictures:
        status = "FAIL" if p["failed"] else "as expected"
        imgs = "".join(
            f"<figure><img alt='{_e(p['title'])}: {label}' src='data:image/png;base64,"
            f"{p['images'][key]}'><figcaption>{label}</figcaption></figure>"
            for key, label in (("expected", "expected (blue)"), ("read", "read (orange)"),
                               ("overlay", "both")))
        figures.append(f"<div class='so101-picture'><b>{_e(p['title'])}</b> ({status})"
                       f"<br>{imgs}</div>")
    return "<div class='so101-pictures'>" + "".join(figures) + "</div>"


def _details(cols: list[Column]) -> str:
    parts = []
    for c in cols:
        ms = c.measurements()
        body = (measurement_table(ms) + measurement_plot_svg(ms, c.label)) if ms else \
            "<p>" + "<br>".join(f"{_e(t['nodeid'])}: {_e(t['outcome'])} "
                                f"{_e(t.get('message', ''))}" for t in c.tests) + "</p>"
        parts.append(f"<h4 id='{c.anchor}'>{_e(c.label)}</h4>{body}")
    return "".join(parts)


def _skipped(tests: list[dict]) -> str:
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    if not skipped:
        return ""
    rows = "".join(f"<li>{_e(t['nodeid'])}: {_e(t.get('message', ''))}</li>" for t in skipped)
    return (f"<details class='so101'><summary>Skipped ({len(skipped)}), with the reason"
            f"</summary><ul>{rows}</ul></details>")


def overview_html(*, provenance: dict, evidence: dict[str, list[str]], tests: list[dict],
                  tolerances: str, pictures: list[dict], why_no_pictures: str) -> str:
    """The whole overview block (self-contained HTML fragment)."""
    counts = {k: sum(t["outcome"] == k for t in tests) for k in
              ("passed", "failed", "error", "skipped")}
    passed = not counts["failed"] and not counts["error"]
    verdict = "PASS" if passed else "FAIL"
    target = provenance.get("target", "")
    port = f", port {provenance['port']}" if provenance.get("port") else ""
    evidence_rows = "".join(f"<tr><th>{joint}</th><td>{_e(', '.join(kinds))}</td></tr>"
                            for joint, kinds in evidence.items())
    cols = columns(tests)
    return (
        STYLE + "<div class='so101-overview'>"
        f"<span class='so101-verdict' style='background:{COLORS['PASS' if passed else 'FAIL']}'>"
        f"{verdict}</span> "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
        f"{counts['skipped']} skipped"
        f"<h3>Arm {_e(provenance.get('arm_id'))} ({_e(target)}{_e(port)})</h3>"
        f"<table class='so101-facts'>{_files(provenance)}"
        f"<tr><th>tolerances</th><td colspan='2'>{_e(tolerances)}</td></tr></table>"
        "<h3>Evidence per joint</h3><p>files: your files agree with each other; servo: the "
        "servos' own registers and readings; twin: the emulated arm's ground truth (nothing "
        "about a real arm); physical: a real reading against the rest pose, gravity or a "
        "person (docs/evidence.md).</p>"
        f"<table class='so101-facts'>{evidence_rows}</table>"
        "<h3>Joints x checks</h3><p>Each cell: the worst margin of that check on that joint, "
        "in the check's unit (PASS green, MARGINAL orange, FAIL red, SKIP grey); hover for "
        "the value, click for the details.</p>"
        f"{_grid(cols)}"
        f"<h3>Failures</h3>{_failures(tests)}"
        f"<h3>The arm: expected and read</h3>{_pictures(pictures, why_no_pictures)}"
        f"<details class='so101'><summary>Details per check ({len(cols)})</summary>"
        f"{_details(cols)}</details>"
        f"{_skipped(tests)}</div>")
