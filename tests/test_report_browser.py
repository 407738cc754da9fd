"""What a person sees: the report's page in headless Chromium at 1400x900, of a passing, a
failing and a MARGINAL run, and of a run that checked nothing.

The first screen (no scrolling) must show the verdict and every failing or MARGINAL joint
with its check, value, limit, cause and fix; nothing of the grid may lie beyond the right
edge. The joints expected come from the scenario (a mirrored elbow and SmolVLA's legacy
stats declared as degrees; a real arm's shoulder_pan and wrist_roll resting where a mirror
would read the same), checked against the record too.

Without chromium (or the playwright package) the tests skip saying so; CI installs both
and sets ``SO101_REQUIRE_BROWSER=1``, which makes a missing browser a failure.
"""

from __future__ import annotations

import json
import os

import pytest

from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.report.html import COLORS
from tests.browser import VIEWPORT, launch, why_no_browser
from tests.helpers import INCIDENTS, MAPPINGS, REPO, STATS

SUITES = REPO / "suites"
FILES = ["--so101-mapping", str(MAPPINGS / "so101_legacy_policy.toml"),
         "--so101-stats", str(STATS / "legacy_model")]
QUICK = ["-m", "not so101_motion"]
RED = "rgb(198, 40, 40)"                 # COLORS["FAIL"] as the browser computes it
assert COLORS["FAIL"] == "#c62828"


@pytest.fixture(scope="module")
def browser():
    why = why_no_browser()
    if why:
        if os.environ.get("SO101_REQUIRE_BROWSER"):
            pytest.fail(f"SO101_REQUIRE_BROWSER is set: {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def first_screen(browser, page_path):
    """The page opened at 1400x900, not scrolled."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return page


def on_first_screen(element) -> bool:
    box = element.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"] \
        and box["x"] + box["width"] <= VIEWPORT["width"]


def run_passing(run, tmp_path):
    return run(str(SUITES / "test_normalization.py"), str(SUITES / "test_rest_pose.py"),
               str(SUITES / "test_roundtrip.py"), *FILES, *QUICK, html=True)


def run_failing(run, tmp_path):
    return run(str(SUITES), "--so101-mapping",
               str(INCIDENTS / "smolvla_stats_declared_degrees.toml"), "--so101-stats",
               str(STATS / "legacy_model"), "--so101-twin-fault", "elbow_flex:mirror", *QUICK,
               html=True)


def run_marginal(run, tmp_path):
    """A real arm's read-only run (the hardware path on the twin, folded at rest): without
    --so101-guided nothing checks shoulder_pan's and wrist_roll's directions."""
    calibration = tmp_path / "arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        return run(str(SUITES / "test_rest_pose.py"), str(SUITES / "test_configuration.py"),
                   *FILES, "--hardware", "--so101-port", twin.port, "--so101-calibration",
                   str(calibration), html=True)


RUNS = {
    # run, verdict, failing joints, MARGINAL joints (from the scenario; None: as recorded)
    "passing": (run_passing, "PASS", set(), set()),
    "failing": (run_failing, "FAIL", {"elbow_flex", "shoulder_lift"}, None),
    "marginal": (run_marginal, "PASS", set(), {"shoulder_pan", "wrist_roll"}),
}


@pytest.mark.parametrize("name", RUNS)
def test_the_first_screen_shows_the_verdict_and_the_joints_that_need_attention(
        browser, run, pytester, tmp_path, name):
    how, verdict, failing, marginal = RUNS[name]
    result = how(run, tmp_path)
    assert result.ret == (1 if failing else 0), result.stdout.str()[-2000:]
    record = json.loads((pytester.path / "reports/so101-record.json").read_text())
    measured = [m for t in record["tests"] for m in t["measurements"]]
    assert {m["joint"] for m in measured if m["outcome"] == "FAIL"} == failing
    recorded = {m["joint"] for m in measured if m["outcome"] == "MARGINAL"} - failing
    assert recorded == (recorded if marginal is None else marginal)
    marginal = recorded

    page = first_screen(browser, pytester.path / "reports/so101-report.html")
    badge = page.locator(".so101-verdict").first
    assert badge.inner_text() == verdict and on_first_screen(badge)
    assert page.locator("#environment").bounding_box()["y"] > VIEWPORT["height"]
    if marginal and verdict == "PASS":               # a failing run's badge says FAIL
        assert page.locator(".so101-verdict").nth(1).inner_text() == \
            f"{len(marginal)} MARGINAL"
    rows = {"so101-fail": failing, "so101-marginal": marginal}
    for kind, joints in rows.items():
        shown = page.locator(f"table.so101-attention tr.{kind}")
        assert {r.locator("th").inner_text() for r in shown.all()} == joints
        for row in shown.all():
            assert on_first_screen(row), f"{row.inner_text()} is below the first screen"
            check, why, fix = (c.inner_text() for c in row.locator("td").all())
            assert " = " in check and "(limit " in check and why.strip() not in ("", "-")
            if kind == "so101-fail":
                assert fix.strip() not in ("", "-")
    if not failing and not marginal:
        assert on_first_screen(page.get_by_text("no joint failed and none is MARGINAL"))

    # the grid fits the width: no horizontal scrolling, no cell beyond the right edge
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    cells = page.locator("#so101-grid td.so101-cell")
    boxes = [box for box in page.evaluate(
        "els => els.map(e => {const r = e.getBoundingClientRect();"
        " return [r.right, getComputedStyle(e).backgroundColor, e.innerText]})",
        cells.element_handles())]
    assert len(boxes) >= 6 * 8
    assert all(right <= VIEWPORT["width"] for right, _, _ in boxes)
    red = [text for _, color, text in boxes if color == RED]
    assert bool(red) == bool(failing)
    assert all(" deg" in text or text in ("fail", "error") for text in red), red
    assert not any("e+" in text or "e-0" in text for _, _, text in boxes)


def test_no_green_page_when_no_check_ran(browser, run, pytester):
    """A page the user asked for (--html) of a run that checked nothing says NO CHECK RAN,
    in grey, and the record is not rewritten (without --html nothing is written at all:
    tests/test_report.py)."""
    earlier = pytester.path / "reports/so101-record.json"
    earlier.parent.mkdir()
    earlier.write_text('{"earlier": "run"}')
    result = run(str(SUITES / "test_roundtrip.py"), *FILES, "-k", "no_such_check",
                 "--html", "asked.html", html=True)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert earlier.read_text() == '{"earlier": "run"}'
    result.stdout.re_match_lines([r"so101: NO CHECK RAN: .*no record written in reports; "
                                  r"the page asked\.html says so"])
    page = first_screen(browser, pytester.path / "asked.html")
    badge = page.locator(".so101-verdict")
    assert badge.count() == 1 and badge.inner_text() == "NO CHECK RAN"
    assert on_first_screen(badge)
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(158, 158, 158)"
    assert page.get_by_text("No check ran, so this page says nothing").count() == 1
    assert "PASS" not in page.locator(".so101-overview").inner_text()
