"""Faults and the bus layer: every fault ends in a right value (a retried success, a
duplicate or line noise read through) or one clear BusError line, never a wrong value,
another exception or a hang."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from pytest_so101.bus.emulator import PtyServer
from pytest_so101.bus.feetech import BusError, FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.bus.protocol import status_packet, to_le
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.safety import SafetyEnvelope, SafetyError
from tests.helpers import EXAMPLE_CALIBRATION

#: A hang guard, not a speed target: a failing transaction takes ~0.2-0.3 s (three tries,
#: two resyncs; FeetechBus.failure_bound_s: at most ~0.8 s, a sync read ~1.3 s); a hang
#: would never end. Generous for shared machines.
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
    ("kind", "value", "problem"),
    [
        ("missing", True, "no reply at 1000000 baud"),
        ("corrupt", True, "bad checksum in its reply"),
        ("late", 60, r"(no reply at 1000000 baud|a reply of \d+ data bytes where \d+ were "
                     r"asked \(a late reply\?\))"),
        ("truncated", 2, r"incomplete reply \(\d+ of \d+ bytes\)"),
    ],
)
def test_reply_faults_give_a_clear_error_fast(emulator, bus, kind, value, problem):
    emulator.fault(3, kind, value)
    for operation, name in ((bus.read_positions, "sync read of Present_Position"),
                            (lambda: bus.read("Homing_Offset", 3), "reading Homing_Offset")):
        result, error, elapsed = timed(operation)
        assert result is None and error is not None
        # The first try names the problem; once the servo is tainted, its check read does.
        assert re.fullmatch(rf"{emulator.port}: id 3 \(elbow_flex\): (check read: )?"
                            rf"{problem} \({name}, 3 tries\)", str(error)), str(error)
        assert elapsed < NOT_A_HANG_S
    emulator.clear_faults()
    time.sleep(0.1)                         # late replies still in flight land now...
    assert bus.read_positions().tolist() == [2048] * 6   # ...and are not taken as answers


@pytest.mark.parametrize(("bits", "condition"), [
    (1, "input voltage error"), (2, "angle sensor error"), (4, "overheat"),
    (8, "overcurrent"), (32, "overload"), (4 | 32, "overheat and overload")])
def test_error_bits_name_the_condition(emulator, bus, bits, condition):
    emulator.fault(5, "error", bits)
    for operation, name in ((lambda: bus.read("Present_Position", 5), "reading Present_Position"),
                            (bus.read_positions, "sync read of Present_Position"),
                            (bus.identify, "identify")):
        _, error, elapsed = timed(operation)
        assert str(error) == f"{emulator.port}: id 5 (wrist_roll): servo reports {condition} " \
                             f"({name})"
        assert elapsed < NOT_A_HANG_S


def test_sync_read_reports_error_bits_of_every_servo_at_once():
    """Issue 11: the sync read ignored the status error byte (read_positions succeeded on
    an overheated servo while a single read raised). Motion reads every step: it stops."""
    with EmulatorProcess("--shaft", "simple", "--fault", "4:error=4",
                         "--fault", "6:error=32") as emu, FeetechBus(emu.port) as bus:
        with pytest.raises(BusError) as caught:
            bus.read_positions()
        assert str(caught.value) == (
            f"{emu.port}: id 4 (wrist_flex): servo reports overheat; id 6 (gripper): servo "
            "reports overload (sync read of Present_Position)")
        emu.clear_faults()
        assert bus.read_positions().tolist() == [2048] * 6


def test_transient_drop_is_retried_to_success(emulator, bus):
    emulator.fault(2, "drop", 2)              # two lost replies, three tries
    result, error, elapsed = timed(bus.read_positions)
    assert error is None and result.tolist() == [2048] * 6
    assert elapsed < NOT_A_HANG_S
    emulator.fault(2, "drop", 3)
    _, error, _ = timed(bus.read_positions)
    assert str(error) == f"{emulator.port}: id 2 (shoulder_lift): no reply at " \
                         "1000000 baud (sync read of Present_Position, 3 tries)"


def test_read_noise_is_bounded(emulator, bus):
    emulator.fault(4, "noise", 3)
    reads = np.array([bus.read_positions() for _ in range(60)])
    assert np.ptp(reads[:, 3]) > 0 and np.abs(reads[:, 3] - 2048).max() <= 3
    assert (reads[:, [0, 1, 2, 4, 5]] == 2048).all()


#: Every register of every servo different, so an answer taken for another shows.
DISTINCT_REGISTERS = [arg for i in range(1, 7) for arg in (
    "--raw", f"{i}={1000 + 300 * i + 7}", "--homing", f"{i}={(100 * i + 11) * (-1) ** i}",
    "--limits", f"{i}={400 + 37 * i}:{3600 + 41 * i}")]


def reads_of_servo_3(bus):
    """The reads the issue found wrong, each with a name: (name, operation)."""
    return [("Homing_Offset", lambda: bus.read("Homing_Offset", 3)),
            ("Min_Position_Limit", lambda: bus.read("Min_Position_Limit", 3)),
            ("identify", lambda: [(s.model, s.firmware) for s in bus.identify()]),
            ("Max_Position_Limit", lambda: bus.read("Max_Position_Limit", 3)),
            ("Present_Position", lambda: bus.read("Present_Position", 3)),
            ("read_positions", lambda: bus.read_positions().tolist()),
            ("read_calibration", lambda: bus.read_calibration().to_json_dict())]


def truth_of(bus):
    """The same reads on a healthy bus."""
    return {name: operation() for name, operation in reads_of_servo_3(bus)}


def right_or_bus_error(bus, truth, rounds=1):
    """Every read of servo 3 gives its true value or a BusError naming elbow_flex; the
    errors, to look at."""
    errors = []
    for _ in range(rounds):
        for name, operation in reads_of_servo_3(bus):
            try:
                value = operation()
            except BusError as exc:
                assert "id 3 (elbow_flex)" in str(exc) and "\n" not in str(exc), str(exc)
                errors.append(str(exc))
                continue
            assert value == truth[name], f"{name}: read {value}, truth {truth[name]}"
    return errors


def test_a_late_reply_is_never_taken_for_another_answer():
    """Issue 11: replies 110-300 ms late passed for later answers (Homing_Offset read as
    777, its model number; firmware 250.9), or raised IndexError out of the SDK. Delays
    rise on one emulator, so replies in flight from one delay land in the next."""
    with EmulatorProcess("--shaft", "simple", *DISTINCT_REGISTERS) as emu, \
            FeetechBus(emu.port) as bus:
        truth = truth_of(bus)
        for late_ms in (20, 150, 280):     # 150, 280: where old retries took them as answers
            emu.fault(3, "late", late_ms)
            errors = right_or_bus_error(bus, truth)
            if late_ms > 40:                 # past the 34 ms reply timeout: all fail
                assert len(errors) == len(truth), errors
        emu.clear_faults()
        time.sleep(0.35)
        assert truth_of(bus) == truth        # the bus resynchronises once the servo does


@pytest.mark.parametrize("faults", [
    [("duplicate", True)],
    [("garbage", 30)],
    [("duplicate", True), ("garbage", 12), ("late", 15)],
], ids=["duplicate", "garbage", "duplicate-garbage-late"])
def test_duplicated_replies_and_line_noise_give_the_right_value(faults):
    """A duplicated reply made the SDK's ping raise IndexError (the second copy read as
    the model number's answer); line noise must not hide a good reply."""
    with EmulatorProcess("--shaft", "simple", *DISTINCT_REGISTERS) as emu, \
            FeetechBus(emu.port) as bus:
        truth = truth_of(bus)
        for kind, value in faults:
            for servo_id in (3, 4):
                emu.fault(servo_id, kind, value)
        assert right_or_bus_error(bus, truth, rounds=3) == []


class StrayBeforeReply(PtyServer):
    """The emulated arm in this process, putting ``stray`` bytes on the line right before
    its next reply: a late reply landing inside a later transaction, deterministically."""

    stray = b""

    def _write(self, data: bytes) -> None:
        data, self.stray = self.stray + data, b""
        super()._write(data)


@pytest.fixture
def stray_server():
    from pytest_so101.bus.emulator import BusEmulator
    from pytest_so101.bus.servo import SimpleShaft, VirtualServo

    server = StrayBeforeReply(BusEmulator([VirtualServo(i, SimpleShaft(1000.0 + i))
                                           for i in range(1, 7)]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stop()
    thread.join(timeout=5)


@pytest.mark.parametrize(("stray", "what"), [
    (status_packet(3, 0, to_le(777, 2)), "a late 2-byte reply (Model_Number)"),
    (status_packet(3, 0), "a late ping or write acknowledgement"),
    (status_packet(3, 0, bytes([3])), "a late 1-byte reply"),
    (status_packet(3, 0, to_le(777, 2)) * 2, "the same late reply twice"),
], ids=["same-length", "no-data", "shorter", "twice"])
def test_a_late_reply_inside_the_next_transaction_is_not_its_answer(stray_server, stray, what):
    """The SDK matched replies by servo id alone: the stray was returned as Homing_Offset
    (777), or raised IndexError. Here it fails that try, and the retry (after a check
    read) gives the true value."""
    with FeetechBus(stray_server.port) as bus:
        assert bus.read("Homing_Offset", 3) == 0
        stray_server.stray = stray
        assert bus.read("Homing_Offset", 3) == 0, what
        stray_server.stray = stray
        assert bus.read_positions().tolist() == [1001, 1002, 1003, 1004, 1005, 1006], what
        stray_server.stray = stray
        assert [s.firmware for s in bus.identify()] == ["3.10"] * 6, what


def test_a_reply_between_transactions_is_not_taken_for_the_next(stray_server):
    with FeetechBus(stray_server.port) as bus:
        assert bus.read("Homing_Offset", 3) == 0
        os.write(stray_server.master, status_packet(3, 0, to_le(777, 2)))   # while idle
        time.sleep(0.02)
        assert bus.read("Homing_Offset", 3) == 0
        assert bus.read("Min_Position_Limit", 3) == 0


def test_a_stray_reply_that_keeps_coming_is_a_bus_error(stray_server):
    with FeetechBus(stray_server.port, retries=0) as bus:
        stray_server.stray = status_packet(3, 0, to_le(777, 2))
        with pytest.raises(BusError) as caught:
            bus.read("Homing_Offset", 3)
    assert str(caught.value) == (f"{stray_server.port}: id 3 (elbow_flex): two different "
                                 "replies (a late one?) (reading Homing_Offset)")


def test_sdk_and_os_errors_are_bus_errors(emulator, bus, monkeypatch):
    """One error type at the boundary: an unplugged adapter's OSError, an IndexError from
    the SDK, become one BusError line naming the port, the servos, the operation."""
    def unplugged(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(bus._ph, "writePort", unplugged)
    with pytest.raises(BusError) as caught:
        bus.read("Homing_Offset", 2)
    assert str(caught.value) == (
        f"{emulator.port}: id 2 (shoulder_lift): OSError: [Errno 5] Input/output error "
        "(reading Homing_Offset); is the USB adapter still plugged in?")
    monkeypatch.undo()

    import scservo_sdk as scs

    def sdk_bug(self):
        raise IndexError("list index out of range")

    monkeypatch.setattr(scs.GroupSyncWrite, "txPacket", sdk_bug)
    envelope = SafetyEnvelope(np.zeros(6), np.full(6, 4095.0), 400)
    with pytest.raises(BusError) as caught:
        bus.write_goals(np.full(6, 2048), envelope)
    assert str(caught.value) == (
        f"{emulator.port}: all servos (id 1, 2, 3, 4, 5, 6): IndexError: list index out of "
        "range (sync write of Goal_Position); is the USB adapter still plugged in?")


def test_a_vanished_port_is_a_bus_error():
    """The emulator (the adapter) goes away mid-session: a BusError, not an OSError."""
    emu = EmulatorProcess("--shaft", "simple").start()
    with FeetechBus(emu.port) as bus:
        assert bus.read_positions().tolist() == [2048] * 6
        emu.stop()
        with pytest.raises(BusError) as caught:
            bus.read_positions()
        assert str(caught.value) == (
            f"{emu.port}: all servos (id 1, 2, 3, 4, 5, 6): OSError: [Errno 5] Input/output "
            "error (sync read of Present_Position); is the USB adapter still plugged in?")
        assert bus.disable_torque() == [f"id {i} ({joint})" for i, joint in
                                        enumerate(MOTOR_NAMES, 1)]   # said, never raised


def test_not_connected_is_a_bus_error():
    with pytest.raises(BusError, match=r"^/dev/ttyACM0: the port is not open \(reading "
                       r"Homing_Offset\); connect\(\) first$"):
        FeetechBus("/dev/ttyACM0").read("Homing_Offset", 1)


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


def test_torque_goes_off_on_a_servo_reporting_an_error_and_says_so(emulator, bus, capsys):
    """An overheated servo is exactly when torque must go off: its acknowledgement with the
    error bit counts as delivered for Torque_Enable = 0, and the condition is said."""
    with bus.torque_off_on_exit():
        bus.torque(True)
        emulator.fault(4, "error", 4)
        with pytest.raises(BusError, match=r"id 4 \(wrist_flex\): servo reports overheat "
                           r"\(sync read of Present_Position\)"):
            bus.read_positions()                # motion stops here
    assert [s["torque"] for s in emulator.state().values()] == [0] * 6
    assert f"so101: {emulator.port}: id 4 (wrist_flex): torque off, but the servo reports " \
           "overheat" in capsys.readouterr().err
    with pytest.raises(BusError, match=r"id 4 \(wrist_flex\): servo reports overheat "
                       r"\(writing Torque_Enable = 1\)"):
        bus.torque(True)                        # but never on


def test_twin_serve_help_documents_the_options():
    out = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--fault", "--pace", "--raw", "--homing", "--control", "--baud-code",
                   "missing", "late=MS", "noise=TICKS", "truncated=N", "error=BITS",
                   "duplicate", "garbage=N", "corrupt", "drop=N"):
        assert option in out


@pytest.mark.parametrize(("spec", "message"), [
    ("9:noise=3", "--fault '9:noise=3': no servo with id 9 (serving 1, 2, 3, 4, 5, 6); "
                  "--fault must be ID:KIND[=VALUE] with a served id"),
    ("3", "--fault must be ID:KIND[=VALUE] (e.g. 3:late=200), got '3'"),
    ("3:bogus", "--fault '3:bogus': unknown fault 'bogus'; expected one of missing, corrupt, "
                "duplicate, late, truncated, garbage, noise, error, drop"),
    ("3:late=soon", "--fault '3:late=soon': late takes milliseconds from 0 to 60000, "
                    "got 'soon'"),
    ("3:late", "--fault '3:late': late needs a value (late=N): milliseconds from 0 to 60000"),
    ("3:garbage=2.5", "--fault '3:garbage=2.5': garbage takes a whole number of bytes from "
                      "0 to 1000, got '2.5'"),
    ("3:error=128", "--fault '3:error=128': error takes status bits (1 voltage, 2 angle, "
                    "4 overheat, 8 overcurrent, 32 overload) from 0 to 127, got '128'"),
    ("3:duplicate=2", "--fault '3:duplicate=2': duplicate takes no value (or 0/1), got '2'"),
])
def test_twin_serve_rejects_a_bad_fault_in_one_line(spec, message):
    done = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve", "--shaft",
                           "simple", "--fault", spec], capture_output=True, text=True,
                          timeout=20)
    assert done.returncode != 0 and done.stderr == f"so101-twin: {message}\n"


def _pty_exists(path: str) -> bool:
    return os.path.exists(path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_twin_serve_started_and_stopped_again_and_again_leaves_nothing(sig):
    ports, pids = set(), []
    for _ in range(6):         # a leak per start shows in 6 as in 12 (half the time)
        proc = subprocess.Popen([sys.executable, "-m", "pytest_so101.cli.twin", "serve"],  # twin
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
    serving = subprocess.run(["pgrep", "-f", "pytest_so101.cli.twin serve"],
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


def test_an_interrupt_while_the_twin_starts_leaves_no_twin_serving(monkeypatch):
    """SIGINT while a suite's twin started (waiting for its port) left it serving in 2 of 4
    runs: whatever ends the wait, the process it launched is stopped."""
    from pytest_so101.bus.process import EmulatorProcess

    launched: list[EmulatorProcess] = []
    real_launch = EmulatorProcess.launch

    def launch(self):
        launched.append(self)
        return real_launch(self)

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(EmulatorProcess, "launch", launch)
    monkeypatch.setattr(EmulatorProcess, "ready", interrupted)
    with pytest.raises(KeyboardInterrupt):
        EmulatorProcess("--shaft", "simple").start()
    (twin,) = launched
    assert twin.proc.poll() is not None          # stopped, not left serving
