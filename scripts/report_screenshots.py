"""Screenshots of the HTML report in headless Chromium: a passing run, a failing run (seed
000's stats declared as degrees) and a ``pytest -n 2`` run, each showing the overview
(verdict, grid, pictures of the arm). Kept under reports/screenshots/.

    python scripts/report_screenshots.py          # needs Debian's chromium

Each run writes its report to a temporary folder; only the PNGs are kept.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "reports" / "screenshots"
LEGACY = ["--so101-mapping", "fixtures/mapping/so101_legacy_policy.toml",
          "--so101-stats", "fixtures/stats/legacy_model"]
RUNS = {
    "passing": [*LEGACY],
    "failing": ["--so101-mapping", "fixtures/incidents/smolvla_stats_declared_degrees.toml",
                "--so101-stats", "fixtures/stats/legacy_model",
                "--so101-twin-fault", "elbow_flex:mirror"],
    "xdist": [*LEGACY, "-n", "2"],
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--virtual-time-budget=5000"]


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("report_screenshots: Debian's chromium is not installed", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for name, args in RUNS.items():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p",
                            "no:cacheprovider", "--so101-report", tmp, *args], cwd=REPO,
                           capture_output=True)
            page = Path(tmp) / "so101-report.html"
            shot = OUT / f"{name}.png"
            subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
                            "--window-size=1400,2000", f"--screenshot={shot}", page.as_uri()],
                           capture_output=True, timeout=120)
            print(f"{shot} ({shot.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
