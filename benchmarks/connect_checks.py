"""The time the checks at connect add, on the twin.

    python benchmarks/connect_checks.py [--runs 20] [--pace]

Part 1 (any environment): :func:`pytest_so101.api.check_at_connect` on a twin folded at
rest, the port opened, read once and closed: median and worst time, and the bus exchanges
it makes (each costs a real USB adapter its latency on top of the wire time: docs/
benchmarks.md). Part 2 (with LeRobot and lerobot_robot_so101_checked installed, e.g.
``.venv-lerobot/0.6/bin/python``): LeRobot's ``connect()`` of ``so101_follower`` and of
``so101_follower_checked`` on the same twin, alternating, median of each and the
difference; and, in a fresh process that has imported LeRobot's follower as a LeRobot
command has, what importing the plugin costs (``register_third_party_plugins``) and the
first checked connect (MuJoCo's import for the rest pose among it, and the files).
``--pace`` delivers replies at the wire rate of 1 Mbaud (``so101-twin serve --pace``).
"""

from __future__ import annotations

import argparse
import builtins
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess


def _median_max(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f} ms (worst {max(values) * 1e3:.1f} ms)"


def count_exchanges(run) -> int:
    """How many request/reply exchanges ``run()`` makes on any FeetechBus."""
    original, count = FeetechBus._exchange, [0]

    def counted(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    FeetechBus._exchange = counted
    try:
        run()
    finally:
        FeetechBus._exchange = original
    return count[0]


def api_part(port: str, calibration_path: Path, runs: int) -> None:
    from pytest_so101.api import check_at_connect
    from pytest_so101.core.calibration import load_calibration
    from pytest_so101.core.lerobot_maps import lerobot_mapping
    from pytest_so101.sim.model import rest_pose_of

    cal, mapping = load_calibration(calibration_path), lerobot_mapping(True)
    rest = rest_pose_of(mapping)
    times = []
    for _ in range(runs):
        report = check_at_connect(port, cal, mapping, rest=rest)
        assert report.ok, report.problems
        times.append(report.elapsed_s)
    exchanges = count_exchanges(lambda: check_at_connect(port, cal, mapping, rest=rest))
    print(f"check_at_connect (open, read, judge, close), {runs} runs: {_median_max(times)}; "
          f"{exchanges} bus exchanges, nothing written")


def lerobot_part(emulator: EmulatorProcess, calibration_dir: Path, runs: int) -> None:
    try:
        from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig
        from lerobot_robot_so101_checked import SO101FollowerChecked, SO101FollowerCheckedConfig
    except ImportError as exc:
        print(f"LeRobot part skipped: {exc} (run with the LeRobot 0.6.1 virtualenv's python)")
        return
    builtins.input = lambda prompt="": sys.exit(f"LeRobot asked: {prompt}")
    common = {"port": emulator.port, "id": "arm", "calibration_dir": calibration_dir}

    def connect(robot) -> float:
        start = time.perf_counter()
        robot.connect()
        elapsed = time.perf_counter() - start
        robot.disconnect()
        return elapsed

    cold = subprocess.run([sys.executable, __file__, "--cold", emulator.port,
                           str(calibration_dir)], capture_output=True, text=True, check=True)
    plugin_s, first_s = map(float, cold.stdout.split())
    plain, checked, checks = [], [], []
    for _ in range(runs):
        plain.append(connect(SO101Follower(SO101FollowerConfig(**common))))
        robot = SO101FollowerChecked(SO101FollowerCheckedConfig(**common))
        checked.append(connect(robot))
        checks.append(robot.connect_check.elapsed_s)
    added = statistics.median(checked) - statistics.median(plain)
    print(f"connect() so101_follower, {runs} runs: {_median_max(plain)}")
    print(f"connect() so101_follower_checked, {runs} runs: {_median_max(checked)}; of which "
          f"the checks' bus session {_median_max(checks)}")
    print(f"added by the checks (median difference): {added * 1e3:.1f} ms")
    print(f"a fresh process: importing the plugin {plugin_s * 1e3:.0f} ms; its first checked "
          f"connect {first_s * 1e3:.0f} ms (imports, files, the rest pose)")


def cold(port: str, calibration_dir: str) -> None:
    """In a fresh process that imported LeRobot's follower: the plugin's import, then the
    first checked connect (s), printed."""
    from lerobot.robots.so_follower import SOFollower  # noqa: F401 (as a LeRobot command)

    start = time.perf_counter()
    import lerobot_robot_so101_checked as checked

    plugin = time.perf_counter() - start
    builtins.input = lambda prompt="": sys.exit(f"LeRobot asked: {prompt}")
    robot = checked.SO101FollowerChecked(checked.SO101FollowerCheckedConfig(
        port=port, id="arm", calibration_dir=Path(calibration_dir)))
    start = time.perf_counter()
    robot.connect()
    first = time.perf_counter() - start
    robot.disconnect()
    print(plugin, first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cold", nargs=2, metavar=("PORT", "CALIBRATION_DIR"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--pace", action="store_true",
                        help="replies at the wire rate of 1 Mbaud (so101-twin serve --pace)")
    args = parser.parse_args()
    if args.cold:
        cold(*args.cold)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "robots" / "so_follower"
        serve = ["--start", "rest", "--calibration-out", str(folder / "arm.json")]
        with EmulatorProcess(*serve, *(["--pace"] if args.pace else [])) as emulator:
            print(f"twin folded at rest on {emulator.port}"
                  f"{', replies paced at 1 Mbaud' if args.pace else ''}; Python "
                  f"{sys.version.split()[0]}")
            api_part(emulator.port, folder / "arm.json", args.runs)
            lerobot_part(emulator, folder, args.runs)


if __name__ == "__main__":
    main()
