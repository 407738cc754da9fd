"""Ctrl-C in every phase of a run on the (emulated) arm: collection, a motion test, the
report; once or twice. Every run ends within a bound (a run that does not is killed and
the test fails, it never hangs), torque is off on all six servos, and there is no fatal
error or INTERNALERROR. benchmarks/sigint_soak.py sends 50 at random times."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from benchmarks.sigint_soak import MOTION_UNTIL_INTERRUPTED, fleet_run
from pytest_so101.bus.process import EmulatorProcess

#: A run must end this soon after the last SIGINT (s); generous on a loaded machine.
END_WITHIN_S = 20.0
#: How long to wait for the phase to begin (s).
START_WITHIN_S = 60.0

COLLECTION = """
import pathlib, time
pathlib.Path("phase").write_text("collection")
time.sleep(30)

def test_never_collected():
    pass
"""
REPORT_CONFTEST = """
import pathlib, time

def pytest_terminal_summary(terminalreporter):
    pathlib.Path("phase").write_text("report")
    time.sleep(30)
"""
READ_ONLY = """
from pytest_so101.core.measurement import Measurement

def test_reads(so101_bus, so101_check):
    ticks = so101_bus.read_positions()
    so101_check([Measurement("position", "elbow_flex", float(ticks[2]), "ticks", 0, 4095)])
"""

CASES = {
    # phase: (test module, conftest, signals after the phase began: delays in s)
    "collection": (COLLECTION, "", (0.2,)),
    "motion, early": (MOTION_UNTIL_INTERRUPTED, "", (0.05,)),
    "motion, later": (MOTION_UNTIL_INTERRUPTED, "", (0.7,)),
    "motion, twice": (MOTION_UNTIL_INTERRUPTED, "", (0.3, 0.05)),
    "report": (READ_ONLY, REPORT_CONFTEST, (0.2,)),
}


def interrupted_run(pytester, module: str, conftest: str, delays: tuple[float, ...],
                    calibration, sig: int = signal.SIGINT) -> tuple[int, str, list[int], float]:
    """Run pytest on the hardware path against a twin, send it ``sig`` after the phase
    began, and return (exit status, output, Torque_Enable of the six servos, seconds to
    end)."""
    pytester.makepyfile(test_phase=module.replace("moving", "phase"))
    if conftest:
        pytester.makeconftest(conftest)
    ini = pytester.makeini("[pytest]\n")
    phase = pytester.path / "phase"
    with EmulatorProcess("--calibration-out", str(calibration)) as twin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(pytester.path),
             "-p", "no:cacheprovider", "--hardware", "--so101-port", twin.port,
             "--allow-motion", "--so101-calibration", str(calibration),
             "--so101-report", str(pytester.path / "reports")],
            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + START_WITHIN_S
            while not phase.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the phase never began: {proc.communicate()[0][-2000:]}")
                time.sleep(0.02)
            for delay in delays:
                time.sleep(delay)
                proc.send_signal(sig)
            sent = time.monotonic()
            try:
                out, _ = proc.communicate(timeout=END_WITHIN_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                pytest.fail(f"pytest still running {END_WITHIN_S:.0f} s after {sig!r}:\n"
                            f"{out[-3000:]}")
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        torque = [s["torque"] for s in twin.state().values()]
    return proc.returncode, out, torque, took


@pytest.mark.parametrize("case", CASES)
def test_ctrl_c_in_every_phase_ends_the_run_with_torque_off(pytester, tmp_path, case):
    module, conftest, delays = CASES[case]
    code, out, torque, _ = interrupted_run(pytester, module, conftest, delays,
                                              tmp_path / "twin_arm.json")
    assert torque == [0] * 6, out[-3000:]
    assert "Fatal Python error" not in out and "INTERNALERROR" not in out, out[-3000:]
    if len(delays) > 1:
        assert code == 130, out[-3000:]
        assert "so101: second Ctrl-C: torque-off broadcast sent; exiting now" in out
    elif case == "report":
        assert code == pytest.ExitCode.INTERRUPTED, out[-3000:]
        assert "so101: interrupted (Ctrl-C) after the tests; the reports were written" in out
        assert (pytester.path / "reports/so101-record.json").is_file()
    else:
        assert code == pytest.ExitCode.INTERRUPTED, out[-3000:]
        assert "KeyboardInterrupt" in out
    if case.startswith("motion") and len(delays) == 1:
        assert "so101: run interrupted (Ctrl-C)" in out, out[-3000:]


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGHUP,
                                                                marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_during_motion_end_like_ctrl_c(pytester, tmp_path, sig):
    """A CI runner's cancel (SIGTERM) or a closed SSH session (SIGHUP) during motion used to
    kill pytest with torque on (5 of 5 runs): they end like Ctrl-C, torque off on all six
    servos, the record written and saying what interrupted the run."""
    code, out, torque, _ = interrupted_run(pytester, MOTION_UNTIL_INTERRUPTED, "", (0.5,),
                                           tmp_path / "twin_arm.json", sig)
    name = signal.Signals(sig).name
    assert torque == [0] * 6, out[-3000:]
    assert code == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert f"so101: {name}: torque-off broadcast sent; ending the run like Ctrl-C" in out
    assert f"so101: run interrupted ({name})" in out, out[-3000:]
    record = json.loads((pytester.path / "reports/so101-record.json").read_text())
    assert record["interrupted"] == name
    assert "Fatal Python error" not in out and "INTERNALERROR" not in out, out[-3000:]


#: Each process of a fleet run says how its Ctrl-Cs came.
FLEET_CONFTEST = """
import json, pathlib

def pytest_sessionfinish(session):
    from pytest_so101.plugin import interrupts
    name = getattr(session.config, "workerinput", {}).get("workerid", "controller")
    pathlib.Path(f"ctrl-c-{name}.json").write_text(json.dumps(interrupts.received()))
"""


@pytest.mark.parametrize("to", ["controller", pytest.param("group", marks=pytest.mark.slow)])
def test_ctrl_c_on_a_fleet_under_xdist_reaches_every_worker_once(pytester, to):
    """Two arms, ``pytest -n 2``, both moving. A SIGINT to the controller's pid alone (a CI
    runner's cancel) reached only the controller: the workers moved their arms on until
    execnet interrupted them 5 s later, and the run ended 7-8 s after the SIGINT. The
    controller passes it on now. Ctrl-C at a terminal (the whole process group) reaches a
    worker both ways and counts once: not as a second Ctrl-C, which exits at once (130)
    with torque off broadcast but not confirmed."""
    pytester.makeconftest(FLEET_CONFTEST)
    run = fleet_run(pytester.path, [0.3], END_WITHIN_S, arms=2, workers=2,
                    group=to == "group")
    assert run["ended_s"] is not None, f"still running {END_WITHIN_S:.0f} s after SIGINT"
    assert run["torque_off"] and run["code"] == pytest.ExitCode.INTERRUPTED, run
    assert not run["fatal"] and not run["internal"], run
    for worker in ("gw0", "gw1"):
        came = json.loads((pytester.path / f"ctrl-c-{worker}.json").read_text())
        assert came["ctrl_c"] == 1 and came["from_controller"] == 1, (worker, came)
        if to == "group":
            assert came["sigint"] == 1, (worker, came)
