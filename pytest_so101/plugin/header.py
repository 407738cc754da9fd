"""The lines the pytest header prints: which arm, files and tolerances this run used."""

from __future__ import annotations

from pathlib import Path

from .context import So101Context
from .options import LEFT_OUT, PAIRED


def header_lines(ctx: So101Context) -> list[str]:
    s = ctx.settings
    lines = []
    if s["hardware"].value:
        motion = "motion allowed" if s["allow_motion"].value else "read-only"
        lines.append(f"so101: real arm on {s['port'].value} ({motion})")
    elif s["twin_arm"].value:
        built = ctx.calibration is not None and \
            str(s["twin_arm"].value) == str(ctx.calibration.source)
        lines.append(f"so101: emulated arm: the MuJoCo twin, the arm {s['twin_arm'].value} "
                     "describes" + (" (built from the calibration under test: its readings "
                                    "prove your code, not the file)" if built else ""))
    else:
        mine = "its own scripted calibration is the calibration under test" \
            if ctx.calibration is None else \
            "no arm for the calibration under test: arm-side checks skip"
        lines.append(f"so101: emulated arm: the MuJoCo twin, an arm of its own "
                     f"(calibrated by its scripted LeRobot procedure; {mine})")
    cal = ctx.calibration
    if cal is not None:
        lines.append(f"so101: calibration {cal.source} (arm id {Path(cal.source).stem}; "
                     f"from {s['calibration'].origin})")
    stats = ctx.stats
    if stats is not None:
        dataset = f", dataset {stats.dataset}" if stats.dataset else ""
        lines.append(f"so101: stats {stats.source} [{stats.key}] ({stats.feature}{dataset}, "
                     f"{stats.mode}, eps {stats.eps:g}; from {s['stats'].origin})")
    mapping = ctx.mapping
    if mapping is not None:
        units = sorted({u.value for u in mapping.robot_units or ()}) or ["none"]
        frame = mapping.policy_frame.value if mapping.policy_frame else "none"
        declared = ", [sim_to_policy] declared" if mapping.sim_to_policy is not None else ""
        lines.append(f"so101: mapping {mapping.source} (model {mapping.model}, robot units "
                     f"{'/'.join(units)}, policy frame {frame}{declared}; "
                     f"from {s['mapping'].origin})")
    for name in PAIRED:
        if s[name].origin.startswith(LEFT_OUT):
            lines.append(f"so101: {name}: none ({s[name].origin})")
    t = ctx.tolerances
    if s["mjcf"].value:
        lines.append(f"so101: model {s['mjcf'].value} (from {s['mjcf'].origin})")
    lines.append(f"so101: tolerances deg={t.deg:g} ({s['tolerance_deg'].origin}), "
                 f"z={t.z:g} std ({s['tolerance_z'].origin}), ticks={t.ticks:g} "
                 f"({s['tolerance_ticks'].origin}); MARGINAL beyond "
                 f"{t.marginal_fraction:.0%} of a limit")
    return lines
