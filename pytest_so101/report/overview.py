"""The report's overview, at the top of the HTML page. The first screen answers "is my arm
OK, which joint, why, what to do": the verdict, each failing joint with its check, value,
limit, likely cause and fix, and the MARGINAL joints with why. Then the files with their
hashes, the evidence per joint, the checks x joints grid (a row per check, grouped by
domain, skipped rows folded: it fits the width whatever the number of checks), the
failures in full, pictures of the arm, the details per check and the skipped tests.

Built on the controller from what every test reported (measurements, outcomes, skip
reasons, pose pairs travel in the test reports), so a ``pytest -n 2`` run gives the same
page as a serial one.
"""

from __future__ import annotations

import html

from ..core.joints import MOTOR_NAMES
from ..core.measurement import ACKNOWLEDGED
from .grid import ARM_COLUMN, Row, arm_column_used, cell, rows, skipped_everywhere
from .html import COLORS, measurement_plot_svg, measurement_table
from .verdict import FAIL, NO_CHECK, PASS, Attention, Verdict, headline, stated, verdict

SKIP_COLOR = "#9e9e9e"
ERROR_COLOR = "#6a1b9a"
VERDICT_COLORS = {PASS: COLORS["PASS"], FAIL: COLORS["FAIL"], NO_CHECK: SKIP_COLOR}
#: How many more failing checks of a joint the first screen names before "and N more".
MORE_SHOWN = 4
ARM_NAMES = {"all": "the arm", "bus": "the bus"}


def _e(text: object) -> str:
    return html.escape(str(text))


STYLE = """<style>
.so101-overview{font-family:sans-serif;font-size:13px;max-width:100%;color:#222}
.so101-overview h3{color:#222}
.so101-verdict{display:inline-block;padding:6px 14px;color:#fff;font-size:18px;
 font-weight:bold;border-radius:4px;margin-right:6px}
.so101-headline{font-size:15px;font-weight:bold;vertical-align:middle}
.so101-counts{color:#555;margin:4px 0 8px 0}
.so101-facts td,.so101-facts th{text-align:left;padding:2px 8px;vertical-align:top}
.so101-attention{border-collapse:collapse;width:100%;table-layout:fixed;margin:6px 0 10px 0}
.so101-attention th,.so101-attention td{text-align:left;vertical-align:top;padding:4px 6px;
 border-bottom:1px solid #eee;overflow-wrap:anywhere}
.so101-attention tr.so101-fail > th:first-child{border-left:5px solid #c62828}
.so101-attention tr.so101-marginal > th:first-child{border-left:5px solid #ef6c00}
.so101-attention tr.so101-acknowledged > th:first-child{border-left:5px solid #6a1b9a}
.so101-attention tr.so101-also td{font-size:12px;color:#444;border-bottom:1px solid #ddd}
.so101-grid{border-collapse:collapse;margin:8px 0}
.so101-grid th,.so101-grid td{border:1px solid #ddd;padding:2px 4px;font-size:11px}
.so101-grid td.so101-cell{color:#fff;text-align:center}
.so101-grid td.so101-cell a,.so101-grid th a{color:inherit;text-decoration:none}
.so101-grid td.so101-none{background:#f5f5f5}
table.so101-checks{width:100%;max-width:1180px;table-layout:fixed}
table.so101-checks col.so101-label{width:30%}
table.so101-checks th.so101-row{text-align:left;font-weight:normal;overflow-wrap:anywhere}
table.so101-checks tr.so101-domain th{text-align:left;background:#eceff1;font-size:12px}
table.so101-checks td.so101-cell{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table.so101-checks td.so101-folded{color:#555;background:#fafafa}
.so101-failure{border-left:4px solid #c62828;padding:4px 8px;margin:6px 0;background:#fff5f5}
.so101-pictures figure{display:inline-block;margin:4px;text-align:center}
.so101-pictures img{border:1px solid #ddd}
details.so101 summary{cursor:pointer;font-weight:bold;margin:8px 0}
</style>"""
#: pytest-html puts its environment block first: the overview goes above it (the
#: environment stays, below the summary), so the first screen is the verdict.
PAGE_ORDER = """<style>
body{display:flex;flex-direction:column}
body > *{order:3}
body > h1, body > p{order:0}
body > .summary{order:1}
body > #environment-header, body > #environment{order:2}
</style>"""


def _joint_name(joint: str) -> str:
    return ARM_NAMES.get(joint, joint)


def _attention_rows(a: Attention) -> str:
    kind = {"FAIL": "fail", ACKNOWLEDGED: "acknowledged"}.get(a.outcome, "marginal")
    if a.lead is None:
        t = a.test or {}
        first = (t.get("message") or "").strip().splitlines()[:1]
        return (f"<tr class='so101-{kind}'><th>{_e(_joint_name(a.joint))}</th>"
                f"<td>{_e(t.get('nodeid', ''))}: {_e(t.get('outcome', ''))}</td>"
                f"<td colspan='2'>{_e(first[0] if first else '')}</td></tr>")
    m = a.lead
    why = (m.get("cause") or m["detail"]) if a.outcome in ("FAIL", ACKNOWLEDGED) else \
        m["detail"]
    if a.outcome == ACKNOWLEDGED:
        why = f"changed since the previous baseline, acknowledged: {why}"
    out = (f"<tr class='so101-{kind}'><th>{_e(_joint_name(a.joint))}</th>"
           f"<td title='{_e(m['detail'])}'><b>{_e(stated(m))}</b></td>"
           f"<td>{_e(why or '-')}</td><td>{_e(m.get('fix') or '-')}</td></tr>")
    if a.others:
        shown = "; ".join(stated(o) for o in a.others[:MORE_SHOWN])
        more = len(a.others) - MORE_SHOWN
        extra = f"; and {more} more (Failures, below)" if more > 0 else ""
        label = {"FAIL": "also failing", ACKNOWLEDGED: "also acknowledged"}.get(
            a.outcome, "also MARGINAL")
        out += (f"<tr class='so101-also'><td></td><td colspan='3'>{label}: {_e(shown)}"
                f"{_e(extra)}</td></tr>")
    return out


def _verdict_block(v: Verdict, provenance: dict, record_note: str) -> str:
    """The first screen: the verdict in words, then a row per failing and MARGINAL joint."""
    badge = (f"<span class='so101-verdict' style='background:{VERDICT_COLORS[v.status]}'>"
             f"{v.status}</span>")
    if v.marginal and v.status == PASS:
        badge += (f"<span class='so101-verdict' style='background:{COLORS['MARGINAL']}'>"
                  f"{len(v.marginal)} MARGINAL</span>")
    c = v.counts
    arm = ""
    if provenance:
        port = f", port {provenance['port']}" if provenance.get("port") else ""
        arm = f"arm: {provenance.get('arm_id')} ({provenance.get('target', '')}{port}); "
    parts = [badge, f"<span class='so101-headline'>{_e(headline(v, status=False))}</span>",
             f"<div class='so101-counts'>{_e(arm)}{c['passed']} passed, {c['failed']} "
             f"failed, {c['error']} errors, {c['skipped']} skipped{_e(record_note)}</div>"]
    if v.failing or v.marginal or v.acknowledged:
        parts.append("<table class='so101-attention'><colgroup><col style='width:12%'>"
                     "<col style='width:30%'><col style='width:31%'><col style='width:27%'>"
                     "</colgroup><tr><th>joint</th><th>check = value (limit)</th>"
                     "<th>why (the likely cause)</th><th>what to do</th></tr>"
                     + "".join(_attention_rows(a) for a in (*v.failing, *v.marginal,
                                                            *v.acknowledged))
                     + "</table>")
    return "".join(parts)


def _files(provenance: dict) -> str:
    rows_ = []
    for what in ("calibration", "leader_calibration", "model", "stats", "mapping", "baseline"):
        if what not in provenance:
            continue
        entry = provenance[what]
        name = what.replace("_", " ")
        if not entry and what == "leader_calibration":
            continue                                    # no leader in this run
        if not entry:
            rows_.append(f"<tr><th>{name}</th><td>none</td><td></td></tr>")
            continue
        digest = entry.get("sha256") or ""
        shown = f"sha256 {_e(digest[:12])}" if digest else "no hash: could not be read"
        rows_.append(f"<tr><th>{name}</th><td>{_e(entry['source'])}</td>"
                     f"<td title='{_e(digest)}'>{shown}</td></tr>")
    return "".join(rows_)


def _evidence(evidence: dict[str, list[str]], arm_evidence: dict[str, list[str]]) -> str:
    joints = "".join(f"<tr><th>{joint}</th><td>{_e(', '.join(evidence[joint]))}</td></tr>"
                     for joint in MOTOR_NAMES if joint in evidence)
    arm = "".join(f"<tr><th>{_e(_joint_name(name))}</th><td>{_e(', '.join(kinds))}</td></tr>"
                  for name, kinds in arm_evidence.items())
    return (f"<table class='so101-facts'>{joints}</table>" +
            ("<p>Measured of the arm as a whole, not of one joint:</p>"
             f"<table class='so101-facts'>{arm}</table>" if arm else ""))


_CELL_COLORS = {**COLORS, "SKIP": SKIP_COLOR, "ERROR": ERROR_COLOR}


def _row_html(row: Row, columns: tuple[str, ...]) -> str:
    cells = []
    for joint in columns:
        c = cell(row, joint)
        if not c.status:
            cells.append("<td class='so101-none'></td>")
            continue
        cells.append(f"<td class='so101-cell so101-{c.status.lower()}' "
                     f"style='background:{_CELL_COLORS[c.status]}' title='{_e(c.tip)}'>"
                     f"<a href='#{row.anchor}'>{_e(c.text)}</a></td>")
    return (f"<tr><th class='so101-row' title='{_e(row.key)}'><a href='#{row.anchor}'>"
            f"{_e(row.label)}</a></th>{''.join(cells)}</tr>")


def _folded(skipped: list[Row], width: int) -> str:
    reasons = "".join(
        f"<li><a href='#{r.anchor}'>{_e(r.label)}</a>: "
        f"{_e(next((t.get('message') for t in r.tests if t.get('message')), ''))}</li>"
        for r in skipped)
    what = "check" if len(skipped) == 1 else "checks"
    return (f"<tr><td class='so101-folded' colspan='{width}'><details><summary>"
            f"{len(skipped)} {what} skipped on every joint</summary><ul>{reasons}</ul>"
            "</details></td></tr>")


def grid_html(all_rows: list[Row]) -> str:
    """The checks x joints grid: a row per check, grouped by domain; each cell the worst
    margin of that check on that joint with its unit; rows skipped everywhere folded."""
    columns = (*MOTOR_NAMES, *((ARM_COLUMN,) if arm_column_used(all_rows) else ()))
    width = len(columns) + 1
    head = "".join(f"<th>{_e(_joint_name(c))}</th>" for c in columns)
    body = []
    for domain in dict.fromkeys(r.domain for r in all_rows):
        mine = [r for r in all_rows if r.domain == domain]
        shown = [r for r in mine if not skipped_everywhere(r, columns)]
        skipped = [r for r in mine if r not in shown]
        body.append(f"<tr class='so101-domain'><th colspan='{width}'>{_e(domain)}</th></tr>")
        body += [_row_html(r, columns) for r in shown]
        if skipped:
            body.append(_folded(skipped, width))
    return ("<table id='so101-grid' class='so101-grid so101-checks'><colgroup>"
            f"<col class='so101-label'>{''.join('<col>' for _ in columns)}</colgroup>"
            f"<tr><th>check</th>{head}</tr>"
            f"{''.join(body)}</table>")


def _failures(tests: list[dict]) -> str:
    parts = []
    for t in tests:
        failing = [m for m in t["measurements"] if m["outcome"] == "FAIL"]
        for m in failing:
            parts.append(
                f"<div class='so101-failure'><b>{_e(m['joint'])}: {_e(stated(m))}</b><br>"
                f"{_e(m['detail'])}<br><b>Likely cause:</b> {_e(m.get('cause') or '-')}<br>"
                f"<b>Fix:</b> {_e(m.get('fix') or '-')}<br><small>{_e(t['nodeid'])}"
                "</small></div>")
        if t["outcome"] in ("failed", "error") and not failing:
            parts.append(f"<div class='so101-failure'><b>{_e(t['nodeid'])}</b> "
                         f"{_e(t['outcome'])}<br>{_e(t.get('message', ''))}</div>")
    return "".join(parts) or "<p>No check failed.</p>"


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


def _details(all_rows: list[Row]) -> str:
    parts = []
    for r in all_rows:
        ms = r.measurements()
        body = (measurement_table(ms) + measurement_plot_svg(ms, r.label)) if ms else \
            "<p>" + "<br>".join(f"{_e(t['nodeid'])}: {_e(t['outcome'])} "
                                f"{_e(t.get('message', ''))}" for t in r.tests) + "</p>"
        parts.append(f"<h4 id='{r.anchor}'>{_e(r.domain)}: {_e(r.label)}</h4>{body}")
    return "".join(parts)


def _skipped(tests: list[dict]) -> str:
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    if not skipped:
        return ""
    items = "".join(f"<li>{_e(t['nodeid'])}: {_e(t.get('message', ''))}</li>" for t in skipped)
    return (f"<details class='so101'><summary>Skipped ({len(skipped)}), with the reason"
            f"</summary><ul>{items}</ul></details>")


def no_check_html(tests: list[dict], *, note: str = "") -> str:
    """The overview of a run that checked nothing (collected nothing, deselected or
    skipped everything): never green; the skipped tests with their reasons."""
    v = verdict(tests, ran=False)
    return (PAGE_ORDER + STYLE + "<div class='so101-overview'>" +
            _verdict_block(v, {}, note) + "<p>No check ran, so this page says nothing about "
            "the arm or its files.</p>" + _skipped(tests) + "</div>")


def overview_html(*, provenance: dict, evidence: dict[str, list[str]],
                  arm_evidence: dict[str, list[str]], tests: list[dict], tolerances: str,
                  pictures: list[dict], why_no_pictures: str, record_note: str = "") -> str:
    """The whole overview block (a self-contained HTML fragment). ``record_note`` says
    where the run's record went (or why none was written)."""
    v = verdict(tests)
    if not v.ran:
        return no_check_html(tests, note=record_note)
    head = PAGE_ORDER + STYLE + "<div class='so101-overview'>" + \
        _verdict_block(v, provenance, record_note)
    all_rows = rows(tests)
    return (
        head +
        f"<table class='so101-facts'>{_files(provenance)}"
        f"<tr><th>tolerances</th><td colspan='2'>{_e(tolerances)}</td></tr></table>"
        "<h3>Evidence per joint</h3><p>files: your files agree with each other; servo: the "
        "servos' own registers and readings; twin: the emulated arm's ground truth (nothing "
        "about a real arm); physical: a real reading against the rest pose, gravity or a "
        "person (docs/evidence.md).</p>"
        f"{_evidence(evidence, arm_evidence)}"
        "<h3>Checks x joints</h3><p>Each cell: the worst margin of that check on that joint, "
        "in the check's unit (PASS green, MARGINAL orange, FAIL red, SKIP grey); hover for "
        "the value, click for the details. Checks skipped on every joint are folded.</p>"
        f"{grid_html(all_rows)}"
        f"<h3>Failures</h3>{_failures(tests)}"
        f"<h3>The arm: expected and read</h3>{_pictures(pictures, why_no_pictures)}"
        f"<details class='so101'><summary>Details per check ({len(all_rows)})</summary>"
        f"{_details(all_rows)}</details>"
        f"{_skipped(tests)}</div>")

