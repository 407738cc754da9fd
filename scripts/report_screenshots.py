"""Screenshots of the HTML report in headless Chromium, as a person first sees it (1400x900,
not scrolled) and, for the failing run, the whole page: a passing run, a failing run
(SmolVLA's legacy stats declared as degrees, and a mirrored elbow), a MARGINAL run (a real
arm's read-only run, the hardware path on the twin folded at rest: shoulder_pan's and
wrist_roll's directions unchecked) and a ``pytest -n 2`` run. Kept under
reports/screenshots/.

    python scripts/report_screenshots.py      # needs Debian's chromium and playwright

Each run writes its report to a temporary folder; only the PNGs are kept.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import VIEWPORT, launch, why_no_browser  # noqa: E402

OUT = REPO / "reports" / "screenshots"
LEGACY = ["--so101-mapping", "fixtures/mapping/so101_legacy_policy.toml",
          "--so101-stats", "fixtures/stats/legacy_model"]
RUNS = {
    "passing": [*LEGACY],
    "failing": ["--so101-mapping", "fixtures/incidents/smolvla_stats_declared_degrees.toml",
                "--so101-stats", "fixtures/stats/legacy_model",
                "--so101-twin-fault", "elbow_flex:mirror"],
    "marginal": [*LEGACY, "--hardware"],      # on the pty of a twin folded at rest
    "xdist": [*LEGACY, "-n", "2"],
}
WHOLE_PAGE = ("failing",)


def report(name: str, args: list[str], folder: Path) -> Path:
    """Run the suites for one screenshot; the page's path."""
    command = [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
               "--so101-report", str(folder), *args]
    if "--hardware" not in args:
        subprocess.run(command, cwd=REPO, capture_output=True)
        return folder / "so101-report.html"
    from pytest_so101.bus.process import EmulatorProcess

    calibration = folder / "arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        subprocess.run([*command, "--so101-port", twin.port, "--so101-calibration",
                        str(calibration)], cwd=REPO, capture_output=True)
    return folder / "so101-report.html"


def main() -> int:
    why = why_no_browser()
    if why:
        print(f"report_screenshots: {why}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for name, args in RUNS.items():
            with tempfile.TemporaryDirectory() as tmp:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(report(name, args, Path(tmp)).as_uri())
                shots = {f"{name}.png": False}
                if name in WHOLE_PAGE:
                    shots[f"{name}-whole-page.png"] = True
                for file, whole in shots.items():
                    page.screenshot(path=str(OUT / file), full_page=whole)
                    print(f"{OUT / file} ({(OUT / file).stat().st_size:,} bytes)")
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
