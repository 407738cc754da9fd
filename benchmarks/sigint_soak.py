"""Ctrl-C at random times during motion: every run ends in time, torque off on all six.

    python benchmarks/sigint_soak.py [--runs 50] [--seed 0] [--bound 10]
                                     [--fleet ARMS [--workers 2] [--to controller|group]]

Each run: an emulated arm (``so101-twin serve``), and pytest on the hardware path with
``--allow-motion`` running a test that moves the arm back and forth; once the motion has
begun, SIGINT after a random delay (0..2 s), and in one run of five a second SIGINT soon
after. Counted: runs that ended within the bound after the last SIGINT, runs with torque
off on all six servos afterwards (read from the twin), runs whose output holds a fatal
error or an INTERNALERROR, and the exit statuses.

``--fleet ARMS``: a fleet of ARMS twins on TCP run with ``pytest -n WORKERS --so101-arms``
(every worker moving an arm when the SIGINT comes), torque read on every arm; the SIGINT
goes to the controller's pid alone (``--to controller``: ``kill -INT``, a CI runner's
cancel) or to the run's whole process group (``--to group``: Ctrl-C at a terminal).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pytest_so101.bus.process import EmulatorProcess

#: A test that moves the arm back and forth until interrupted; it writes "moving" once
#: the motion has begun (tests/test_interrupts.py uses it too).
MOTION_UNTIL_INTERRUPTED = """
import pathlib
import pytest

@pytest.mark.so101_motion
def test_moves_until_interrupted(so101_arm):
    with so101_arm.motion():
        start = so101_arm.read_ticks()
        pathlib.Path("moving").write_text("yes")
        for i in range(10_000):
            so101_arm.move_ticks(start + (40 if i % 2 else -40))
"""


#: The same in a fleet run: each worker says when its arm moves.
FLEET_MOTION = MOTION_UNTIL_INTERRUPTED.replace(
    "(so101_arm)", "(so101_arm, request)").replace(
    'pathlib.Path("moving")',
    'pathlib.Path("moving-" + getattr(request.config, "workerinput", {}).get("workerid", '
    '"main"))')


def _interrupt(proc: subprocess.Popen, delays: list[float], group: bool) -> float:
    """SIGINT after each delay, to the process or its process group; when the last went."""
    for delay in delays:
        time.sleep(delay)
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
    return time.monotonic()


def _outcome(proc: subprocess.Popen, sent: float, bound_s: float) -> tuple[float | None, str]:
    """Seconds the run took to end after ``sent`` (None: killed at the bound), output."""
    try:
        out, _ = proc.communicate(timeout=bound_s)
        return time.monotonic() - sent, out
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return None, out


def fleet_run(folder: Path, delays: list[float], bound_s: float, arms: int, workers: int,
              group: bool) -> dict:
    """One interrupted fleet run: ``arms`` twins on TCP, ``pytest -n workers``."""
    from pytest_so101.bus.process import start_all
    from pytest_so101.core.arms import FleetArm, arms_toml

    (folder / "test_motion.py").write_text(FLEET_MOTION)
    (folder / "pytest.ini").write_text("[pytest]\n")
    ids = [f"arm-{k}" for k in range(1, arms + 1)]
    twins = [EmulatorProcess("--tcp", "127.0.0.1:0", "--calibration-out",
                             str(folder / f"{arm}.json"), startup_timeout_s=120) for arm in ids]
    start_all(twins)
    try:
        (folder / "arms.toml").write_text(arms_toml(
            [FleetArm(arm, twin.port, str(folder / f"{arm}.json"))
             for arm, twin in zip(ids, twins, strict=True)]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".",
             "-p", "no:cacheprovider", "--so101-arms", "arms.toml", "--allow-motion",
             *(["-n", str(workers)] if workers else []), "--so101-report", "reports"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        moving = [folder / f"moving-gw{k}" for k in range(workers)] or [folder / "moving-main"]
        deadline = time.monotonic() + 120
        while not all(p.exists() for p in moving) and proc.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        sent = _interrupt(proc, delays, group)
        ended, out = _outcome(proc, sent, bound_s)
        torque = [s["torque"] for twin in twins for s in twin.state().values()]
    finally:
        for twin in twins:
            twin.stop()
    return {"ended_s": ended, "code": proc.returncode, "torque_off": torque == [0] * len(torque),
            "fatal": "Fatal Python error" in out, "internal": "INTERNALERROR" in out,
            "twice": len(delays) > 1}


def one_run(folder: Path, delays: list[float], bound_s: float) -> dict:
    (folder / "test_motion.py").write_text(MOTION_UNTIL_INTERRUPTED)
    (folder / "pytest.ini").write_text("[pytest]\n")
    calibration = folder / "arm.json"
    with EmulatorProcess("--calibration-out", str(calibration)) as twin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".",
             "-p", "no:cacheprovider", "--hardware", "--so101-port", twin.port,
             "--allow-motion", "--so101-calibration", str(calibration),
             "--so101-report", "reports"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not (folder / "moving").exists() and proc.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        sent = _interrupt(proc, delays, group=False)
        ended, out = _outcome(proc, sent, bound_s)
        torque = [s["torque"] for s in twin.state().values()]
    return {"ended_s": ended, "code": proc.returncode, "torque_off": torque == [0] * 6,
            "fatal": "Fatal Python error" in out, "internal": "INTERNALERROR" in out,
            "twice": len(delays) > 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bound", type=float, default=10.0,
                        help="seconds a run may take to end after the last SIGINT")
    parser.add_argument("--fleet", type=int, metavar="ARMS",
                        help="a fleet run of ARMS twins under pytest -n WORKERS")
    parser.add_argument("--workers", type=int, default=2,
                        help="fleet: pytest -n WORKERS (0: no xdist, one process)")
    parser.add_argument("--to", choices=("controller", "group"), default="controller",
                        help="fleet: SIGINT the controller alone or the whole process group")
    args = parser.parse_args()
    if args.fleet:
        print(f"fleet of {args.fleet} arms, pytest -n {args.workers or 'none'}, SIGINT to the "
              f"{'process group' if args.to == 'group' else 'controller alone'}")
    rng = random.Random(args.seed)
    results = []
    for i in range(args.runs):
        delays = [rng.uniform(0.0, 2.0)]
        if i % 5 == 4:
            delays.append(rng.uniform(0.0, 0.3))
        with tempfile.TemporaryDirectory() as tmp:
            if args.fleet:
                results.append(fleet_run(Path(tmp), delays, args.bound, args.fleet,
                                         args.workers, args.to == "group"))
            else:
                results.append(one_run(Path(tmp), delays, args.bound))
        r = results[-1]
        took = "over the bound" if r["ended_s"] is None else f"{r['ended_s']:.2f} s"
        print(f"run {i + 1:>3}: SIGINT x{len(delays)} after {delays[0]:.2f} s: exit "
              f"{r['code']}, ended in {took}, torque {'off' if r['torque_off'] else 'ON'}",
              flush=True)
    ended = [r["ended_s"] for r in results if r["ended_s"] is not None]
    codes = Counter(r["code"] for r in results)
    print(f"\n| measure | value |\n|---|---:|\n| runs (of which a second SIGINT) | {len(results)} "
          f"({sum(r['twice'] for r in results)}) |\n"
          f"| ended within {args.bound:g} s | {len(ended)}/{len(results)} |\n"
          f"| torque off on every servo afterwards | "
          f"{sum(r['torque_off'] for r in results)}/{len(results)} |\n"
          f"| fatal error / INTERNALERROR in the output | "
          f"{sum(r['fatal'] for r in results)} / {sum(r['internal'] for r in results)} |\n"
          f"| time to end after the last SIGINT: median, max | "
          f"{statistics.median(ended):.2f} s, {max(ended):.2f} s |\n"
          f"| exit statuses | {', '.join(f'{k}: {v}' for k, v in sorted(codes.items()))} |")
    bad = len(ended) < len(results) or not all(r["torque_off"] for r in results) or \
        any(r["fatal"] or r["internal"] for r in results)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
