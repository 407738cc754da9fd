"""Arms on the network: the twin served on TCP (``so101-twin serve --tcp``), the bus over
pyserial URLs (``socket://``, and ``rfc2217://`` through a real ser2net), one client per
line, and the plugin's hardware path on a URL; each failure one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_so101.bus.feetech import BusError, FeetechBus
from pytest_so101.bus.process import EmulatorProcess, Ser2netProcess, free_tcp_port
from tests.helpers import EXAMPLE_CALIBRATION, assert_one_line

SIMPLE = ("--shaft", "simple", "--raw", "1=1000", "--raw", "6=3000")
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def ser2net_or_skip() -> None:
    if not (shutil.which("ser2net") or Path("/usr/sbin/ser2net").exists()):
        reason = "ser2net not installed (Debian: apt-get install ser2net)"
        if os.environ.get("SO101_REQUIRE_LABGRID"):
            pytest.fail(f"SO101_REQUIRE_LABGRID is set: {reason}", pytrace=False)
        pytest.skip(reason)


def test_the_twin_on_tcp_is_a_bus_at_a_socket_url_with_one_client_at_a_time():
    with EmulatorProcess(*SIMPLE, "--tcp", "127.0.0.1:0") as emulator:
        assert emulator.port.startswith("socket://127.0.0.1:")
        with FeetechBus(emulator.port) as bus:
            assert [s.model for s in bus.identify()] == [777] * 6
            assert bus.read_positions().tolist() == [1000, 2048, 2048, 2048, 2048, 3000]
            with pytest.raises(BusError) as excinfo, FeetechBus(emulator.port) as second:
                second.identify()
            assert_one_line(excinfo.value, emulator.port,
                            "network serial server still there (it serves one client")
            assert bus.read("Model_Number", 1) == 777        # the owner is not disturbed
        with FeetechBus(emulator.port) as again:             # hung up: the line is free
            assert again.read("Model_Number", 6) == 777
        assert emulator.command(cmd="state")["clients"] == 2     # the refused one is not


def test_nobody_at_the_url_is_one_line():
    port = f"socket://127.0.0.1:{free_tcp_port()}"
    with pytest.raises(BusError) as excinfo:
        FeetechBus(port).connect()
    assert_one_line(excinfo.value, port, "cannot connect: connection refused",
                    "so101-twin serve --tcp")


@pytest.mark.parametrize(("address", "says"), [
    ("nohost", "--tcp must be HOST:PORT"),
    ("127.0.0.1:99999", "--tcp must be HOST:PORT"),
    ("192.0.2.1:0", "--tcp 192.0.2.1:0: cannot listen there"),
])
def test_a_bad_tcp_address_is_one_line(address, says):
    done = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve", "--shaft",
                           "simple", "--tcp", address], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0
    assert_one_line(done.stderr.strip(), "so101-twin:", says)


def test_rfc2217_through_ser2net_carries_the_baud_to_the_servos():
    """The servos answer only at their baud (here 500 kbaud): over RFC 2217 the baud the
    client sets travels to ser2net, which sets it on the port."""
    ser2net_or_skip()
    with EmulatorProcess(*SIMPLE, "--baud-code", "1") as emulator, \
            Ser2netProcess(emulator.port, chardelay=False) as exported:
        assert exported.url.startswith("rfc2217://127.0.0.1:")
        with FeetechBus(exported.url, baudrate=500_000) as bus:
            assert bus.read_positions().tolist() == [1000, 2048, 2048, 2048, 2048, 3000]


def test_ser2net_raw_is_a_socket_url():
    ser2net_or_skip()
    with EmulatorProcess(*SIMPLE) as emulator, \
            Ser2netProcess(emulator.port, protocol="raw", chardelay=False) as exported:
        with FeetechBus(exported.url) as bus:
            assert bus.read_positions().tolist() == [1000, 2048, 2048, 2048, 2048, 3000]


BUS_TEST = """
def test_bus(so101_bus, so101_calibration):
    assert so101_bus.read_calibration().to_json_dict() == so101_calibration.to_json_dict()
"""


def test_the_hardware_path_on_a_socket_url(run, pytester):
    pytester.makepyfile(BUS_TEST)
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION), "--tcp",
                         "127.0.0.1:0") as emulator:
        result = run("--hardware", "--so101-port", emulator.port, "--so101-calibration",
                     str(EXAMPLE_CALIBRATION))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"so101: real arm on {emulator.port} (read-only)"])


def test_a_bad_port_url_stops_the_run_with_one_line(run):
    result = run("--hardware", "--so101-port", "telnet://lab:23")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.str().splitlines() if "pytest-so101" in line]
    assert len(lines) == 1
    assert_one_line(lines[0], "--so101-port", "telnet://lab:23",
                    "socket://HOST:PORT or rfc2217://HOST:PORT")
