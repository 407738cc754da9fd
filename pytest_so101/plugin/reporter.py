"""Collect every test's measurements and write the reports: the JSON acceptance record,
the HTML overview, the terminal summary, JUnit testsuite properties, baselines.

Measurements and pose pairs travel from the test to here in ``report.user_properties``
(so they come back from pytest-xdist workers too: a ``-n 2`` page is the serial one) and
are taken out there, so JUnit testcases carry none (xunit2-safe); provenance goes to the
testsuite properties instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..core.errors import So101ConfigError
from ..core.joints import MOTOR_NAMES
from ..core.measurement import ARM_LEVEL, POSE_PROPERTY, USER_PROPERTY, format_quantity
from ..report.baseline import accept, acknowledged, latest_baseline, load_baseline
from ..report.record import (
    arm_evidence,
    build_record,
    evidence_by_joint,
    file_entry,
    generated_entry,
    package_versions,
    worst_measurement,
    write_atomic,
    write_text_atomic,
)
from .stash import ARM_PROPERTY, BASELINE_PROPERTY, CHECK_PROPERTY, FLEET_KEY, context_of

RECORD_NAME = "so101-record.json"
PAGE_NAME = "so101-report.html"
TWIN_ARM_ID = "so101-twin"
#: What the record calls the calibration a self-calibrating twin made (no file to open).
TWIN_CALIBRATION = "generated: the twin's own calibration (the scripted LeRobot procedure)"


def measurements_of(report: pytest.TestReport) -> list[dict]:
    return [json.loads(value) for key, value in report.user_properties if key == USER_PROPERTY]


def poses_of(report: pytest.TestReport) -> list[dict]:
    return [json.loads(value) for key, value in report.user_properties if key == POSE_PROPERTY]


def arm_of(report: pytest.TestReport) -> dict | None:
    """``{"arm", "worker"}`` of a fleet test's report, else None."""
    for key, value in report.user_properties:
        if key == ARM_PROPERTY:
            return json.loads(value)
    return None


def message_of(report: pytest.TestReport) -> str:
    """A skip's reason, a failure's first lines: plain text, no Python tuple."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = report.longreprtext.strip()
    return text[:600]


class So101Reporter:
    """A pytest plugin object, registered by the so101 plugin when a run checks an arm."""

    def __init__(self, config: pytest.Config, report_dir: Path,
                 page: tuple[Path, Path] | None = None) -> None:
        self.config = config
        self.report_dir = report_dir
        #: (where pytest-html writes the page, where it goes) when the plugin chose the
        #: page's path: it is put in place only when a check ran
        #: (``pytest_sessionfinish_place_page``).
        self.page = page
        self.tests: dict[str, dict] = {}
        self.checks: set[str] = set()         # test ids that used the plugin's fixtures
        self.twin_calibration = None
        self.record_path: Path | None = None
        self.accepted: Path | None = None
        self.refused: str | None = None
        self.poses: dict[tuple, dict] = {}   # (arm, title) -> the first pose pair, failed if any
        self.arms: dict[str, dict] = {}       # fleet: nodeid -> {"arm", "worker"}
        self.fleet_summary: dict | None = None
        self.compared_with: dict[str | None, str] = {}   # arm (None: the one) -> baseline

    @property
    def html_enabled(self) -> bool:
        """Tables and plots are made only when an HTML report is being written."""
        return self.config.pluginmanager.hasplugin("html") and \
            bool(getattr(self.config.option, "htmlpath", None))

    # -- collecting --------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = measurements_of(report)           # the so101 plugin strips them after us
        entry = self.tests.setdefault(report.nodeid, {"nodeid": report.nodeid,
                                                      "outcome": "passed", "measurements": []})
        arm = arm_of(report)
        if arm is not None:
            self.arms[report.nodeid] = arm
        if any(key == CHECK_PROPERTY for key, _ in report.user_properties):
            self.checks.add(report.nodeid)
        for key, value in report.user_properties:
            if key == BASELINE_PROPERTY:
                self.compared_with[arm and arm["arm"]] = value
        if report.when == "call":
            entry["measurements"] = found
            for pose in poses_of(report):
                kept = self.poses.setdefault((arm and arm["arm"], pose["title"]), pose)
                kept["failed"] = kept["failed"] or pose["failed"]
        if report.failed or report.skipped:
            entry.setdefault("message", message_of(report))
        if report.failed:
            entry["outcome"] = "failed" if report.when == "call" else "error"
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"

    # -- provenance --------------------------------------------------------------------
    def calibration(self, ctx=None):
        """The run's calibration: the user's, else the twin's own (on an xdist controller,
        where no twin ran, recomputed: the scripted calibration is deterministic)."""
        ctx = ctx or context_of(self.config)
        if ctx.calibration is not None or ctx.settings["hardware"].value:
            return ctx.calibration
        if self.twin_calibration is None and ctx.settings["twin_arm"].value:
            from ..core.calibration import load_calibration

            self.twin_calibration = load_calibration(str(ctx.settings["twin_arm"].value))
        if self.twin_calibration is None:
            from ..bus.twin import TwinFault, build_twin

            faults = [TwinFault.parse(f.strip()) for f in
                      str(ctx.settings["twin_fault"].value or "").split(",") if f.strip()]
            mjcf = ctx.settings["mjcf"].value
            self.twin_calibration = build_twin(mjcf=str(mjcf) if mjcf else None,
                                               faults=faults)[2]
        return self.twin_calibration

    def arm_id(self, ctx=None) -> str:
        ctx = ctx or context_of(self.config)
        if ctx.arm_id is not None:
            return ctx.arm_id
        cal = self.calibration(ctx)
        if cal is None:
            return "unknown"
        if ctx.calibration is None:
            return TWIN_ARM_ID
        return Path(cal.source).stem

    def _calibration_entry(self, ctx) -> dict | None:
        """The run's calibration file and its hash; the twin's own calibration (written to
        a temporary file, or never written: under pytest -n the controller recomputes it) is
        named for what it is and hashed as the file the twin writes."""
        cal = self.calibration(ctx)
        if cal is None:
            return None
        if ctx.calibration is None and not ctx.settings["hardware"].value and \
                not ctx.settings["twin_arm"].value:
            return generated_entry(TWIN_CALIBRATION, cal.to_json_text(),
                                   contents=cal.to_json_dict())
        return file_entry(cal.source, contents=cal.to_json_dict())

    def provenance(self, ctx=None) -> dict:
        """Where the run's (or one fleet arm's, ``ctx``) numbers come from: every file with
        its SHA-256."""
        ctx = ctx or context_of(self.config)
        s = ctx.settings
        model = str(s["mjcf"].value) if s["mjcf"].value else \
            str(Path(__file__).parents[1] / "sim" / "so101.xml")
        stats, mapping, leader = ctx.stats, ctx.mapping, ctx.leader_calibration
        return {
            "arm_id": self.arm_id(ctx),
            "target": "hardware" if s["hardware"].value else "twin",
            "port": s["port"].value if s["hardware"].value else None,
            "calibration": self._calibration_entry(ctx),
            "leader_calibration": None if leader is None else file_entry(
                leader.source, contents=leader.to_json_dict()),
            "model": file_entry(model),
            "stats": None if stats is None else file_entry(
                stats.source, key=stats.key, feature=stats.feature, dataset=stats.dataset,
                mode=stats.mode),
            "mapping": None if mapping is None else file_entry(
                mapping.source,
                policy_frame=mapping.policy_frame.value if mapping.policy_frame else None),
            "versions": package_versions(),
            "baseline": self._baseline_entry(ctx),
        }

    def _baseline_entry(self, ctx) -> dict | None:
        """The baseline the run's comparisons used (None when none compared): its file,
        hash and the time it was made."""
        path = self.compared_with.get(ctx.arm_id if FLEET_KEY in self.config.stash else None)
        if path is None:
            return None
        created = None
        try:
            created = load_baseline(path).get("created")
        except So101ConfigError:
            pass
        return {**file_entry(path), "created": created}

    # -- writing -----------------------------------------------------------------------
    def _tolerances(self, ctx=None) -> dict:
        t = (ctx or context_of(self.config)).tolerances
        return {"deg": t.deg, "z": t.z, "ticks": t.ticks, "marginal_fraction": t.marginal_fraction}

    def check_tests(self) -> list[dict]:
        """The run's checks (the tests that used the plugin's fixtures), in the order they
        reported: what the record, the page and the verdict are about."""
        return [t for nodeid, t in self.tests.items() if nodeid in self.checks]

    @property
    def accept_changes(self) -> bool:
        return bool(context_of(self.config).settings["accept_changes"].value)

    @property
    def accept_asked(self) -> bool:
        """``--so101-accept``, or ``--so101-accept-changes`` (which accepts too)."""
        return self.accept_changes or bool(context_of(self.config).settings["accept"].value)

    @property
    def checks_ran(self) -> bool:
        """A check (a test that used the plugin's fixtures) passed, failed or errored: the
        run checked something, and its record and page are written (both, so they always
        describe the same run)."""
        from ..report.verdict import checks_ran

        return checks_ran(self.check_tests())

    @pytest.hookimpl(tryfirst=True)           # before junitxml writes its file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return
        if not self.checks_ran:               # the earlier reports stay
            if self.accept_asked:
                self.refused = "no check ran: there is nothing to accept"
                if session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED    # asked for, not done
            return
        if FLEET_KEY in self.config.stash:
            self._write_fleet(session)
            return
        record = build_record(provenance=self.provenance(), tolerances=self._tolerances(),
                              tests=self.check_tests())
        if self.accept_changes:
            record["acknowledged"] = acknowledged(record["tests"])
        _mark_interrupted(record)
        self.record_path = write_atomic(self.report_dir / RECORD_NAME, record)
        xml = self._junit()
        if xml is not None:
            for key in ("arm_id", "target", "port"):
                xml.add_global_property(f"so101_{key}", str(record["provenance"][key]))
            cal = record["provenance"]["calibration"]
            if cal:
                xml.add_global_property("so101_calibration", cal["source"])
                xml.add_global_property("so101_calibration_sha256", str(cal["sha256"]))
            xml.add_global_property("so101_model_sha256", str(record["provenance"]["model"]
                                                              ["sha256"]))
        if self.accept_asked:
            try:
                self.accepted = accept(record, self.report_dir, record["provenance"]["arm_id"])
            except So101ConfigError as exc:
                self.refused = str(exc)
            except FileExistsError:
                self.refused = "another run took the same baseline number; try again"
            if self.refused and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED     # asked for, not done

    @pytest.hookimpl(wrapper=True, specname="pytest_sessionfinish")
    def pytest_sessionfinish_place_page(self, session: pytest.Session):
        """After pytest-html wrote the page: put it in place (atomically) when a check ran,
        else leave the earlier page alone; either way the temporary copy goes."""
        result = yield
        if self.page is None:
            return result
        written, final = self.page
        html = _html_plugin(self.config)
        try:
            if self.checks_ran and written.is_file():
                write_text_atomic(final, written.read_text("utf-8"))
                if html is not None:
                    html._report_path = final.absolute()  # the path it prints
            elif html is not None:
                self.config.pluginmanager.unregister(html)   # no "Generated html report"
        finally:
            shutil.rmtree(written.parent, ignore_errors=True)
        return result

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.page is not None:
            shutil.rmtree(self.page[0].parent, ignore_errors=True)

    # -- a fleet: one record and page per arm, and the summary -------------------------
    def _write_fleet(self, session: pytest.Session) -> None:
        """Per arm (reports/arms/ID/): the record and the page a run of that arm alone
        would write, its baseline accepted on request; then the fleet summary."""
        from ..report.fleet import (
            FLEET_HTML,
            FLEET_JSON,
            arm_summary,
            fleet_fragment,
            fleet_summary,
            page,
        )
        from .fleet import strip_arm

        run = self.config.stash[FLEET_KEY]
        accept_asked = self.accept_asked
        rows, missing, refused = [], [], []
        for arm in run.fleet.arms:
            nodeids = [n for n, a in self.arms.items() if a["arm"] == arm.arm_id]
            if not nodeids:
                missing.append(arm.arm_id)
                continue
            ctx = run.contexts[arm.arm_id]
            tests = [{**self.tests[n], "nodeid": strip_arm(n, arm.arm_id)} for n in nodeids]
            folder = self.report_dir / "arms" / arm.arm_id
            record = build_record(provenance=self.provenance(ctx),
                                  tolerances=self._tolerances(ctx), tests=tests)
            if self.accept_changes:
                record["acknowledged"] = acknowledged(record["tests"])
            _mark_interrupted(record)
            record_path = write_atomic(folder / RECORD_NAME, record)
            baseline = {"compared_with": None, "accepted": None, "refused": None}
            try:
                chosen = ctx.settings["baseline"].value
                before = Path(str(chosen)) if chosen else \
                    latest_baseline(self.report_dir, arm.arm_id)
                baseline["compared_with"] = str(before) if before else None
                if accept_asked:
                    baseline["accepted"] = str(accept(record, self.report_dir, arm.arm_id))
            except So101ConfigError as exc:
                baseline["refused"] = str(exc)
            except FileExistsError:
                baseline["refused"] = "another run took the same baseline number; try again"
            if baseline["refused"] and accept_asked:
                refused.append(arm.arm_id)
            html_path = write_text_atomic(folder / PAGE_NAME, page(
                f"so101 arm {arm.arm_id}", self._overview(ctx, record["tests"], arm.arm_id)))
            worker = self.arms[nodeids[0]].get("worker")
            suites = {strip_arm(n, arm.arm_id): self.arms[n].get("suite", "other")
                      for n in nodeids}
            rows.append(arm_summary(record, suite_of=suites, worker=worker,
                                    record_path=str(record_path), report_path=str(html_path),
                                    baseline=baseline))
        self.fleet_summary = fleet_summary(rows, arms_file=run.fleet.source,
                                           workers=run.workers, missing=missing)
        write_atomic(self.report_dir / FLEET_JSON, self.fleet_summary)
        write_text_atomic(self.report_dir / FLEET_HTML, page(
            "so101 fleet", fleet_fragment(self.fleet_summary, self.report_dir)))
        self.record_path = self.report_dir / FLEET_JSON
        if (missing or refused) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # an arm untested, or not accepted

    def _junit(self):
        from _pytest.junitxml import xml_key

        return self.config.stash.get(xml_key, None)

    # -- showing -----------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter) -> None:
        from . import interrupts

        if interrupts.interrupted():
            terminalreporter.write_line(
                f"so101: run interrupted ({interrupts.ended_by()}); torque was switched off on "
                "the way out "
                "(a 'torque could not be confirmed off' line above would say otherwise)",
                yellow=True)
        if self.fleet_summary is not None:
            self._fleet_lines(terminalreporter)
            return
        if not self.checks_ran:
            if self.checks or self.refused or \
                    not any(t["outcome"] != "skipped" for t in self.tests.values()):
                self._nothing_ran_line(terminalreporter)     # (not after unrelated tests)
            return
        all_measurements = [m for t in self.check_tests() for m in t["measurements"]]
        tr = terminalreporter
        if all_measurements:
            self._joint_table(tr, all_measurements)
        self._attention_lines(tr)
        self._baseline_changes(tr, all_measurements)
        if self.record_path:
            tr.write_line(f"so101: acceptance record {self.record_path}")
        if self.accepted:
            tr.write_line(f"so101: accepted as baseline {self.accepted}")
            self._acknowledged_lines(tr)
        if self.refused:
            tr.write_line(f"so101: NOT accepted: {self.refused}", red=True)

    def _acknowledged_lines(self, tr) -> None:
        """With --so101-accept-changes: what was acknowledged, against which baseline."""
        if not self.accept_changes:
            return
        changes = acknowledged(self.check_tests())
        before = self.compared_with.get(None)
        if not changes:
            tr.write_line("so101: no change against the previous baseline to acknowledge"
                          + (f" ({before})" if before else " (there was none)"))
            return
        entry = file_entry(before) if before else {"sha256": None}
        tr.write_line(f"so101: acknowledged {len(changes)} change"
                      f"{'s' * (len(changes) > 1)} against {before} (sha256 "
                      f"{str(entry['sha256'])[:12]}), recorded in {self.accepted}:",
                      yellow=True)
        for c in changes:
            tr.write_line(f"  {c['joint']:<14} {c['check']} = "
                          f"{format_quantity(c['value'], c['unit'])}: {c['detail']}",
                          yellow=True)

    def _joint_table(self, tr, measurements: list[dict]) -> None:
        """Per joint (then the arm as a whole and the bus, when measured): counts, the
        evidence, and the worst measurement's margin to its limit (its value beside)."""
        tr.section("so101 per-joint summary")
        evidence = {**evidence_by_joint(measurements), **arm_evidence(measurements)}
        width = max(len(", ".join(kinds)) for kinds in evidence.values()) if evidence else 8
        tr.write_line(f"{'joint':<14} {'PASS':>5} {'MARG':>5} {'FAIL':>5}  "
                      f"{'evidence':<{width}}  worst margin (value)")
        for joint in (*MOTOR_NAMES, *ARM_LEVEL):
            rows = [m for m in measurements if m["joint"] == joint]
            if not rows and joint in ARM_LEVEL:
                continue
            counts = {k: sum(m["outcome"] == k for m in rows) for k in ("PASS", "MARGINAL",
                                                                          "FAIL")}
            worst = worst_measurement(rows)
            text = "-" if worst is None else (
                f"{worst['check']}: margin "
                f"{format_quantity(worst['margin'], worst['unit'], signed=True)} (value "
                f"{format_quantity(worst['value'], worst['unit'])}, {worst['outcome']})")
            kinds = ", ".join(evidence.get(joint, ())) or "-"
            tr.write_line(f"{joint:<14} {counts['PASS']:>5} {counts['MARGINAL']:>5} "
                          f"{counts['FAIL']:>5}  {kinds:<{width}}  {text}")
        tr.write_line("so101: evidence: files = your files agree with each other; servo = the "
                      "servos' own registers and readings; twin = the emulated arm's ground "
                      "truth (proves nothing about a real arm); physical = readings against the "
                      "rest pose, gravity or a person (docs/evidence.md)")

    def _attention_lines(self, tr) -> None:
        """The verdict in words, then a line per MARGINAL joint with why (the failures have
        their lines in pytest's own summary)."""
        from ..report.verdict import headline, stated, verdict

        v = verdict(self.check_tests(), ran=True)
        tr.write_line(f"so101: {headline(v)}", red=v.status == "FAIL",
                      yellow=v.status != "FAIL" and bool(v.marginal))
        for a in v.marginal:
            tr.write_line(f"  {a.joint}: {stated(a.lead)}: {a.lead['detail']}", yellow=True)

    def _nothing_ran_line(self, tr) -> None:
        """No check ran: say so, and that the earlier report and record were kept."""
        from ..report.verdict import headline, verdict

        v = verdict(self.check_tests(), ran=False)
        if self.page is not None or not self.html_enabled:
            kept = f"nothing written to {self.report_dir} (a report or record there is " \
                   "from an earlier run)"
        else:
            kept = f"no record written in {self.report_dir}; the page " \
                   f"{self.config.option.htmlpath} says so"
        tr.write_line(f"so101: {headline(v)}; {kept}", yellow=True)
        if self.refused:
            tr.write_line(f"so101: NOT accepted: {self.refused}", red=True)

    def _fleet_lines(self, tr) -> None:
        """One line per arm: verdict, counts, the failing joints with their checks."""
        summary = self.fleet_summary
        tr.section("so101 fleet summary")
        width = max([len(a["arm_id"]) for a in summary["arms"]] +
                    [len(m) for m in summary["missing"]] + [3])
        tr.write_line(f"{'arm':<{width}}  verdict  passed failed skipped  failing joints: "
                      "checks")
        for arm in summary["arms"]:
            n = arm["summary"]
            failing = "; ".join(f"{', '.join(f['joints']) or '(arm)'}: "
                                f"{', '.join(f['checks']) or f['nodeid']}"
                                for f in arm["failures"])
            tr.write_line(f"{arm['arm_id']:<{width}}  {'PASS' if arm['passed'] else 'FAIL':<7}"
                          f"  {n['passed']:>6} {n['failed'] + n['error']:>6} {n['skipped']:>7}"
                          f"  {failing}", red=not arm["passed"])
            if arm["baseline"].get("refused"):
                tr.write_line(f"{'':<{width}}  NOT accepted: {arm['baseline']['refused']}",
                              red=True)
        for arm_id in summary["missing"]:
            tr.write_line(f"{arm_id:<{width}}  MISSING: no test reported (its worker died, or "
                          "the run stopped)", red=True)
        tr.write_line(f"so101: {summary['counts']['passed']} of {summary['counts']['arms']} "
                      f"arms passed; per arm: {self.report_dir / 'arms'}/ID/so101-report.html "
                      f"and so101-record.json; fleet: {self.report_dir / 'so101-fleet.html'}, "
                      f"{self.report_dir / 'so101-fleet.json'}")

    def _baseline_changes(self, tr, measurements: list[dict], most: int = 8) -> None:
        """What changed since the baseline the run compared with: the calibration, joint by
        joint, then the measurements that moved most."""
        from ..core.calibration import compare_calibrations
        from ..report.baseline import (
            baseline_calibration,
            latest_baseline,
            load_baseline,
            measurement_changes,
        )

        chosen = context_of(self.config).settings["baseline"].value
        try:
            path = Path(str(chosen)) if chosen else \
                latest_baseline(self.report_dir, self.arm_id())
            if path is None or (self.accepted is not None and path == self.accepted):
                return
            baseline = load_baseline(path)
            changes = measurement_changes(baseline, measurements)
            before, now = baseline_calibration(baseline, str(path)), self.calibration()
        except So101ConfigError as exc:
            tr.write_line(f"so101: cannot compare with the baseline: {exc}", red=True)
            return
        moved = [d for d in compare_calibrations(before, now) if d.changed] \
            if before is not None and now is not None else []
        if moved:
            tr.write_line(f"so101: the calibration changed since {path}:")
            for d in moved:
                tr.write_line(f"  {d.joint:<14} homing_offset {d.homing_offset_ticks:+d}, "
                              f"range_min {d.range_min_ticks:+d}, range_max "
                              f"{d.range_max_ticks:+d} ticks: zero {d.zero_shift_deg:+.2f} deg")
        changes.sort(key=lambda c: abs(c[3] - c[2]), reverse=True)
        what = "other measurements" if moved else "measurements"
        tr.write_line(f"so101: {len(changes)} {what} changed since {path}"
                      + (":" if changes else ""))
        for check, joint, before_value, after in changes[:most]:
            tr.write_line(f"  {joint:<14} {check}: {before_value:.4g} -> {after:.4g}")

    def _overview(self, ctx, tests: list[dict], arm: str | None = None) -> str:
        """The overview of one arm's tests (report/overview.py), with its pictures when the
        HTML report is on (drawing takes a MuJoCo process)."""
        from ..report.overview import no_check_html, overview_html
        from ..report.pictures import PosePair, render

        if arm is None and not self.checks_ran:
            return no_check_html(tests, note=f"; no record written in {self.report_dir}")
        wanted = [p for (owner, _), p in self.poses.items() if owner == arm and
                  (p["title"].startswith("rest") or p["failed"])]
        drawable = [p for p in wanted if p.get("model")]
        if self.html_enabled or arm is None:
            pictures, why = render([PosePair(**p) for p in drawable])
        else:
            pictures, why = [], "pictures are drawn when the HTML report is on (pytest-html)"
        if not why and len(drawable) < len(wanted):
            why = ("the mapping's model is not shipped: pass its MJCF with --so101-mjcf to "
                   "draw its poses")
        shown = [{**p, "images": images} for p, images in zip(drawable, pictures,
                                                             strict=False)]
        measured = [m for t in tests for m in t["measurements"]]
        record = self.record_path if arm is None else self.report_dir / "arms" / arm / \
            RECORD_NAME
        return overview_html(
            provenance=self.provenance(ctx), tolerances=(ctx or context_of(self.config))
            .tolerances.describe(), evidence=evidence_by_joint(measured),
            arm_evidence=arm_evidence(measured), tests=tests, pictures=shown,
            why_no_pictures=why, record_note=f"; record {record}" if record else "")

    @pytest.hookimpl(optionalhook=True)       # a hook of pytest-html, which may be off
    def pytest_html_report_title(self, report) -> None:
        report.title = "SO-101 acceptance report"

    @pytest.hookimpl(optionalhook=True)       # a hook of pytest-html, which may be off
    def pytest_html_results_summary(self, prefix, summary, postfix) -> None:
        """The overview at the top of the page (report/overview.py); a fleet's summary."""
        if self.fleet_summary is not None:
            from ..report.fleet import fleet_fragment

            prefix.append(fleet_fragment(self.fleet_summary, self.report_dir))
            return
        prefix.append(self._overview(None, [dict(t) for t in self.check_tests()]))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report, data) -> None:
        """Skip reasons as plain text (not a Python tuple); nothing for a passing test
        (its measurements are in the overview)."""
        if report.skipped:
            data[:] = [f"<div class='so101-skip'>{_escape(message_of(report))}</div>"]
        elif report.passed:
            data[:] = []


def _html_plugin(config: pytest.Config):
    """pytest-html's report object (the one that writes the page), if it is on."""
    try:
        from pytest_html.basereport import BaseReport
    except ImportError:
        return None
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, BaseReport)),
                None)


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _mark_interrupted(record: dict) -> None:
    """An interrupted run's record says what interrupted it (its tests are not all there)."""
    from . import interrupts

    if interrupts.interrupted():
        record["interrupted"] = interrupts.ended_by()
