"""pytest-html extras: a per-joint measurement table and a plot per test."""

from __future__ import annotations

import html

from ..core.measurement import ACKNOWLEDGED, format_number

COLORS = {"PASS": "#2e7d32", "MARGINAL": "#ef6c00", "FAIL": "#c62828",
          ACKNOWLEDGED: "#6a1b9a"}


def _fmt(value: object) -> str:
    return "" if value is None else format_number(value) if isinstance(value, float) \
        else str(value)


def _explained(m: dict) -> str:
    """The detail, and for a failure the likely cause and the fix."""
    failed = m["outcome"] == "FAIL"
    parts = [m["detail"]] + [f"{label}: {m[key]}" for key, label in
                             (("cause", "Likely cause"), ("fix", "Fix")) if failed and m.get(key)]
    return ". ".join(p for p in parts if p)


def measurement_table(measurements: list[dict]) -> str:
    """An HTML table of measurement dicts (see record.measurement_dict)."""
    rows = "".join(
        f"<tr><td>{html.escape(m['joint'])}</td><td>{html.escape(m['check'])}</td>"
        f"<td>{_fmt(m['value'])}</td><td>{html.escape(m['unit'])}</td>"
        f"<td>{_fmt(m['low'])}</td><td>{_fmt(m['high'])}</td><td>{_fmt(m['margin'])}</td>"
        f"<td style='color:{COLORS[m['outcome']]};font-weight:bold'>{m['outcome']}</td>"
        f"<td>{html.escape(_explained(m))}</td></tr>" for m in measurements)
    return ("<table class='so101-measurements' border='1' style='border-collapse:collapse'>"
            "<tr><th>joint</th><th>check</th><th>value</th><th>unit</th><th>low</th>"
            "<th>high</th><th>margin</th><th>outcome</th><th>detail</th></tr>"
            f"{rows}</table>")


def _scale(lo: float, hi: float, top: float, bottom: float):
    """Map values in [lo, hi] to pixel rows from bottom (lo) to top (hi)."""
    span = (hi - lo) or 1.0
    return lambda v: bottom - (v - lo) / span * (bottom - top)


def measurement_plot_svg(measurements: list[dict], title: str) -> str:
    """An inline SVG: each joint's value (a dot coloured by outcome) against its allowed
    band (a bar), one panel per check. Hand-written SVG: crisp at any zoom, no plotting
    library to import (fast, and nothing heavy is imported while a run may be
    interrupted)."""
    checks = list(dict.fromkeys(m["check"] for m in measurements))
    width, panel, left, top_pad = 560, 92, 60, 24
    parts = [f'<text x="{width / 2}" y="15" text-anchor="middle" font-size="12">'
             f"{html.escape(title)}</text>"]
    for k, check in enumerate(checks):
        rows = [m for m in measurements if m["check"] == check]
        y0 = top_pad + k * panel
        values = [v for m in rows for v in (m["value"], m["low"], m["high"]) if v is not None]
        lo, hi = min([*values, 0.0]), max([*values, 0.0])
        pad = (hi - lo) * 0.1 or 1.0
        to_y = _scale(lo - pad, hi + pad, y0 + 16, y0 + panel - 22)
        step = (width - left - 10) / max(1, len(rows))
        parts.append(f'<text x="{left}" y="{y0 + 10}" font-size="11" font-weight="bold">'
                     f"{html.escape(check)} ({html.escape(rows[0]['unit'])})</text>")
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{to_y(0.0):.1f}" '
                     f'y2="{to_y(0.0):.1f}" stroke="#bbb" stroke-dasharray="3,3"/>')
        for end in (lo - pad, hi + pad):
            parts.append(f'<text x="{left - 4}" y="{to_y(end) + 4:.1f}" font-size="9" '
                         f'text-anchor="end">{end:.3g}</text>')
        for i, m in enumerate(rows):
            x = left + step * (i + 0.5)
            band_lo = m["low"] if m["low"] is not None else lo - pad
            band_hi = m["high"] if m["high"] is not None else hi + pad
            parts.append(f'<rect x="{x - 9:.1f}" y="{to_y(band_hi):.1f}" width="18" '
                         f'height="{max(1.0, to_y(band_lo) - to_y(band_hi)):.1f}" '
                         'fill="#90caf9"/>')
            if m["value"] is not None:
                parts.append(f'<circle cx="{x:.1f}" cy="{to_y(m["value"]):.1f}" r="5" '
                             f'fill="{COLORS[m["outcome"]]}"><title>{html.escape(m["joint"])}: '
                             f'{_fmt(m["value"])} {html.escape(m["unit"])} ({m["outcome"]})'
                             "</title></circle>")
            parts.append(f'<text x="{x:.1f}" y="{y0 + panel - 8}" font-size="9" '
                         f'text-anchor="middle">{html.escape(m["joint"])}</text>')
    height = top_pad + panel * len(checks)
    return (f'<svg class="so101-plot" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">'
            + "".join(parts) + "</svg>")


def histogram_svg(title: str, unit: str, edges: list[float], counts: list[int], *,
                  limit: float | None = None, marked: float | None = None) -> str:
    """An inline SVG histogram (bars over ``edges``), the allowed band ``+-limit`` shaded
    and ``marked`` (e.g. the median) drawn as a line. Hand-written like the plot above."""
    width, height, left, bottom, top = 420, 150, 40, 125, 22
    lo, hi = edges[0], edges[-1]
    to_x = _scale(lo, hi, width - 10, left)           # same helper, horizontally
    tallest = max(counts) or 1
    parts = [f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="12">'
             f"{html.escape(title)}</text>"]
    if limit is not None:
        a, b = to_x(max(lo, -limit)), to_x(min(hi, limit))
        parts.append(f'<rect x="{min(a, b):.1f}" y="{top}" width="{abs(b - a):.1f}" '
                     f'height="{bottom - top}" fill="#e3f2fd"/>')
    for k, count in enumerate(counts):
        x0, x1 = to_x(edges[k]), to_x(edges[k + 1])
        h = (bottom - top) * count / tallest
        outside = limit is not None and max(abs(edges[k]), abs(edges[k + 1])) > limit
        parts.append(f'<rect x="{min(x0, x1):.1f}" y="{bottom - h:.1f}" '
                     f'width="{max(1.0, abs(x1 - x0) - 1):.1f}" height="{h:.1f}" '
                     f'fill="{COLORS["FAIL"] if outside and count else "#1565c0"}">'
                     f"<title>{edges[k]:.3g} .. {edges[k + 1]:.3g} {html.escape(unit)}: "
                     f"{count}</title></rect>")
    if marked is not None and lo <= marked <= hi:
        parts.append(f'<line x1="{to_x(marked):.1f}" x2="{to_x(marked):.1f}" y1="{top}" '
                     f'y2="{bottom}" stroke="#000" stroke-width="1.5"/>')
    parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{bottom}" y2="{bottom}" '
                 'stroke="#555"/>')
    for value in (lo, 0.0, hi):
        parts.append(f'<text x="{to_x(value):.1f}" y="{bottom + 14}" font-size="9" '
                     f'text-anchor="middle">{value:.3g}</text>')
    parts.append(f'<text x="{width - 10}" y="{bottom + 24}" font-size="9" '
                 f'text-anchor="end">{html.escape(unit)}</text>')
    return (f'<svg class="so101-histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">'
            + "".join(parts) + "</svg>")
