"""pytest-html extras: a per-joint measurement table and a plot per test."""

from __future__ import annotations

import base64
import html
import io

COLORS = {"PASS": "#2e7d32", "MARGINAL": "#ef6c00", "FAIL": "#c62828"}


def _fmt(value: object) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


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


def measurement_plot_png(measurements: list[dict], title: str) -> str:
    """Base64 PNG: each joint's value against its allowed band, one panel per check."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checks = list(dict.fromkeys(m["check"] for m in measurements))
    fig, axes = plt.subplots(len(checks), 1, figsize=(7, 1.2 + 1.6 * len(checks)),
                             squeeze=False)
    for ax, check in zip(axes[:, 0], checks, strict=True):
        rows = [m for m in measurements if m["check"] == check]
        for i, m in enumerate(rows):
            low = m["low"] if m["low"] is not None else min(0.0, m["value"] or 0.0)
            high = m["high"] if m["high"] is not None else max(0.0, m["value"] or 0.0)
            ax.plot([i, i], [low, high], color="#90caf9", linewidth=10, solid_capstyle="butt")
            if m["value"] is not None:
                ax.plot(i, m["value"], "o", color=COLORS[m["outcome"]], markersize=8)
        ax.set_xticks(range(len(rows)), [m["joint"] for m in rows], fontsize=8)
        ax.set_ylabel(rows[0]["unit"], fontsize=8)
        ax.set_title(check, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
