"""Faults and the bus layer: every fault ends in a clear error or a retried success,
within the SDK's timeout, never a hang."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pytest_so101.bus.feetech import BusError, FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.calibration import load_calibration
from pytest_so101.safety import SafetyEnvelope, SafetyError
from tests.helpers import EXAMPLE_CALIBRATION

#: A hang guard, not a speed target: a failing transaction takes ~0.4 s (three SDK
#: timeouts and two settles); a hang would never end. Generous for shared machines.
NOT_A_HANG_S = 5.0


@pytest.fixture
def emulator():
    with EmulatorProcess("--shaft", "simple") as emu:
        yield emu


@pytest.fixture
def bus(emulator):
    with FeetechBus(emulator.port) as bus:
        yield bus


def timed(fn, *args):
    start = time.monotonic()
    try:
        return fn(*args), None, time.monotonic() - start
    except BusError as exc:
        return None, exc, time.monotonic() - start


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("missing", True, "id 3 (elbow_flex): no valid reply at 1000000 baud "
                          "(There is no status packet!)"),
        ("corrupt", True, "id 3 (elbow_flex): no valid reply at 1000000 baud "
                          "(Incorrect status packet!)"),
        ("late", 60, "id 3 (elbow_flex): no valid reply at 1000000 baud "
                     "(There is no status packet!)"),
        ("truncated", 2, "id 3 (elbow_flex): no valid reply at 1000000 baud"),
    ],
)
def test_reply_faults_give_a_clear_error_fast(emulator, bus, kind, value, message):
    emulator.fault(3, kind, value)
    for operation in (bus.read_positions, lambda: bus.read("Homing_Offset", 3)):
        result, error, elapsed = timed(operation)
        assert result is None and error is not None
        assert message in str(error) and "\n" not in str(error)
        assert elapsed < NOT_A_HANG_S
    emulator.clear_faults()
    time.sleep(0.1)                         # late replies still in flight land now...
    assert bus.read_positions().tolist() == [2048] * 6   # ...and are not taken as answers


def test_error_bits_name_the_condition(emulator, bus):
    emulator.fault(5, "error", 4)
    _, error, elapsed = timed(bus.read, "Present_Position", 5)
    assert "id 5 (wrist_roll): servo reports Overheat error!" in str(error)
    assert elapsed < NOT_A_HANG_S


def test_transient_drop_is_retried_to_success(emulator, bus):
    emulator.fault(2, "drop", 2)              # two lost replies, three tries
    result, error, elapsed = timed(bus.read_positions)
    assert error is None and result.tolist() == [2048] * 6
    assert elapsed < NOT_A_HANG_S
    emulator.fault(2, "drop", 3)
    _, error, _ = timed(bus.read_positions)
    assert "id 2 (shoulder_lift)" in str(error) and "after 3 tries" in str(error)


def test_read_noise_is_bounded(emulator, bus):
    emulator.fault(4, "noise", 3)
    reads = np.array([bus.read_positions() for _ in range(60)])
    assert np.ptp(reads[:, 3]) > 0 and np.abs(reads[:, 3] - 2048).max() <= 3
    assert (reads[:, [0, 1, 2, 4, 5]] == 2048).all()


def test_identify_names_missing_servos_and_wrong_models():
    with EmulatorProcess("--shaft", "simple", "--ids", "1,2,3,4,6", "--model", "2=1234") as emu, \
            FeetechBus(emu.port) as bus:
        with pytest.raises(BusError, match=r"id 2 \(shoulder_lift\) is model 1234, expected an "
                           r"STS3215 \(model 777\)"):
            bus.identify()
    with EmulatorProcess("--shaft", "simple", "--ids", "1,2,3,4,6") as emu, \
            FeetechBus(emu.port) as bus:
        with pytest.raises(BusError, match=r"no reply from id 5 \(wrist_roll\) at 1000000 baud"):
            bus.identify()


def test_wrong_baud_is_diagnosed():
    with EmulatorProcess("--shaft", "simple", "--baud-code", "1") as emu, \
            FeetechBus(emu.port) as bus:
        with pytest.raises(BusError, match="wrong baud: id 1 answers at 500000 baud"):
            bus.identify()
    with EmulatorProcess("--shaft", "simple", "--baud-code", "1") as emu, \
            FeetechBus(emu.port, baudrate=500_000) as bus:
        assert [s.firmware for s in bus.identify()] == ["3.10"] * 6


def test_no_port_is_a_clear_error():
    with pytest.raises(BusError, match=r"/dev/ttyNOPE: no such port"):
        FeetechBus("/dev/ttyNOPE").connect()


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any port: permissions cannot fail")
def test_permission_denied_is_a_clear_error(tmp_path, emulator):
    os.chmod(emulator.port, 0)
    with pytest.raises(BusError, match="permission denied"):
        FeetechBus(emulator.port).connect()


def test_permission_denied_message_where_root_cannot_be_denied(monkeypatch):
    """As root (CI) a port cannot refuse us, so here alone pyserial's refusal is simulated."""
    import serial

    def refuse(*args, **kwargs):
        raise serial.SerialException(errno.EACCES, "could not open port /dev/ttyACM0: "
                                     "[Errno 13] Permission denied: '/dev/ttyACM0'")

    monkeypatch.setattr(serial, "Serial", refuse)
    with pytest.raises(BusError, match=r"^/dev/ttyACM0: permission denied; add yourself to "
                       r"the 'dialout' group"):
        FeetechBus("/dev/ttyACM0").connect()


def test_calibration_registers_round_trip(emulator, bus):
    cal = load_calibration(EXAMPLE_CALIBRATION)
    for servo_id, joint in zip(bus.ids, cal.motors, strict=True):
        bus.write("Lock", servo_id, 0)
        bus.write("Homing_Offset", servo_id, cal.motors[joint].homing_offset)
        bus.write("Min_Position_Limit", servo_id, cal.motors[joint].range_min)
        bus.write("Max_Position_Limit", servo_id, cal.motors[joint].range_max)
    read = bus.read_calibration()
    assert read.to_json_dict() == cal.to_json_dict()
    assert (bus.read_positions() == (2048 - cal.homing_offset) % 4096).all()


def test_goals_go_through_the_safety_envelope(emulator, bus):
    cal = load_calibration(EXAMPLE_CALIBRATION).replace("wrist_roll", range_min=100)
    envelope = SafetyEnvelope.from_calibration(cal)
    with bus.torque_off_on_exit():
        bus.torque(True)
        target = np.array([2100, 2000, 2048, 2048, 2148, 2200])
        assert bus.write_goals(target, envelope).tolist() == target.tolist()
        with pytest.raises(SafetyError, match=r"gripper: goal 3300 ticks is outside the safety "
                           r"envelope \[1996, 3122\] ticks"):
            bus.write_goals(np.array([2100, 2000, 2048, 2048, 2148, 3300]), envelope)
        with pytest.raises(SafetyError, match=r"shoulder_pan: step of \+\d+ ticks from \d+ "
                           r"exceeds the cap of 200 ticks"):
            bus.write_goals(np.array([2900, 2000, 2048, 2048, 2148, 2200]), envelope)
        present = bus.read_positions()
        with pytest.raises(SafetyError, match=rf"shoulder_lift: step of \+201 ticks from "
                           rf"{present[1]} exceeds the cap of 200 ticks"):
            bus.write_goals(present + np.array([0, 201, 0, 0, 0, 0]), envelope, present)
    assert all(s["torque"] == 0 for s in emulator.state().values())
    goals = [s["goal"] for s in emulator.state().values()]
    assert goals[0] != 2900 and goals[5] != 3300      # nothing of a refused command was sent


def test_torque_is_off_after_keyboard_interrupt(emulator, bus):
    with pytest.raises(KeyboardInterrupt), bus.torque_off_on_exit():
        bus.torque(True)
        assert all(s["torque"] == 1 for s in emulator.state().values())
        raise KeyboardInterrupt
    assert all(s["torque"] == 0 for s in emulator.state().values())


def test_torque_is_off_after_an_interrupt_inside_an_sdk_transaction(emulator, bus):
    """A KeyboardInterrupt between the SDK's send and its reply leaves the port marked
    busy and half a packet on the wire: torque must still go off on all six."""
    with pytest.raises(KeyboardInterrupt), bus.torque_off_on_exit():
        bus.torque(True)
        bus._ph.is_using = True                  # what an interrupted txRxPacket leaves
        bus._ph.writePort(bytes([0xFF, 0xFF, 0x01, 0x04]))     # a request cut short
        raise KeyboardInterrupt
    assert [s["torque"] for s in emulator.state().values()] == [0] * 6



def test_torque_that_cannot_be_confirmed_off_is_reported_by_joint(emulator, bus):
    with pytest.raises(BusError, match=r"torque could not be confirmed off on id 3 "
                       r"\(elbow_flex\); switch the arm's power off"):
        with bus.torque_off_on_exit():
            bus.torque(True)
            emulator.fault(3, "missing")
    states = emulator.state()
    assert [states[i]["torque"] for i in (1, 2, 4, 5, 6)] == [0] * 5


def test_twin_serve_help_documents_the_options():
    out = subprocess.run([sys.executable, "-m", "pytest_so101.bus.cli", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--fault", "--pace", "--raw", "--homing", "--control", "--baud-code",
                   "missing", "late=MS", "noise=TICKS", "truncated=N", "error=BITS"):
        assert option in out


def test_twin_serve_rejects_a_bad_fault():
    done = subprocess.run([sys.executable, "-m", "pytest_so101.bus.cli", "serve", "--fault",
                           "9:noise=3"], capture_output=True, text=True, timeout=20)
    assert done.returncode != 0 and "--fault must be ID:KIND[=VALUE]" in done.stderr


def _pty_exists(path: str) -> bool:
    return os.path.exists(path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_twin_serve_started_and_stopped_a_hundred_times_leaves_nothing(sig):
    ports, pids = set(), []
    for _ in range(50):
        proc = subprocess.Popen([sys.executable, "-m", "pytest_so101.bus.cli", "serve"],  # twin
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/") and _pty_exists(port)
        ports.add(port)
        pids.append(proc.pid)
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        assert not _pty_exists(port) or _reused_by_someone_else(port)
    serving = subprocess.run(["pgrep", "-f", "pytest_so101.bus.cli serve"],
                             capture_output=True, text=True).stdout.split()
    assert not set(map(int, serving)) & set(pids)        # every one of ours is gone


def _reused_by_someone_else(port: str) -> bool:
    """A freed pty number may be handed to another process at once; ours is gone then."""
    fds = [f"/proc/{pid}/fd" for pid in os.listdir("/proc") if pid.isdigit()]
    for fd_dir in fds:
        try:
            if any(os.readlink(f"{fd_dir}/{fd}") == port for fd in os.listdir(fd_dir)):
                return True
        except OSError:
            continue
    return False
