"""Reports: the acceptance record and its schema, baselines, JUnit, xdist, and the HTML
report in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import jsonschema
import pytest

from pytest_so101.core.errors import So101ConfigError
from pytest_so101.report.baseline import accept
from pytest_so101.report.record import SCHEMA_PATH, write_atomic
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REPO, STATS

SUITES = REPO / "suites"
FILES = ["--so101-mapping", str(MAPPINGS / "so101_legacy_policy.toml"),
         "--so101-stats", str(STATS / "legacy_model")]
QUICK = ["-m", "not so101_motion"]


def schema_validate(record: dict) -> None:
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))


def test_suites_write_the_html_report_and_a_valid_record(run, pytester):
    result = run(str(SUITES), *FILES, *QUICK, html=True)
    assert result.ret == 0
    reports = pytester.path / "reports"
    record = json.loads((reports / "so101-record.json").read_text())
    schema_validate(record)
    assert record["passed"] and record["provenance"]["target"] == "twin"
    assert record["provenance"]["arm_id"] == "so101-twin"
    assert len(record["provenance"]["calibration"]["sha256"]) == 64
    measured = [m for t in record["tests"] for m in t["measurements"]]
    assert {m["joint"] for m in measured} == {"shoulder_pan", "shoulder_lift", "elbow_flex",
                                               "wrist_flex", "wrist_roll", "gripper"}
    # what backs each joint: its files, and the twin (an emulated arm: nothing physical)
    assert record["schema"] == "pytest-so101/record/2"
    assert all(kinds == ["files", "twin"] for kinds in record["evidence"].values())
    assert {m["evidence"] for m in measured} == {"files", "twin"}
    assert any(m["advisory"] for m in measured)           # the reference pose near zero
    page = (reports / "so101-report.html").read_text()
    assert_overview(page, passed=True)
    result.stdout.fnmatch_lines(["*so101 per-joint summary*", "joint*PASS*MARG*FAIL*evidence*",
                                 "shoulder_pan * files, twin *", "so101: evidence: files = *",
                                 "so101: acceptance record reports/*"])


def test_an_accept_that_cannot_be_stored_exits_non_zero(run, pytester, tmp_path):
    arm = tmp_path / "my_arm.json"
    arm.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    blocker = pytester.path / "reports/baselines/my_arm"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    result = run(str(SUITES / "test_configuration.py"), *FILES, "--so101-calibration",
                 str(arm), "--so101-accept")
    assert result.parseoutcomes().get("failed", 0) == 0
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.re_match_lines([r"so101: NOT accepted: .*my_arm"])
    assert blocker.read_text() == "not a folder"


def assert_overview(page: str, *, passed: bool) -> None:
    """The overview is on the page: verdict, the joint x check grid with a row per joint,
    the files with hashes, the evidence, pictures of the arm at rest (drawn, or why not),
    one plot per check, the skipped tests with their reasons in plain text."""
    assert f">{'PASS' if passed else 'FAIL'}</span>" in page
    for joint in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll",
                  "gripper"):
        assert f"<tr><th>{joint}</th><td" in page
    assert page.count("class='so101-cell") >= 6 * 15
    assert "sha256 " in page and "Evidence per joint" in page
    drawn = page.count("src='data:image/png;base64,")
    if os.environ.get("SO101_REQUIRE_PICTURES"):      # CI installs an offscreen renderer
        assert drawn >= 3, "no pictures of the arm"
    assert drawn >= 3 or "No pictures of the arm: no offscreen renderer" in page
    assert page.count('<svg class="so101-plot"') >= 15
    assert "Skipped: " not in page and "('/" not in page       # no Python tuples


def test_schema_rejects_a_broken_record():
    bad = {"schema": "pytest-so101/record/1", "created": "x", "provenance": {}}
    with pytest.raises(jsonschema.ValidationError):
        schema_validate(bad)


def test_accept_then_a_30_tick_homing_change_fails_naming_the_joint(run, pytester, tmp_path):
    arm = tmp_path / "my_arm.json"
    arm.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    args = [str(SUITES), *FILES, *QUICK, "--so101-calibration", str(arm), "--so101-accept"]
    first = run(*args)
    assert first.ret == 0
    baseline = pytester.path / "reports/baselines/my_arm/0001.json"
    assert baseline.is_file()
    kept = baseline.read_bytes()
    data = json.loads(arm.read_text())
    data["shoulder_lift"]["homing_offset"] += 30
    arm.write_text(json.dumps(data, indent=4))
    second = run(*args)
    assert second.ret == 1
    # no arm at rest in this run (the twin is an arm of its own): the files say the zero
    # moved by no whole number of spline teeth, and what a trained policy then sees
    second.stdout.re_match_lines([
        r"shoulder_lift: zero since baseline, from the files = -2\.637 deg .* FAIL: homing "
        r"offset \+30 ticks: .*baseline 0001\.json.* Likely cause: .*no whole number of spline "
        r"teeth.*for a trained policy: it sees every shoulder_lift pose -2\.6 deg off",
        r"so101: NOT accepted: .*a failing run cannot be accepted"])
    second.stdout.re_match_lines([r"so101: the calibration changed since .*0001\.json:",
                                  r"  shoulder_lift +homing_offset \+30, range_min \+0, "
                                  r"range_max \+0 ticks: zero \+2\.64 deg",
                                  r"so101: \d+ other measurements changed since .*0001\.json"])
    assert sorted(p.name for p in baseline.parent.iterdir()) == ["0001.json"]
    assert baseline.read_bytes() == kept
    # an explicit --so101-baseline is used instead of the latest
    third = run(*args[:-1], "--so101-baseline", str(baseline), "-k", "acceptance")
    third.stdout.re_match_lines([r"FAILED .*sees_what_it_saw_at_the_baseline\[shoulder_lift\]"])


def test_baselines_are_numbered_and_never_overwritten(tmp_path):
    record = {"passed": True, "tests": []}
    assert accept(record, tmp_path, "arm").name == "0001.json"
    assert accept(record, tmp_path, "arm").name == "0002.json"
    with pytest.raises(So101ConfigError, match="a failing run cannot be accepted"):
        accept({"passed": False, "tests": [{"nodeid": "t", "outcome": "failed"}]}, tmp_path,
               "arm")
    assert sorted(p.name for p in (tmp_path / "baselines/arm").iterdir()) == \
        ["0001.json", "0002.json"]
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "baselines/arm/0001.json", record, exclusive=True)


def test_junit_carries_provenance_as_testsuite_properties_only(run, pytester):
    result = run(str(SUITES / "test_roundtrip.py"), *FILES, "--junitxml=out.xml",
                 "-o", "junit_family=xunit2")
    assert result.ret == 0
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="so101_arm_id" value="so101-twin"' in xml
    assert 'name="so101_calibration_sha256"' in xml
    assert "so101_measurement" not in xml
    assert "<testcase" in xml and "<properties><property" in xml
    assert xml.count("<properties>") == 1                 # the testsuite's, no testcase's


def test_xdist_runs_give_the_same_record_and_page(run, pytester):
    run(str(SUITES), *FILES, *QUICK, html=True)
    record = pytester.path / "reports/so101-record.json"
    serial = json.loads(record.read_text())
    serial_page = (pytester.path / "reports/so101-report.html").read_text()
    record.unlink()
    result = run(str(SUITES), *FILES, *QUICK, "-n", "2", html=True)
    assert result.ret == 0
    parallel = json.loads((pytester.path / "reports/so101-record.json").read_text())
    schema_validate(parallel)
    page = (pytester.path / "reports/so101-report.html").read_text()
    assert_overview(page, passed=True)
    for element in ("class='so101-cell", "src='data:image/png", '<svg class="so101-plot"',
                    "class='so101-failure'"):
        assert page.count(element) == serial_page.count(element), element

    def checks(record):
        return sorted((t["nodeid"], t["outcome"], m["check"], m["joint"], m["outcome"])
                      for t in record["tests"] for m in t["measurements"])

    assert checks(parallel) == checks(serial)
    assert len(checks(serial)) > 100
    assert parallel["provenance"]["calibration"]["contents"] == \
        serial["provenance"]["calibration"]["contents"]
    assert parallel["provenance"]["arm_id"] == serial["provenance"]["arm_id"] == "so101-twin"


def test_under_xdist_the_record_names_the_twin_arm_it_used(run, pytester):
    arm = REPO / "fixtures/scenarios/another_arms_calibration/calibration.json"
    assert run(str(SUITES / "test_configuration.py"), *FILES, "--so101-twin-arm", str(arm),
               "-n", "2").ret == 0
    record = json.loads((pytester.path / "reports/so101-record.json").read_text())
    assert record["provenance"]["calibration"]["contents"] == json.loads(arm.read_text())


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(.ci/run installs it)")
def test_the_report_shows_its_table_and_plot_in_a_real_browser(run, pytester, tmp_path):
    assert run(str(SUITES / "test_normalization.py"), *FILES, html=True).ret == 0
    page = pytester.path / "reports/so101-report.html"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=5000"]
    expanded = f"{page.as_uri()}?collapsed="          # pytest-html: collapse nothing
    dom = subprocess.run([*flags, "--dump-dom", expanded], capture_output=True, text=True,
                         timeout=120).stdout
    assert dom.count('class="results-table-row passed"') == 31   # rendered by its scripts
    assert 'class="so101-grid"' in dom and 'class="so101-measurements"' in dom
    assert dom.count('<svg class="so101-plot"') >= 5              # a plot per check
    assert dom.count('class="so101-cell') >= 6 * 5                # the grid, rendered
    shot = REPO / "reports" / "so101-report-screenshot.png"
    subprocess.run([*flags, "--window-size=1280,1600", f"--screenshot={shot}", expanded],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000


def test_the_html_table_explains_failures_only():
    from pytest_so101.core.measurement import Measurement
    from pytest_so101.report.html import measurement_table
    from pytest_so101.report.record import measurement_dict

    rows = [Measurement("c", joint, value, "deg", -1, 1, "d", cause="why", fix="do this")
            for joint, value in (("shoulder_pan", 0.0), ("elbow_flex", 5.0))]
    passing, failing = (measurement_table([measurement_dict(m)]) for m in rows)
    assert "Likely cause" not in passing and "do this" not in passing
    assert "d. Likely cause: why. Fix: do this" in failing


def test_a_drive_mode_changed_since_the_baseline_fails(run, pytester, tmp_path):
    arm = tmp_path / "my_arm.json"
    arm.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    args = [str(SUITES / "test_acceptance.py"), str(SUITES / "test_configuration.py"), *FILES,
            "--so101-calibration", str(arm)]
    assert run(*args, "--so101-accept").ret == 0
    data = json.loads(arm.read_text())
    data["elbow_flex"]["drive_mode"] = 1
    arm.write_text(json.dumps(data, indent=4))
    result = run(*args, "-k", "acceptance")
    assert result.ret == 1
    result.stdout.re_match_lines([r"elbow_flex: drive_mode or id changed since baseline = 1 .* "
                                  r"FAIL: drive_mode changed"])


def test_a_non_finite_measurement_is_written_as_null():
    """The record is strict JSON: an infinite or NaN value (a check that could not measure)
    is null, never a crash at the end of the run."""
    import math

    from pytest_so101.core.measurement import Measurement
    from pytest_so101.report.record import measurement_dict

    data = measurement_dict(Measurement("latency", "all", math.inf, "s", None, 0.5))
    assert data["value"] is None and data["outcome"] == "FAIL"
    data = measurement_dict(Measurement("std", "gripper", math.nan, "", -math.inf, math.inf))
    assert data["value"] is None and data["low"] is None and data["high"] is None
