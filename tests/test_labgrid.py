"""The labgrid example (examples/labgrid/README.md), run on loopback: two emulated arms on
ptys exported by a real labgrid-exporter (through real ser2net, RFC 2217) to a real
labgrid-coordinator, one place per arm acquired with labgrid-client, the arms file written
from the places, and the suites run on both arms with ``pytest -n 2``.

labgrid lives in its own virtualenv (it replaces pyserial with its fork): ``.venv-labgrid``
beside the project, or the folder of its executables in ``SO101_LABGRID_BIN``. Without
it, or without ser2net, the test skips saying so; ``SO101_REQUIRE_LABGRID=1`` (set by
``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_so101.bus.process import (
    EmulatorProcess,
    free_tcp_port,
    start_all,
    stop_process,
    wait_listening,
)
from tests.helpers import MAPPINGS, REPO

EXAMPLE = REPO / "examples" / "labgrid"
TOOLS = ("labgrid-coordinator", "labgrid-exporter", "labgrid-client", "python")
ARMS = {"arm-1": [], "arm-2": ["--twin-fault", "elbow_flex:mirror"]}
TIMEOUT_S = 30
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def labgrid_bin() -> Path:
    """The labgrid tools, or a skip (a failure with SO101_REQUIRE_LABGRID) naming what is
    missing and how to get it."""
    folder = Path(os.environ.get("SO101_LABGRID_BIN") or REPO / ".venv-labgrid" / "bin")
    missing = [tool for tool in TOOLS if not (folder / tool).exists()]
    if not (shutil.which("ser2net") or Path("/usr/sbin/ser2net").exists()):
        missing.append("ser2net (apt-get install ser2net)")
    if missing:
        reason = (f"labgrid example needs {', '.join(missing)} in {folder}: python3 -m venv "
                  ".venv-labgrid && .venv-labgrid/bin/pip install labgrid==26.0.1 numpy && "
                  ".venv-labgrid/bin/pip install --no-deps -e . (or set SO101_LABGRID_BIN)")
        if os.environ.get("SO101_REQUIRE_LABGRID"):
            pytest.fail(f"SO101_REQUIRE_LABGRID is set: {reason}", pytrace=False)
        pytest.skip(reason)
    return folder


class Labgrid:
    """A coordinator and an exporter on loopback, and labgrid-client against them."""

    def __init__(self, folder: Path, work: Path) -> None:
        self.bin = folder
        self.work = work
        self.address = f"127.0.0.1:{free_tcp_port()}"
        self.env = {**os.environ, "LG_COORDINATOR": self.address}
        self.procs: list[subprocess.Popen] = []

    def spawn(self, *args: str, log: str) -> subprocess.Popen:
        with open(self.work / log, "w") as out:
            proc = subprocess.Popen([str(self.bin / args[0]), *args[1:]], cwd=self.work,
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def client(self, *args: str) -> str:
        done = subprocess.run([str(self.bin / "labgrid-client"), *args], env=self.env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        assert done.returncode == 0, f"labgrid-client {' '.join(args)}: {done.stderr}"
        return done.stdout

    def place(self, arm: str) -> None:
        """A place for the arm, matching its exported port, acquired."""
        self.client("-p", f"so101-{arm}", "create")
        self.client("-p", f"so101-{arm}", "add-match", f"lab-host/{arm}/NetworkSerialPort")
        self.client("-p", f"so101-{arm}", "acquire")

    def wait_for_resources(self, names: list[str]) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not all(name in (listed := self.client("resources")) for name in names):
            assert time.monotonic() < deadline, f"exporter did not publish {names}: {listed}"
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)


def test_the_labgrid_example_runs_the_suites_on_acquired_places(run, tmp_path):
    tools = labgrid_bin()
    emulators = {arm: EmulatorProcess("--start", "rest", "--calibration-out",
                                      str(tmp_path / f"{arm}.json"), *faults,
                                      startup_timeout_s=60) for arm, faults in ARMS.items()}
    lab = Labgrid(tools, tmp_path)
    try:
        coordinator = lab.spawn("labgrid-coordinator", "-l", lab.address, log="coordinator.log")
        start_all(list(emulators.values()))              # meanwhile the coordinator starts
        wait_listening("127.0.0.1", int(lab.address.rpartition(":")[2]), TIMEOUT_S,
                       coordinator, "labgrid-coordinator")
        (tmp_path / "exporter.yaml").write_text("".join(
            f"{arm}:\n  RawSerialPort:\n    port: {emu.port}\n    speed: 1000000\n"
            for arm, emu in emulators.items()))
        lab.spawn("labgrid-exporter", "-c", lab.address, "--name", "lab-host",
                  "--hostname", "127.0.0.1", "exporter.yaml", log="exporter.log")
        lab.wait_for_resources([f"lab-host/{arm}/NetworkSerialPort" for arm in ARMS])
        with ThreadPoolExecutor() as pool:                 # as examples/labgrid/README.md
            list(pool.map(lab.place, ARMS))
        env = (EXAMPLE / "env.yaml").read_text().replace("127.0.0.1:20408", lab.address)
        (tmp_path / "env.yaml").write_text(env.replace("calibration/", ""))
        written = subprocess.run(
            [str(tools / "python"), str(EXAMPLE / "arms_from_places.py"), "--env",
             str(tmp_path / "env.yaml"), "--out", str(tmp_path / "arms.toml")],
            env=lab.env, capture_output=True, text=True, timeout=TIMEOUT_S)
        assert written.returncode == 0, written.stderr
        arms = (tmp_path / "arms.toml").read_text()
        assert arms.count("rfc2217://127.0.0.1:") == 2, arms
        again = subprocess.run([str(tools / "python"), str(EXAMPLE / "arms_from_places.py"),
                                "--env", str(tmp_path / "env.yaml"), "--out",
                                str(tmp_path / "arms.toml")], env=lab.env,
                               capture_output=True, text=True, timeout=TIMEOUT_S)
        assert again.returncode == 1 and "not overwriting" in again.stderr   # yours stays

        reports = tmp_path / "reports"
        result = run(str(REPO / "suites" / "test_rest_pose.py"), "-n", "2", "--so101-arms",
                     str(tmp_path / "arms.toml"), "--so101-mapping",
                     str(MAPPINGS / "so101_legacy_policy.toml"), "--so101-report", str(reports))
        result.stdout.fnmatch_lines(["arm-1 * PASS *",
                                     "arm-2 * FAIL * elbow_flex: rest reading vs mapped*",
                                     "*1 of 2 arms passed*"])
        summary = json.loads((reports / "so101-fleet.json").read_text())
        assert {a["arm_id"]: a["failing_joints"] for a in summary["arms"]} == \
            {"arm-1": [], "arm-2": ["elbow_flex"]}
        assert all(a["port"].startswith("rfc2217://127.0.0.1:") for a in summary["arms"])
        for arm in ARMS:
            lab.client("-p", f"so101-{arm}", "release")
    finally:
        lab.stop()
        for emulator in emulators.values():
            if emulator.proc is not None:
                emulator.stop()
