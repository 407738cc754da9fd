"""Reports: the acceptance record and its schema, baselines, JUnit, xdist, the page and the
record of the same run (never a green page when no check ran); the browser's view of the
page is tests/test_report_browser.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

import jsonschema
import pytest

from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.measurement import Measurement
from pytest_so101.plugin.reporter import TWIN_CALIBRATION
from pytest_so101.report.baseline import accept
from pytest_so101.report.record import SCHEMA_PATH, write_atomic
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REPO, STATS

SUITES = REPO / "suites"
FILES = ["--so101-mapping", str(MAPPINGS / "so101_legacy_policy.toml"),
         "--so101-stats", str(STATS / "legacy_model")]
QUICK = ["-m", "not so101_motion"]


def schema_validate(record: dict) -> None:
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))


def assert_every_file_hashed(record: dict) -> None:
    """Every file the record names has its SHA-256 (a generated one too)."""
    for what in ("calibration", "leader_calibration", "model", "stats", "mapping"):
        entry = record["provenance"].get(what)
        if entry is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"] or ""), (what, entry)


def test_suites_write_the_html_report_and_a_valid_record(run, pytester):
    result = run(str(SUITES), *FILES, *QUICK, html=True)
    assert result.ret == 0
    reports = pytester.path / "reports"
    record = json.loads((reports / "so101-record.json").read_text())
    schema_validate(record)
    assert record["passed"] and record["provenance"]["target"] == "twin"
    assert record["provenance"]["arm_id"] == "so101-twin"
    # the twin's own calibration: no file a user could open, named for what it is, hashed
    # as the file the twin writes
    calibration = record["provenance"]["calibration"]
    assert calibration["source"] == TWIN_CALIBRATION and calibration["generated"] is True
    assert_every_file_hashed(record)
    measured = [m for t in record["tests"] for m in t["measurements"]]
    # the six joints, and the arm as a whole (folded at rest: "all"), apart from them
    assert {m["joint"] for m in measured} == {*MOTOR_NAMES, "all"}
    assert record["arm_evidence"]["all"] == ["twin"]
    # what backs each joint: its files, and the twin (an emulated arm: nothing physical)
    assert record["schema"] == "pytest-so101/record/3"
    assert list(record["evidence"]) == list(MOTOR_NAMES)
    assert all(kinds == ["files", "twin"] for kinds in record["evidence"].values())
    assert {m["evidence"] for m in measured} == {"files", "twin"}
    assert any(m["advisory"] for m in measured)           # the reference pose near zero
    page = (reports / "so101-report.html").read_text()
    assert_overview(page, passed=True)
    # the terminal: the worst margin (not the value) per joint, then the arm and the bus
    result.stdout.fnmatch_lines(["*so101 per-joint summary*",
                                 "joint*PASS*MARG*FAIL*evidence*worst margin (value)",
                                 "shoulder_pan * files, twin  *: margin +* (value *, PASS)",
                                 "so101: evidence: files = *", "so101: PASS*",
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
    """The overview is on the page: verdict, the checks x joints grid with a column per
    joint, the files with hashes, the evidence, pictures of the arm at rest (drawn, or why
    not), one plot per check, the skipped tests with their reasons in plain text."""
    assert f">{'PASS' if passed else 'FAIL'}</span>" in page
    grid = page[page.index("<table id='so101-grid'"):]
    assert "<tr><th>check</th>" + "".join(f"<th>{j}</th>" for j in MOTOR_NAMES) in grid
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    # the same calibration, named and hashed the same: the controller recomputes the twin's
    assert parallel["provenance"]["calibration"] == serial["provenance"]["calibration"]
    assert_every_file_hashed(parallel)
    assert parallel["provenance"]["arm_id"] == serial["provenance"]["arm_id"] == "so101-twin"


def test_under_xdist_the_record_names_the_twin_arm_it_used(run, pytester):
    arm = REPO / "fixtures/scenarios/another_arms_calibration/calibration.json"
    assert run(str(SUITES / "test_configuration.py"), *FILES, "--so101-twin-arm", str(arm),
               "-n", "2").ret == 0
    record = json.loads((pytester.path / "reports/so101-record.json").read_text())
    assert record["provenance"]["calibration"]["contents"] == json.loads(arm.read_text())
    assert record["provenance"]["calibration"]["source"] == str(arm)    # a file: its path
    assert_every_file_hashed(record)


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


def test_accept_changes_records_what_changed_and_refuses_any_other_failure(run, pytester,
                                                                           tmp_path):
    """After a recalibration, one command accepts the new calibration: the baseline
    comparisons' findings are acknowledged (recorded ACKNOWLEDGED, with the previous
    baseline's file and hash), never a failing check of anything else."""
    arm = tmp_path / "my_arm.json"
    arm.write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    args = [str(SUITES / "test_acceptance.py"), str(SUITES / "test_configuration.py"), *FILES,
            "--so101-calibration", str(arm)]
    assert run(*args, "--so101-accept").ret == 0
    first = pytester.path / "reports/baselines/my_arm/0001.json"
    data = json.loads(arm.read_text())
    data["shoulder_lift"]["homing_offset"] += 30
    arm.write_text(json.dumps(data, indent=4))
    pytester.makepyfile(test_mine="def test_mine(so101_calibration):\n    assert False\n")
    refused = run(*args, "test_mine.py", "--so101-accept-changes")
    assert refused.ret == 1
    refused.stdout.re_match_lines([r"so101: NOT accepted: .*1 failed: test_mine.py::test_mine"
                                   r".*acknowledges only what changed against the previous "
                                   r"baseline"])
    assert sorted(p.name for p in first.parent.iterdir()) == ["0001.json"]
    accepted = run(*args, "--so101-accept-changes")
    assert accepted.ret == 0, accepted.stdout.str()
    accepted.stdout.re_match_lines([
        r"so101: PASS; .*changed since the previous baseline, acknowledged: shoulder_lift",
        r"so101: accepted as baseline .*my_arm/0002\.json",
        r"so101: acknowledged 1 change against .*0001\.json \(sha256 [0-9a-f]{12}\)",
        r"  shoulder_lift +zero since baseline, from the files = -2\.637 deg: homing offset "
        r"\+30 ticks"])
    record = json.loads((first.parent / "0002.json").read_text())
    schema_validate(record)
    assert record["passed"] is True
    assert record["provenance"]["baseline"]["source"] == "reports/baselines/my_arm/0001.json"
    assert record["provenance"]["baseline"]["sha256"] == hashlib.sha256(
        first.read_bytes()).hexdigest()
    assert [(c["joint"], c["check"]) for c in record["acknowledged"]] == [
        ("shoulder_lift", "zero since baseline, from the files")]
    # the next run compares with the new baseline: nothing changed, nothing acknowledged
    again = run(*args)
    assert again.ret == 0
    assert "acknowledged" not in again.stdout.str()


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


def test_a_measurement_of_something_that_is_not_a_joint_is_refused():
    """Only joints are joints: the arm as a whole is "all", the servo bus "bus"; anything
    else ("tcp", "pose 1") is one line naming the check and the name."""
    for name in ("tcp", "pose 1", "Elbow_Flex", ""):
        with pytest.raises(ValueError) as refused:
            Measurement("gripper frame", name, 1.0, "mm")
        text = str(refused.value)
        assert "\n" not in text and repr(name) in text and "'gripper frame'" in text
        assert "shoulder_pan" in text and "'all' (the arm as a whole)" in text
    assert Measurement("latency", "all", 0.1, "s").joint == "all"
    assert Measurement("other ids answering", "bus", 0.0, "ids").joint == "bus"


EARLIER_PAGE, EARLIER_RECORD = "<html>an earlier run's page</html>", '{"earlier": "run"}'


def earlier_reports(folder):
    """An earlier run's page and record, as the user has them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "so101-report.html").write_text(EARLIER_PAGE)
    (folder / "so101-record.json").write_text(EARLIER_RECORD)


@pytest.mark.parametrize("how", [["--co"], ["-k", "no_such_test"], ["-m", "so101_guided"]])
def test_no_check_ran_leaves_the_earlier_page_and_record_alone(run, pytester, how):
    """Collect-only, everything deselected, everything skipped: no check ran, so no green
    page of nothing; the earlier page and record stay, and still describe one run (a page
    asked for with --html says NO CHECK RAN: tests/test_report_browser.py)."""
    reports = pytester.path / "reports"
    earlier_reports(reports)
    result = run(str(SUITES / "test_roundtrip.py"), str(SUITES / "test_guided.py"), *FILES,
                 *how, html=True)
    assert (reports / "so101-report.html").read_text() == EARLIER_PAGE
    assert (reports / "so101-record.json").read_text() == EARLIER_RECORD
    assert sorted(p.name for p in reports.iterdir()) == ["so101-record.json",
                                                         "so101-report.html"]
    result.stdout.re_match_lines([r"so101: NO CHECK RAN: .*; nothing written to reports"])
    assert "Generated html report" not in result.stdout.str()
    if how == ["-m", "so101_guided"]:                 # an accept asked for is not done
        result = run(str(SUITES / "test_guided.py"), *FILES, *how, "--so101-accept")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.re_match_lines([r"so101: NOT accepted: no check ran: there is nothing "
                                      r"to accept"])
        assert not (reports / "baselines").exists()


def test_a_run_that_records_no_measurement_writes_its_record_and_page(run, pytester):
    """The record and the page always describe the same run: a check that passed without
    recording a measurement rewrites both; tests that used none of the plugin's fixtures
    are no check: they write neither and are not in the record."""
    reports = pytester.path / "reports"
    earlier_reports(reports)
    pytester.makepyfile(test_mine="""
        def test_my_mapping_loads(so101_mapping):
            assert so101_mapping.policy_frame is not None
        """, test_other="def test_unrelated():\n    assert True\n")
    result = run("test_other.py", *FILES, html=True)
    assert result.ret == 0
    assert (reports / "so101-report.html").read_text() == EARLIER_PAGE
    assert (reports / "so101-record.json").read_text() == EARLIER_RECORD
    assert "so101: NO CHECK RAN" not in result.stdout.str()    # unrelated tests: no check
    result = run("test_mine.py", "test_other.py", *FILES, html=True)
    assert result.ret == 0
    record = json.loads((reports / "so101-record.json").read_text())
    schema_validate(record)
    assert [(t["nodeid"], t["outcome"], t["measurements"]) for t in record["tests"]] == [
        ("test_mine.py::test_my_mapping_loads", "passed", [])]      # the checks, only
    page = (reports / "so101-report.html").read_text()
    assert ">PASS</span>" in page and "test_my_mapping_loads" in page
    result.stdout.fnmatch_lines(["so101: PASS", "so101: acceptance record reports/*",
                                 "*Generated html report: file://*/reports/so101-report.html*"])


def test_the_arm_as_a_whole_and_the_bus_are_listed_apart_from_the_joints(run, pytester):
    """Only joints are joints: in the terminal, the record and the page, what is measured
    of the arm as a whole ("all") and of the bus comes after the six joints, apart; the
    terminal's last column is the worst margin, its value beside it."""
    pytester.makepyfile(test_arm="""
        from pytest_so101.core.measurement import Measurement

        def test_arm(so101_check):
            so101_check([Measurement("latency", "all", 0.2, "s", None, 0.5, evidence="twin"),
                         Measurement("other ids answering", "bus", 0.0, "ids", None, 0.0),
                         Measurement("noise", "gripper", 150.0, "ticks", 0, 200)])
        """)
    result = run("test_arm.py", *FILES, html=True)
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "joint*PASS*MARG*FAIL*evidence*worst margin (value)",
        "shoulder_pan       0     0     0  -  *-",
        "gripper            1     0     0  files  *noise: margin +50 ticks (value 150 ticks, PASS)",
        "all                1     0     0  twin  *latency: margin +0.3 s (value 0.2 s, PASS)",
        "bus                1     0     0  files  *other ids answering: margin 0 ids (value 0 ids, "
        "PASS)"])
    record = json.loads((pytester.path / "reports/so101-record.json").read_text())
    schema_validate(record)
    assert record["evidence"] == {"gripper": ["files"]}
    assert record["arm_evidence"] == {"all": ["twin"], "bus": ["files"]}
    page = (pytester.path / "reports/so101-report.html").read_text()
    assert "<th>the arm</th><td>twin</td>" in page and "<th>the bus</th><td>files</td>" in page
    record["evidence"]["pose 1"] = ["twin"]            # the schema says what a joint is
    with pytest.raises(jsonschema.ValidationError):
        schema_validate(record)


def test_the_projects_own_test_run_leaves_the_users_reports_alone(pytester):
    """The README's test command (``pytest`` from the repository root: ``tests`` and
    ``suites``) runs the suites too: their page and record go to a temporary folder, so
    ``reports/`` keeps what the main job (``pytest suites``) wrote."""
    shutil.copy(REPO / "conftest.py", pytester.path / "conftest.py")
    pytester.makeini(f"[pytest]\ntestpaths = tests suites\n"
                     f"so101_mapping = {MAPPINGS / 'so101_legacy_policy.toml'}\n")
    check = "def test_{0}(so101_mapping):\n    assert so101_mapping.source\n"
    for folder in ("tests", "suites"):
        (pytester.path / folder).mkdir()
        (pytester.path / folder / f"test_{folder}.py").write_text(check.format(folder))
    reports = pytester.path / "reports"
    earlier_reports(reports)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")     # the README's
    assert result.ret == 0, result.stdout.str()
    assert (reports / "so101-report.html").read_text() == EARLIER_PAGE
    assert (reports / "so101-record.json").read_text() == EARLIER_RECORD
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "suites")   # main job
    assert result.ret == 0
    record = json.loads((reports / "so101-record.json").read_text())
    assert [t["nodeid"] for t in record["tests"]] == ["suites/test_suites.py::test_suites"]
    assert ">PASS</span>" in (reports / "so101-report.html").read_text()
